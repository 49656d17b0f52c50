#pragma once
// A user's own program in the pipeline (hk run/sweep --exec, docs/exec.md): its configurations
// (kernel "exec"), the launch of hk-exec-wrap around it, its repetitions, and the record made from
// what the wrappers saw and what it printed. Kernels and programs share everything else: the plan,
// the launch rules and dialects, the executor, the resume key, the record's shape, the sweep loop.
#include <cstdint>
#include <functional>
#include <ostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "configuration.hpp"
#include "executor.hpp"
#include "finisher.hpp"

namespace hk {
struct ExecOptions;
}

namespace hk::pipeline {

// The program and how it is observed, decided once per command.
struct ExecProgram {
  std::string name;               // --name, else the program's base name
  std::string path;               // absolute
  std::vector<std::string> args;  // as given, placeholders not yet replaced
  std::string sha256;             // of the executable
  int repeat = 1;
  std::string success_text, fom_text, fom_unit;
  std::shared_ptr<const re2::RE2> success, fom;  // null when not given
  bool fom_lower_is_better = false;
  std::string wrapper;            // hk-exec-wrap
  std::string pmpi;               // libhk-pmpi.so to preload; "" when MPI time is not measured
  std::string pmpi_note;          // why not, when pmpi is ""
  double interval_s = 0.02;
};

// From the options: the program resolved, the patterns compiled, the wrapper and the PMPI library
// found. UsageError (one line) for no program, one that does not exist or cannot be executed, a
// bad pattern, an unknown {placeholder}, or --pmpi on without a usable library.
ExecProgram exec_program(const ExecOptions& options);

// params of the record: program, args as run, sha256.
nlohmann::json exec_params(const ExecProgram& program, const std::vector<std::string>& args);

// One configuration per run, the program's arguments with the run's placeholders replaced.
ConfigurationSet make_exec_configurations(const std::shared_ptr<const ExecProgram>& program,
                                          const std::vector<PlannedRun>& runs, const LaunchSettings& settings);

// compose() of an exec configuration: the launcher starts hk-exec-wrap, which starts the program;
// the rank files go to record_path + ".ranks/".
void compose_exec(Configuration& config);

// What one launch wrote to a file: the part from `offset` on (a program's output can be far
// larger than memory should hold: it is read line by line, never whole).
struct OutputSlice {
  std::string path;
  std::uintmax_t offset = 0;
};
// Longer lines are cut to this many bytes before a pattern sees them (what hk holds of a line).
inline constexpr std::size_t kMaxMatchedLineBytes = 64 * 1024;
// Calls `line` for each line of the slice (without its newline, cut at kMaxMatchedLineBytes)
// until it returns false.
void for_each_line(const OutputSlice& slice, const std::function<bool(const std::string&)>& line);
// Copies the slice to `out` as it is.
void copy_slice(const OutputSlice& slice, std::ostream& out);

// What a repetition's rank files and output say (check_repetition).
struct RepetitionCheck {
  std::string status;  // "ok", "verify_failed" (--success), "error"; "" when the launch failed (not checked)
  std::string reason;
  std::optional<double> fom;
};

// One launch of a configuration: what the executor saw, the rank files, the output and its check.
struct Repetition {
  ChildOutcome outcome;
  std::vector<nlohmann::json> ranks;
  std::vector<std::string> problems;  // rank files that could not be read
  OutputSlice stdout_slice, stderr_slice;
  RepetitionCheck check;
};
struct Launched {
  ChildOutcome outcome;           // the last launch's, `seconds` summed over the repetitions
  std::vector<Repetition> reps;   // exec only: each repetition run (stops at the first failure)
};

// Runs a configuration: a kernel's launch once; a program's --repeat times, each into the same
// stdout/stderr files (appended; `io` must name files for a program), `after_each` called after
// every repetition. Stops at the first repetition that fails or is interrupted.
Launched run_configuration(const Configuration& config, const ChildIo& io, const ChildLimits& limits,
                           const std::function<void(const Repetition&)>& after_each = {});

// finish() for both: a kernel's record as hk-kernel wrote it, a program's made here.
Finished finish_launched(const Configuration& config, const Launched& launched, double timeout_s,
                         const std::string& started_at, const std::string& who);

// Why a repetition that exited 0 is still not ok: rank files missing, a world of another size than
// asked for, --success not matched, no figure of merit. run_configuration checks each repetition
// once, as it ends, and keeps the result in Repetition::check.
RepetitionCheck check_repetition(const Configuration& config, const Repetition& rep);

}  // namespace hk::pipeline
