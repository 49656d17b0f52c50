// hk: the front end a person types. Not an MPI program: it validates input, composes launcher
// command lines and runs them. Subcommands register themselves (cmd_*.cpp).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "command.hpp"
#include "hk/build_info.hpp"
#include "hk/errors.hpp"
#include "exec_options.hpp"
#include "mix_options.hpp"

int main(int argc, char** argv) {
  // `hk run|sweep --exec ... -- PROGRAM ARGS` is parsed as the `exec` subcommand.
  std::vector<std::string> words = hk::exec_flag_as_subcommand(argc, argv);
  std::vector<char*> rewritten;
  for (auto& word : words) rewritten.push_back(word.data());
  argc = static_cast<int>(rewritten.size());
  argv = rewritten.data();
  CLI::App app{fmt::format("hybridkit {}: MPI/OpenMP hybrid workloads, and how to split cores between ranks and "
                           "threads",
                           hk::build::version),
               "hk"};
  app.require_subcommand(1);
  app.set_version_flag("--version", fmt::format("hybridkit {} ({})", hk::build::version, hk::build::git_sha));
  std::map<std::string, std::function<int()>> runners;
  for (const auto& command : hk::command_registry()) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    runners[command.name] = command.setup(*sub);
  }
  // Empty values ("--out ''", "--out=") and unknown kernels: clear messages before CLI11's own.
  try {
    hk::refuse_empty_values(hk::end_of_own_options(argc, argv), argv);  // not the program's arguments
  } catch (const hk::UsageError& e) {
    std::cerr << fmt::format("hk: error: {}\n", e.what());
    return hk::kExitUsage;
  }
  if (argc >= 3 && argv[2][0] != '-' && std::string(argv[2]) != "exec") {
    const std::string verb = argv[1];
    if (verb == "run" || verb == "sweep") {
      const std::string message = hk::unknown_kernel_message(argv[2], verb == "sweep");
      if (!message.empty()) {
        std::cerr << fmt::format("hk: error: {}\n", message);
        return hk::kExitUsage;
      }
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << fmt::format("hk: error: {}\n", e.what());
    return hk::kExitUsage;
  }
  try {
    for (const auto& [name, runner] : runners)
      if (app.got_subcommand(name)) return runner();
  } catch (const hk::UsageError& e) {
    std::cerr << fmt::format("hk: error: {}\n", e.what());
    return hk::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << fmt::format("hk: error: {}\n", e.what());
    return hk::kExitRuntime;
  }
  return hk::kExitUsage;
}
