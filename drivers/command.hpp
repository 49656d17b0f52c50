#pragma once
// hk's subcommands register themselves (one cmd_*.cpp file each), like the kernels do.
#include <CLI/CLI.hpp>

#include "hk/kernel.hpp"  // HK_CONCAT

#include <functional>
#include <string>
#include <vector>

namespace hk {

struct CommandInfo {
  std::string name;
  std::string description;
  // Declares the subcommand's options on `app` and returns what to run once it is parsed
  // (returning the exit status). Options must bind to state the returned function owns.
  std::function<std::function<int()>(CLI::App& app)> setup;
};

inline std::vector<CommandInfo>& command_registry() {
  static std::vector<CommandInfo> commands;
  return commands;
}

struct CommandRegistrar {
  explicit CommandRegistrar(CommandInfo info) { command_registry().push_back(std::move(info)); }
};

#define HK_REGISTER_COMMAND(name, description, setup) \
  static const ::hk::CommandRegistrar HK_CONCAT(hk_command_, __LINE__)({name, description, setup})

}  // namespace hk
