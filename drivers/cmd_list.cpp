// hk list: the registered kernels with their options.
#include <iostream>

#include "command.hpp"
#include "hk/cli.hpp"
#include "hk/errors.hpp"

namespace {
std::function<int()> setup_list(CLI::App&) {
  return [] {
    std::cout << hk::kernel_list_text(*hk::make_kernel_cli("hk-kernel"));
    return hk::kExitOk;
  };
}
HK_REGISTER_COMMAND("list", "list the kernels and their options", setup_list);
}  // namespace
