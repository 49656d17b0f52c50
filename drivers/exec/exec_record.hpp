#pragma once
// From what the wrappers saw to the run record of a user's own program (kernel "exec", see
// docs/exec.md): the rank files of a launch, the checks that can be made from outside, the figure
// of merit in the program's output. The record itself comes from hk::make_record; this fills in
// the measured fields. No launching here: the pipeline's exec configurations call these.
#include <nlohmann/json.hpp>
#include <re2/re2.h>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace hk::exec {

// The rank-<rank>.json files hk-exec-wrap wrote into `dir`, ordered by rank; `problems` names the
// files that could not be read.
struct RankFiles {
  std::vector<nlohmann::json> ranks;
  std::vector<std::string> problems;
};
RankFiles read_rank_files(const std::string& dir);

// A thread is a helper (an MPI progress thread, an idle pool) when it never ran on a CPU of its
// rank, or used less than this share of the CPU time of its rank's busiest thread.
inline constexpr double kHelperCpuShare = 0.05;

// The record's placement: per thread seen, {host, rank, thread, cpu, allowed_cpus} as for the
// kernels (thread: order of appearance in its rank), plus tid, name, cpus_seen, cpu_time_s, helper.
nlohmann::json exec_placement(const std::vector<nlohmann::json>& ranks);

// What can be checked from outside: the ranks observed and the world the launcher made, the
// threads that worked against those asked for, threads outside their rank's CPUs, and the
// kernels' placement warnings (oversubscription, threads on one CPU) for the working threads.
std::vector<std::string> exec_warnings(const std::vector<nlohmann::json>& ranks, int expected_ranks,
                                       int expected_threads);

// Wall time of the slowest rank (seconds); nullopt without rank files.
std::optional<double> slowest_wall_s(const std::vector<nlohmann::json>& ranks);

// Fills placement, ranks_per_node, memory (peak RSS: max and sum over ranks), phases_s (source
// "pmpi" when every rank has the PMPI figures, else "unknown" with null phases), imbalance, mpi,
// per-rank figures in metrics, and appends exec_warnings to warnings.
void record_observations(nlohmann::json& record, const std::vector<nlohmann::json>& ranks, int expected_ranks,
                         int expected_threads);

// --success / --fom patterns: RE2 syntax (Perl-like, no backreferences), matched in time linear in
// the text and without recursion, so no pattern can hang hk or overflow its stack on a program's
// output. UsageError "--fom: ..." for a pattern that does not compile or, for --fom, has no group.
std::shared_ptr<const re2::RE2> success_pattern(const std::string& text);
std::shared_ptr<const re2::RE2> fom_pattern(const std::string& text);
// The first group of the first match, as a number; nullopt when nothing matches or it is no number.
std::optional<double> figure_of_merit(const std::string& output, const re2::RE2& pattern);

// ARGS with {ranks} {threads} {cores} {nodes} replaced; any other {word} is a UsageError naming it.
std::vector<std::string> substitute_placeholders(const std::vector<std::string>& args, int ranks, int threads,
                                                 int nodes);

// The program to run: PROGRAM as given if it has a '/', else found in PATH; UsageError when it
// does not exist or is not executable. Returns its absolute path.
std::string resolve_program(const std::string& program);
// SHA-256 of a file, lower-case hex; "" when it cannot be read.
std::string file_sha256(const std::string& path);

}  // namespace hk::exec
