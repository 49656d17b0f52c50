// Fuzz target: command-line parsing of hk-kernel (every kernel's options plus the common ones)
// and hk's launch composition. Input: arguments separated by newlines. Every input must end in
// a configuration or a clean usage error (CLI11 ParseError / hk::UsageError), never a crash or
// another exception.
#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "hk/cli.hpp"
#include "hk/errors.hpp"
#include "launch.hpp"

namespace {
std::vector<std::string> split_arguments(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args{"hk-kernel"};
  std::string current;
  for (std::size_t i = 0; i < size && args.size() < 64; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\n') {
      args.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) args.push_back(current);
  return args;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args = split_arguments(data, size);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto cli = hk::make_kernel_cli("hk-kernel");
  try {
    hk::parse_kernel_command_line(*cli, static_cast<int>(argv.size()), argv.data());
    if (hk::Kernel* kernel = cli->selected()) {
      kernel->check_options();
      (void)kernel->params().dump();
      (void)kernel->work();
      (void)kernel->variant();
      (void)kernel->weak_scaling_args(2.0);
      hk::LaunchSpec spec;
      spec.ranks = 1 + static_cast<int>(size % 7);
      spec.threads = cli->common.threads > 0 ? cli->common.threads : 1;
      spec.cores_per_node = 2;
      spec.oversubscribe = (size % 2) == 0;
      spec.program = {"hk-kernel", "montecarlo"};
      (void)hk::compose_launch(spec).display();
    }
  } catch (const CLI::ParseError&) {
  } catch (const hk::UsageError&) {
  }
  return 0;
}
