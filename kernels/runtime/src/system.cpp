#include "hk/system.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <sstream>

#include "hk/errors.hpp"

namespace hk {

namespace {
// Value in kB of a "Key:   123 kB" line of a /proc file, converted to bytes.
std::uint64_t proc_kb_field(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() && line[key.size()] == ':') {
      std::istringstream fields(line.substr(key.size() + 1));
      std::uint64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
  return 0;
}
}  // namespace

std::uint64_t peak_rss_bytes() { return proc_kb_field("/proc/self/status", "VmHWM"); }
std::uint64_t proportional_set_bytes() { return proc_kb_field("/proc/self/smaps_rollup", "Pss"); }
std::uint64_t current_rss_bytes() { return proc_kb_field("/proc/self/status", "VmRSS"); }
std::uint64_t available_memory_bytes() {
  const std::uint64_t available = proc_kb_field("/proc/meminfo", "MemAvailable");
  const char* limit = std::getenv("HK_MEMORY_LIMIT_BYTES");
  if (limit == nullptr || *limit == '\0') return available;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(limit, &end, 10);
  if (*end != '\0' || errno != 0 || value == 0 || limit[0] == '-' || limit[0] == '+' || limit[0] == ' ')
    throw UsageError(fmt::format("HK_MEMORY_LIMIT_BYTES: must be a whole number of bytes from 1 to {} (got '{}')",
                                 std::numeric_limits<std::uint64_t>::max(), limit));
  return available == 0 ? value : std::min<std::uint64_t>(available, value);
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

std::string cpu_list_string(const std::vector<int>& cpus) {
  std::string text;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!text.empty()) text += ',';
    text += std::to_string(cpus[i]);
    if (j > i) text += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return text;
}

int online_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() &&
      word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
          std::string::npos)
    return word;
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') quoted += "'\\''";
    else quoted += c;
  }
  return quoted + "'";
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace hk
