#pragma once
// The finisher: what a finished launch means. It reads the record hk-kernel wrote (or takes the
// configuration's expected record when it wrote none), classifies the launch, checks the recorded
// placement against the binding asked for, adds the sweep block for sweeps, and appends the record.
// hk run and hk sweep finish every launch here.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "configuration.hpp"
#include "executor.hpp"
#include "plan.hpp"

namespace hk::pipeline {

// The status of a finished launch, from how the launcher ended and the record hk-kernel wrote:
//   timeout        we killed it at the time limit;
//   crashed        the launcher or a rank died by a signal (`signal` is set): the launcher died
//                  by one, names one in its stderr, or exits with 128 + signal without saying
//                  it could not start the program;
//   verify_failed  the record says the check failed;
//   error          any other non-zero exit (a launch the launcher could not start, hk-kernel's
//                  refusal), or no record (`error` holds the reason and the last lines of stderr);
//   ok             exit 0 and an ok record.
struct Classification {
  std::string status;
  int signal = 0;
  std::string reason;  // why it is not ok, in one line
  std::string error;   // the reason and the last lines of stderr (the record's `error`)
};
// `record` is null when hk-kernel wrote none.
Classification classify(const ChildOutcome& outcome, const nlohmann::json& record, double timeout_s);

// Signal number named by the launcher's own report of a dead rank ("exited on signal 11" from
// Open MPI, "Segmentation fault"/"Killed"... from Slurm), 0 if none.
int signal_in_text(const std::string& text);
// True when the launcher says it could not start the program (Open MPI exits 132 then, which is
// not signal 4), could not find slots, or srun/Hydra could not exec it.
bool launch_failure_in_text(const std::string& text);

// Placement problems against what was asked: with binding, every thread must run on CPUs no other
// thread of the same host may use (one core each). Returns one message per problem.
std::vector<std::string> placement_mismatches(const nlohmann::json& placement, bool expect_distinct_cores);
// "0-3,6" -> {0,1,2,3,6}
std::vector<int> parse_cpu_list(const std::string& text);

// A finished configuration: the record to append, its verdict and the placement problems found.
struct Finished {
  nlohmann::json record;
  Classification verdict;
  std::vector<std::string> placement_problems;
};
// `who` prefixes the warnings added to the record ("sweep", "hk run"); `started_at` is when the
// launch started (for the record of a launch that wrote none).
Finished finish(const Configuration& config, const ChildOutcome& outcome, double timeout_s,
                const std::string& started_at, const std::string& who);

// Appends `warning` to the record's warnings (made an array when missing).
void add_warning(nlohmann::json& record, const std::string& warning);
// The warnings every finished launch gets, kernel or program: its mix oversubscribes the cores;
// each placement problem found. `who` prefixes them.
void add_launch_warnings(Finished& finished, const Configuration& config, const std::string& who);

// What a sweep adds to each record (the record's `sweep` block).
struct SweepContext {
  Scaling scaling = Scaling::none;
  int cores_per_node = 0;  // the plan's; a configuration's budget is this x its nodes
  std::string launcher;
  double timeout_s = 0;
};
nlohmann::json sweep_block(const Configuration& config, const ChildOutcome& outcome, const Finished& finished,
                           const SweepContext& sweep, const std::string& stdout_path, const std::string& stderr_path);

// One complete line each in the JSONL file and, when `csv` is not empty, the CSV file.
// Returns a note for each file whose torn last line (a writer killed mid-write) was cut first.
std::vector<std::string> append_record(const nlohmann::json& record, const std::string& jsonl, const std::string& csv);

// One line for a person: "ok, median 0.1 s, 12 Msamples/s" or "error — why" (without the label).
std::string outcome_line(const Finished& finished);

}  // namespace hk::pipeline
