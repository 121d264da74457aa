#include "netns/netns_support.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "common/process.hpp"

namespace duplex::testing {

namespace {

using namespace std::chrono_literals;

// ip and nft answer at once; this only bounds a stuck command.
constexpr auto command_limit = 30s;

std::string prefix() {
  return "dpxt" + std::to_string(::getpid());
}

std::string joined(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

boost::test_tools::assertion_result unavailable(const std::string& why) {
  boost::test_tools::assertion_result result(false);
  result.message() << "network namespace tests skipped: " << why;
  return result;
}

}  // namespace

int run_command(const std::vector<std::string>& argv, std::string* output) {
  try {
    duplex_examples::child_process command(argv, output ? duplex_examples::child_output::capture
                                                        : duplex_examples::child_output::inherit);
    if (output) {
      output->clear();
      auto deadline = std::chrono::steady_clock::now() + command_limit;
      while (!command.output_closed() && std::chrono::steady_clock::now() < deadline)
        if (auto line = command.read_line(1s)) *output += *line + "\n";
    }
    auto status = command.wait_exit(command_limit);
    if (!status) return -1;  // the child_process destructor kills it
    return status->signal == 0 ? status->code : -1;
  } catch (const std::system_error&) {
    return -1;  // not installed
  }
}

boost::test_tools::assertion_result netns_available(boost::unit_test::test_unit_id) {
  if (::geteuid() != 0) return unavailable("they need root");
  auto probe = prefix() + "probe";
  std::string ignored;
  if (run_command({"ip", "netns", "add", probe}, &ignored) != 0)
    return unavailable("'ip netns add' failed (no iproute2 or no namespace support)");
  run_command({"ip", "netns", "del", probe}, &ignored);
  return true;
}

boost::test_tools::assertion_result netns_and_nft_available(boost::unit_test::test_unit_id id) {
  auto netns = netns_available(id);
  if (!netns) return netns;
  std::string ignored;
  if (run_command({"nft", "--version"}, &ignored) != 0)
    return unavailable("nft is not installed (apt-get install nftables)");
  return true;
}

namespace_pair::namespace_pair()
    : a_(prefix() + "a"),
      b_(prefix() + "b"),
      a_device_(prefix() + "va"),
      b_device_(prefix() + "vb") {
  try {
    create();
  } catch (...) {
    remove();  // the destructor does not run after a failed constructor
    throw;
  }
}

namespace_pair::~namespace_pair() {
  remove();
}

void namespace_pair::create() {
  auto require = [](const std::vector<std::string>& argv) {
    BOOST_REQUIRE_MESSAGE(run_command(argv) == 0, "failed: " << joined(argv));
  };
  require({"ip", "netns", "add", a_});
  created_a_ = true;
  require({"ip", "netns", "add", b_});
  created_b_ = true;
  // Created in this namespace, then each end moved into its own.
  require({"ip", "link", "add", a_device_, "type", "veth", "peer", "name", b_device_});
  link_here_ = true;
  require({"ip", "link", "set", a_device_, "netns", a_});
  link_here_ = false;  // the pair goes with namespace a now
  require({"ip", "link", "set", b_device_, "netns", b_});
  require({"ip", "-n", a_, "addr", "add", std::string(a_address) + "/24", "dev", a_device_});
  require({"ip", "-n", b_, "addr", "add", std::string(b_address) + "/24", "dev", b_device_});
  for (const auto& [ns, device] : {std::pair{a_, a_device_}, std::pair{b_, b_device_}}) {
    require({"ip", "-n", ns, "link", "set", "lo", "up"});
    require({"ip", "-n", ns, "link", "set", device, "up"});
  }
}

void namespace_pair::remove() {
  // Deleting a namespace deletes the veth end inside it, and with it the pair.
  if (link_here_) run_command({"ip", "link", "del", a_device_});
  if (created_a_) run_command({"ip", "netns", "del", a_});
  if (created_b_) run_command({"ip", "netns", "del", b_});
  link_here_ = created_a_ = created_b_ = false;
}

std::vector<std::string> namespace_pair::exec_in(const std::string& name) {
  return {"ip", "netns", "exec", name};
}

void namespace_pair::run_in(const std::string& name, std::vector<std::string> args,
                            std::string* output) {
  auto argv = exec_in(name);
  argv.insert(argv.end(), args.begin(), args.end());
  BOOST_REQUIRE_MESSAGE(run_command(argv, output) == 0, "failed: " << joined(argv));
}

void in_network_namespace(const std::string& name, const std::function<void()>& fn) {
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::system_error(errno, std::generic_category(), "open netns " + name);
      int entered = ::setns(fd, CLONE_NEWNET);
      int err = errno;
      ::close(fd);
      if (entered != 0) throw std::system_error(err, std::generic_category(), "setns " + name);
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace duplex::testing
