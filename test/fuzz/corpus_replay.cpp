// Runs files through the fuzz harness without libFuzzer: every regular file of each directory
// argument (or each file argument), in name order. With no argument, the checked-in corpus.
// A violated property aborts; a missing or empty corpus fails too.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::vector<fs::path> roots;
  for (int i = 1; i < argc; ++i) roots.emplace_back(argv[i]);
#ifdef DUPLEX_FUZZ_CORPUS_DIR
  if (roots.empty()) roots.emplace_back(DUPLEX_FUZZ_CORPUS_DIR);
#endif
  std::vector<fs::path> files;
  for (const auto& root : roots) {
    std::error_code ec;
    if (fs::is_directory(root, ec)) {
      for (const auto& entry : fs::directory_iterator(root))
        if (entry.is_regular_file()) files.push_back(entry.path());
    } else if (fs::is_regular_file(root, ec)) {
      files.push_back(root);
    } else {
      std::fprintf(stderr, "fuzz_corpus_replay: no such file or directory: %s\n",
                   root.string().c_str());
      return 1;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "fuzz_corpus_replay: no inputs\n");
    return 1;
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "fuzz_corpus_replay: cannot read %s\n", file.string().c_str());
      return 1;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "%s (%zu bytes)\n", file.filename().string().c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::fprintf(stderr, "fuzz_corpus_replay: %zu inputs passed\n", files.size());
  return 0;
}
