#pragma once
// hk plot and hk export both run scripts/hk_plot.py (its mode first: "plot" or "export") under a
// Python that has matplotlib and pandas. Where the script is looked for lives in cmd_plot.cpp.
#include <string>
#include <vector>

namespace hk {

struct PlotScript {
  std::string python;  // --python (default: HK_PLOT_PYTHON, Debian's /usr/bin/python3)
  std::string script;  // --script (default: found by find_plot_script)
};

// Checks that every DIR holds runs.jsonl (UsageError otherwise), finds the script, runs
// `python script args...` and returns its exit status. The command line is echoed to stdout, or
// to stderr when stdout carries data (hk export --out -).
int run_plot_script(const PlotScript& how, const std::vector<std::string>& dirs, const std::vector<std::string>& args,
                    bool echo_to_stderr);

}  // namespace hk
