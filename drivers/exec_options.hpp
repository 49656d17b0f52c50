#pragma once
// The options of `hk run --exec`, `hk sweep --exec` and `hk slurm submit --exec` (docs/exec.md):
// a user's own program, observed from outside. `--exec` is spelled as a flag but parsed as the
// `exec` subcommand of run, sweep and slurm submit, next to the kernels', so that the mix, launch
// and record options are the same ones.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace hk {

struct ExecOptions {
  std::string name;                 // --name (default: the program's base name)
  int repeat = 1;                   // --repeat K
  std::string success;              // --success REGEX ("" none)
  std::string fom;                  // --fom REGEX ("" none)
  std::string fom_unit;             // --fom-unit UNIT
  bool fom_lower_is_better = false;
  std::string pmpi = "auto";        // --pmpi auto|on|off
  double interval_s = 0.02;         // --sample-interval
  std::vector<std::string> command;  // PROGRAM ARGS... after --
};

// The `exec` subcommand of `parent` with the options above, --out and --csv, and the positional
// command. The caller adds the mix and launch options as for a kernel.
CLI::App* add_exec_subcommand(CLI::App& parent, ExecOptions& options);

// argv with `hk run|sweep|slurm submit ... --exec ...` rewritten as `hk run|sweep|slurm submit
// exec ...` (the --exec word moved before the other options); unchanged without --exec before `--`.
std::vector<std::string> exec_flag_as_subcommand(int argc, const char* const* argv);

// The index of the first "--" in argv, else argc: what comes after it belongs to the program.
int end_of_own_options(int argc, const char* const* argv);

}  // namespace hk
