#include "samples.hpp"

#include <dirent.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace duplex_soak {

namespace {

std::string proc_path(pid_t pid, const char* leaf) {
  return (pid == 0 ? std::string("/proc/self/") : "/proc/" + std::to_string(pid) + "/") + leaf;
}

// The number at the start of a /proc/<pid>/status field, e.g. "VmRSS:   1234 kB".
std::optional<std::uint64_t> status_number(pid_t pid, const std::string& field) {
  std::ifstream status(proc_path(pid, "status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.compare(0, field.size(), field) != 0) continue;
    std::istringstream fields(line.substr(field.size()));
    std::uint64_t number = 0;
    if (fields >> number) return number;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> resident_kib(pid_t pid) {
  return status_number(pid, "VmRSS:");
}

std::optional<std::uint64_t> thread_count(pid_t pid) {
  return status_number(pid, "Threads:");
}

std::optional<std::size_t> open_fds(pid_t pid) {
  DIR* dir = ::opendir(proc_path(pid, "fd").c_str());
  if (dir == nullptr) return std::nullopt;
  std::size_t count = 0;
  while (const dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.') ++count;
  ::closedir(dir);
  // Reading our own fd directory holds one descriptor open.
  if (pid == 0 && count > 0) --count;
  return count;
}

trend trend_of(const std::vector<sample>& traffic,
               const std::function<double(const sample&)>& figure, double final_value,
               double duration_s) {
  trend result;
  result.final = final_value;
  if (traffic.empty()) return result;

  const sample* nearest = &traffic.front();
  for (const auto& s : traffic)
    if (std::abs(s.at_s - 60.0) < std::abs(nearest->at_s - 60.0)) nearest = &s;
  result.at_1min = figure(*nearest);

  // Least squares over (minutes, value) for the last half of the traffic.
  double n = 0, sum_t = 0, sum_v = 0, sum_tt = 0, sum_tv = 0;
  for (const auto& s : traffic) {
    if (s.at_s < duration_s / 2) continue;
    double t = s.at_s / 60.0;
    double v = figure(s);
    n += 1;
    sum_t += t;
    sum_v += v;
    sum_tt += t * t;
    sum_tv += t * v;
  }
  result.slope_samples = static_cast<std::size_t>(n);
  double spread = n * sum_tt - sum_t * sum_t;
  if (n >= 2 && spread > 0 && result.at_1min > 0) {
    double slope = (n * sum_tv - sum_t * sum_v) / spread;  // units per minute
    result.slope_pct_per_min = 100.0 * slope / result.at_1min;
  }
  return result;
}

}  // namespace duplex_soak
