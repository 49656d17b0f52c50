#pragma once
// The hosts a launch may use outside a batch system (issue 14): --hostfile FILE in Open MPI's
// syntax ("host slots=N", one a line) or --hosts h1:N,h2:N. Parsed once here; the launch takes
// the first N hosts for --nodes N, and the cores of a node from the hosts' slots. Pure functions
// (no I/O but reading the hostfile): unit-tested directly.
#include <string>
#include <vector>

namespace hk {

// A host a launch may use, with the ranks it may take: its slots, which hk reads as the host's
// physical cores (0: not given, then --cores must say them).
struct HostSlots {
  std::string name;
  int slots = 0;
  bool operator==(const HostSlots&) const = default;
};

// Where a host list came from, for messages and the record's launch.hosts_source.
struct HostList {
  std::vector<HostSlots> hosts;
  std::string source;  // "hostfile" or "hosts"
  std::string origin;  // how messages name it: "--hostfile FILE" or "--hosts"
  bool empty() const { return hosts.empty(); }
  std::string names() const;  // "hkn1, hkn2"
};

// The largest slot count hk accepts for one host (a typo like slots=80000000 is refused).
inline constexpr int kMaxSlots = 1 << 20;

// "h1:4,h2:4" (a host without ":N" has no slots given). A host named twice, an empty item, a name
// that is not a host name and a count outside [1, kMaxSlots] are a UsageError naming --hosts.
HostList parse_hosts_option(const std::string& text);
// The text of a hostfile: "host [slots=N] [max_slots=M]" per line, '#' comments and blank lines
// ignored; a host on several lines adds up its slots (as Open MPI does). A bad line is a
// UsageError "--hostfile PATH:LINE: ..."; a file with no host is one too.
HostList parse_hostfile_text(const std::string& text, const std::string& path);
// The hostfile at `path`: UsageError when it does not exist or cannot be read.
HostList read_hostfile(const std::string& path);

// The hosts of a launch on `nodes` nodes and the cores of each of them.
struct NodeHosts {
  std::vector<HostSlots> hosts;  // the first `nodes` hosts of the list, slots filled in
  int cores_per_node = 0;
  std::string cores_source;  // "--cores", "hostfile slots", "--hosts slots"
};
// The first `nodes` hosts of `list`. More nodes than hosts is a UsageError naming --nodes and the
// hosts. Cores per node: `cores_option` when given (> 0), else the smallest slot count of those
// hosts (a host without slots is then a UsageError asking for slots or --cores).
NodeHosts choose_hosts(const HostList& list, int nodes, int cores_option);

// The --launcher-args text split into words as a POSIX shell would without expansions:
// whitespace separates, '...' is literal, "..." and \ escape. An unclosed quote is a UsageError.
std::vector<std::string> split_launcher_args(const std::string& text);

}  // namespace hk
