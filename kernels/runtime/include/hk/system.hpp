#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hk {

// Peak resident set size of this process (VmHWM), in bytes; 0 if /proc is unavailable.
std::uint64_t peak_rss_bytes();
// Current resident set size (VmRSS), in bytes.
std::uint64_t current_rss_bytes();
// Memory the node still has for new allocations (MemAvailable), in bytes; 0 if unknown.
std::uint64_t available_memory_bytes();
std::string host_name();
// CPUs this thread may run on (sched_getaffinity).
std::vector<int> allowed_cpus();
// Compact list form "0-3,6".
std::string cpu_list_string(const std::vector<int>& cpus);
// Online logical CPUs of the host.
int online_cpus();
// ISO 8601 UTC time stamp, e.g. 2026-11-23T17:32:05Z.
std::string utc_timestamp();

}  // namespace hk
