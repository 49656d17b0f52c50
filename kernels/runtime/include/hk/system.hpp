#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hk {

// Peak resident set size of this process (VmHWM), in bytes; 0 if /proc is unavailable.
std::uint64_t peak_rss_bytes();
// Proportional set size (Pss of /proc/self/smaps_rollup): shared pages divided among the
// processes that map them, so summing it over ranks counts an MPI shared window once.
std::uint64_t proportional_set_bytes();
// Current resident set size (VmRSS), in bytes.
std::uint64_t current_rss_bytes();
// Memory the node still has for new allocations (MemAvailable), in bytes; 0 if unknown. The
// environment variable HK_MEMORY_LIMIT_BYTES lowers it (a node shared with other jobs; tests that
// must give the same verdict on machines of any size); a malformed value is a UsageError.
std::uint64_t available_memory_bytes();
std::string host_name();
// CPUs this thread may run on (sched_getaffinity).
std::vector<int> allowed_cpus();
// Compact list form "0-3,6".
std::string cpu_list_string(const std::vector<int>& cpus);
// Online logical CPUs of the host.
int online_cpus();
// The word quoted for a POSIX shell when it needs it (commands are printed to be re-run).
std::string shell_quote(const std::string& word);
// ISO 8601 UTC time stamp, e.g. 2026-11-23T17:32:05Z.
std::string utc_timestamp();

}  // namespace hk
