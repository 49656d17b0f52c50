#pragma once
// What a finished configuration means: its status, the record the sweep appends for it, the
// resume key, and whether the placement the run recorded is the one that was asked for.
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

#include "child.hpp"

namespace hk::sweep {

// Resume key of a configuration: kernel, variant, params (compact JSON, keys sorted), mix.
// Computed the same way from a record read back and from a configuration about to run.
std::string resume_key(const std::string& kernel, const std::string& variant, const nlohmann::json& params,
                       int ranks, int threads, int nodes);
std::string resume_key(const nlohmann::json& record);

// Keys of the records with status "ok" in a JSONL file (one pass; a missing file gives none).
// Unreadable lines are reported in `errors`.
std::unordered_set<std::string> ok_keys(const std::string& path, std::vector<std::string>* errors = nullptr);

// The status of a finished launch, from how the launcher ended and the record hk-kernel wrote:
//   timeout        we killed it at the time limit;
//   crashed        the launcher or a rank died by a signal (`signal` is set): the launcher died
//                  by one, names one in its stderr, or exits with 128 + signal;
//   verify_failed  the record says the check failed;
//   error          any other non-zero exit, or no record (`error` holds the reason and the last
//                  lines of stderr);
//   ok             exit 0 and an ok record.
struct Classification {
  std::string status;
  int signal = 0;
  std::string error;
};
// `record` is null when hk-kernel wrote none; `stderr_tail` is the end of the launch's stderr.
Classification classify(const ChildOutcome& outcome, const nlohmann::json& record, const std::string& stderr_tail,
                        double timeout_s);

// Signal number named by the launcher's own report of a dead rank ("exited on signal 11" from
// Open MPI, "Segmentation fault"/"Killed"... from Slurm), 0 if none.
int signal_in_text(const std::string& text);

// Placement problems against what was asked: with binding, every thread must run on CPUs no other
// thread of the same host may use (one core each). Returns one message per problem.
std::vector<std::string> placement_mismatches(const nlohmann::json& placement, bool expect_distinct_cores);

// "0-3,6" -> {0,1,2,3,6}
std::vector<int> parse_cpu_list(const std::string& text);

}  // namespace hk::sweep
