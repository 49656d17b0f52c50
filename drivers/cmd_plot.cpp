// hk plot DIR [DIR ...]: draws the figures of one sweep, or of several overlaid, with
// scripts/hk_plot.py under a Python that has matplotlib and pandas. Also the one place that finds
// that script (hk export runs it too).
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "hk/errors.hpp"
#include "hk/kernel.hpp"  // HK_CONCAT, used by HK_REGISTER_COMMAND
#include "executor.hpp"
#include "plot_script.hpp"

#ifndef HK_PLOT_SCRIPT
#define HK_PLOT_SCRIPT ""
#endif
#ifndef HK_PLOT_PYTHON
#define HK_PLOT_PYTHON "/usr/bin/python3"
#endif

namespace hk {

namespace fs = std::filesystem;

namespace {

// --script, then HK_PLOT_SCRIPT in the environment, then an install (<prefix>/bin/hk ->
// <prefix>/share/hybridkit), then the source tree this hk was configured from. The script imports
// its modules (hk_records.py, hk_export.py) from its own directory.
std::string find_plot_script(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("HK_PLOT_SCRIPT"); env && *env) return env;
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const fs::path installed = self.parent_path().parent_path() / "share" / "hybridkit" / "hk_plot.py";
    if (fs::exists(installed)) return installed.string();
  }
  return HK_PLOT_SCRIPT;
}

}  // namespace

int run_plot_script(const PlotScript& how, const std::vector<std::string>& dirs, const std::vector<std::string>& args,
                    bool echo_to_stderr) {
  for (const auto& dir : dirs) {
    if (!fs::is_directory(dir)) throw UsageError(fmt::format("DIR: '{}' is not a directory", dir));
    if (!fs::exists(fs::path(dir) / "runs.jsonl"))
      throw UsageError(fmt::format("DIR: '{}' has no runs.jsonl (run hk sweep ... --out {} first)", dir, dir));
  }
  const std::string script = find_plot_script(how.script);
  if (script.empty() || !fs::exists(script))
    throw RuntimeError(fmt::format("the plot script hk_plot.py was not found (looked at '{}'); set HK_PLOT_SCRIPT "
                                   "or pass --script",
                                   script));
  if (access(how.python.c_str(), X_OK) != 0)
    throw UsageError(fmt::format("--python: '{}' is not an executable Python", how.python));
  LaunchCommand command;
  command.argv = {how.python, script};
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  (echo_to_stderr ? std::cerr : std::cout) << fmt::format("hk: {}\n", command.display()) << std::flush;
  return run_and_wait(command, /*own_group=*/false);
}

namespace {

struct PlotState {
  std::vector<std::string> dirs;
  PlotScript how{HK_PLOT_PYTHON, ""};
  std::string formats = "png,svg";
  std::string labels, out, spread = "auto", dump_data;
};

int run_plot(const PlotState& s) {
  std::vector<std::string> args = {"plot"};
  args.insert(args.end(), s.dirs.begin(), s.dirs.end());
  for (const auto& [flag, value] : {std::pair{"--formats", s.formats}, {"--labels", s.labels}, {"--out", s.out},
                                    {"--spread", s.spread}, {"--dump-data", s.dump_data}})
    if (!value.empty()) args.insert(args.end(), {flag, value});
  return run_plot_script(s.how, s.dirs, args, /*echo_to_stderr=*/false);
}

std::function<int()> setup_plot(CLI::App& plot) {
  auto state = std::make_shared<PlotState>();
  plot.add_option("DIR", state->dirs, "directories written by hk sweep (runs.jsonl, sweep.json); several are "
                                      "overlaid, matched by configuration")
      ->required();
  plot.add_option("--labels", state->labels, "comma-separated names of the directories (default: their names)");
  plot.add_option("--out", state->out, "directory for the figures (default: DIR; needed with several DIRs)");
  plot.add_option("--spread", state->spread,
                  "error bars: auto (the IQR when every configuration has >= 4 repetitions recorded, else min-max), "
                  "minmax, iqr")
      ->check(CLI::IsMember({"auto", "minmax", "iqr"}))
      ->capture_default_str();
  plot.add_option("--dump-data", state->dump_data, "also write the data behind every figure to this JSON file");
  plot.add_option("--formats", state->formats, "comma-separated image formats")->capture_default_str();
  plot.add_option("--python", state->how.python, "Python with matplotlib and pandas")->capture_default_str();
  plot.add_option("--script", state->how.script, "hk_plot.py to run (default: HK_PLOT_SCRIPT, install, source tree)");
  return [state] { return run_plot(*state); };
}

HK_REGISTER_COMMAND("plot", "draw a sweep's figures (PNG and SVG), or overlay several sweeps", setup_plot);

}  // namespace
}  // namespace hk
