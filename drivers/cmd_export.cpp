// hk export DIR --format extrap|thicket|csv: every timed repetition of a sweep in the input format
// of Extra-P (JSON Lines), Thicket (its JSON) or a tidy CSV, written by scripts/hk_plot.py.
#include <memory>

#include "command.hpp"
#include "hk/kernel.hpp"  // HK_CONCAT, used by HK_REGISTER_COMMAND
#include "plot_script.hpp"

#ifndef HK_PLOT_PYTHON
#define HK_PLOT_PYTHON "/usr/bin/python3"
#endif

namespace {

struct ExportState {
  std::string dir, format, out;
  hk::PlotScript how{HK_PLOT_PYTHON, ""};
};

int run_export(const ExportState& s) {
  std::vector<std::string> args = {"export", s.dir, "--format", s.format};
  if (!s.out.empty()) args.insert(args.end(), {"--out", s.out});
  return hk::run_plot_script(s.how, {s.dir}, args, /*echo_to_stderr=*/true);
}

std::function<int()> setup_export(CLI::App& app) {
  auto state = std::make_shared<ExportState>();
  app.add_option("DIR", state->dir, "directory written by hk sweep")->required();
  app.add_option("--format", state->format, "extrap (Extra-P JSON Lines), thicket (Thicket JSON), csv (tidy CSV)")
      ->required()
      ->check(CLI::IsMember({"extrap", "thicket", "csv"}));
  app.add_option("--out", state->out, "output file, '-' for standard output (default: DIR/export.<format>...)");
  app.add_option("--python", state->how.python, "Python with pandas")->capture_default_str();
  app.add_option("--script", state->how.script, "hk_plot.py to run (default: HK_PLOT_SCRIPT, install, source tree)");
  return [state] { return run_export(*state); };
}

HK_REGISTER_COMMAND("export", "write a sweep's repetitions for Extra-P, Thicket or pandas", setup_export);

}  // namespace
