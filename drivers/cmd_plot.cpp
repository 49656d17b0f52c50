// hk plot DIR: draws a sweep's figures (PNG and SVG, next to the data) with scripts/hk_plot.py
// under a Python that has matplotlib.
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "hk/errors.hpp"
#include "hk/kernel.hpp"  // HK_CONCAT, used by HK_REGISTER_COMMAND
#include "launch.hpp"

#ifndef HK_PLOT_SCRIPT
#define HK_PLOT_SCRIPT ""
#endif
#ifndef HK_PLOT_PYTHON
#define HK_PLOT_PYTHON "/usr/bin/python3"
#endif

namespace {

namespace fs = std::filesystem;

struct PlotState {
  std::string dir;
  std::string python = HK_PLOT_PYTHON;
  std::string script;
  std::string formats = "png,svg";
};

// HK_PLOT_SCRIPT in the environment, then an install (<prefix>/bin/hk -> <prefix>/share/hybridkit),
// then the source tree this hk was configured from.
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

int run_plot(PlotState& s) {
  const std::string script = find_plot_script(s.script);
  if (!fs::is_directory(s.dir)) throw hk::UsageError(fmt::format("DIR: '{}' is not a directory", s.dir));
  if (!fs::exists(fs::path(s.dir) / "runs.jsonl"))
    throw hk::UsageError(fmt::format("DIR: '{}' has no runs.jsonl (run hk sweep ... --out {} first)", s.dir, s.dir));
  if (script.empty() || !fs::exists(script))
    throw hk::RuntimeError(fmt::format("the plot script hk_plot.py was not found (looked at '{}'); set HK_PLOT_SCRIPT "
                                       "or pass --script",
                                       script));
  if (access(s.python.c_str(), X_OK) != 0)
    throw hk::UsageError(fmt::format("--python: '{}' is not an executable Python", s.python));
  hk::LaunchCommand command;
  command.argv = {s.python, script, s.dir, "--formats", s.formats};
  std::cout << "hk: " << command.display() << "\n" << std::flush;
  return hk::run_and_wait(command, /*own_group=*/false);
}

std::function<int()> setup_plot(CLI::App& plot) {
  auto state = std::make_shared<PlotState>();
  plot.add_option("DIR", state->dir, "directory written by hk sweep (runs.jsonl, sweep.json)")->required();
  plot.add_option("--python", state->python, "Python with matplotlib")->capture_default_str();
  plot.add_option("--script", state->script, "hk_plot.py to run (default: HK_PLOT_SCRIPT, install, source tree)");
  plot.add_option("--formats", state->formats, "comma-separated image formats")->capture_default_str();
  return [state] { return run_plot(*state); };
}

HK_REGISTER_COMMAND("plot", "draw a sweep's figures (PNG and SVG) next to its runs.jsonl", setup_plot);

}  // namespace
