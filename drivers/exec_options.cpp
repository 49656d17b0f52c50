#include "exec_options.hpp"

#include <string_view>

#include "hk/cli.hpp"

namespace hk {

CLI::App* add_exec_subcommand(CLI::App& parent, ExecOptions& o) {
  CLI::App* exec = parent.add_subcommand(
      "exec", "your own MPI+OpenMP program, observed from outside: --exec [options] -- PROGRAM ARGS...");
  exec->add_option("--out", "JSONL file the record is appended to")->type_name("FILE");
  exec->add_option("--csv", "CSV file (default: --out with .csv)")->type_name("FILE");
  exec->add_option("--name", o.name, "the application's name in records, progress lines and plots")
      ->default_str("the program's base name")
      ->group("Program");
  add_int_option(*exec, "--repeat", o.repeat, 1, 1000, "runs of each configuration (every repetition's time kept)")
      ->group("Program");
  exec->add_option("--success", o.success, "a pattern (ECMAScript regex) the program's output must match")
      ->type_name("REGEX")
      ->group("Program");
  exec->add_option("--fom", o.fom, "figure of merit: the first group of this pattern in the output, the record's rate")
      ->type_name("REGEX")
      ->group("Program");
  exec->add_option("--fom-unit", o.fom_unit, "unit of the figure of merit, e.g. ns/day")->group("Program");
  exec->add_flag("--fom-lower-is-better", o.fom_lower_is_better, "a smaller figure of merit is better (a time)")
      ->group("Program");
  exec->add_option("--pmpi", o.pmpi,
                   "time the MPI calls with libhk-pmpi.so (LD_PRELOAD): auto = when the program links the kit's "
                   "MPI library dynamically")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str()
      ->group("Program");
  add_real_option(*exec, "--sample-interval", o.interval_s, 0.001, 10.0, false,
                  "seconds between the wrapper's samples of where the threads run")
      ->capture_default_str()
      ->group("Program");
  exec->add_option("command", o.command, "-- PROGRAM ARGS... ({ranks} {threads} {cores} {nodes} are replaced)");
  return exec;
}

int end_of_own_options(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--") return i;
  return argc;
}

std::vector<std::string> exec_flag_as_subcommand(int argc, const char* const* argv) {
  std::vector<std::string> words(argv, argv + argc);
  if (argc < 3) return words;
  const std::string_view verb = argv[1];
  // Where the subcommand goes: after `run`, `sweep` or `slurm submit`.
  const int at = verb == "run" || verb == "sweep" ? 2 : verb == "slurm" && std::string_view(argv[2]) == "submit" ? 3 : 0;
  if (at == 0) return words;
  const int end = end_of_own_options(argc, argv);
  for (int i = at; i < end; ++i) {
    if (std::string_view(argv[i]) != "--exec") continue;
    words.erase(words.begin() + i);
    words.insert(words.begin() + at, "exec");
    break;
  }
  return words;
}

}  // namespace hk
