#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hk/kernel.hpp"

namespace hk {

// Integer options parsed by us, so that "abc", "-5", "1e99" and overflow all give one clear
// line: "--samples: must be an integer from 1 to 4611686018427387904 (got 'abc')".
CLI::Option* add_int_option(CLI::App& app, const std::string& name, std::int64_t& target, std::int64_t min,
                            std::int64_t max, const std::string& description);
CLI::Option* add_int_option(CLI::App& app, const std::string& name, int& target, int min, int max,
                            const std::string& description);
CLI::Option* add_uint64_option(CLI::App& app, const std::string& name, std::uint64_t& target, std::uint64_t min,
                               std::uint64_t max, const std::string& description);
// Finite real numbers in [min, max] (or (min, max] with min_exclusive).
CLI::Option* add_real_option(CLI::App& app, const std::string& name, double& target, double min, double max,
                             bool min_exclusive, const std::string& description);

void add_common_options(CLI::App& app, CommonOptions& common, bool with_threads = true);

// The command line of hk-kernel: one subcommand per registered kernel (its options plus the
// common ones), plus `list`. hk builds the same one to validate before it launches anything.
struct KernelCli {
  std::unique_ptr<CLI::App> app;
  std::vector<std::pair<std::string, std::unique_ptr<Kernel>>> kernels;
  CommonOptions common;
  CLI::App* list = nullptr;
  bool list_smoke = false;  // hk-kernel list --smoke
  // The kernel whose subcommand was parsed, or nullptr.
  Kernel* selected(std::string* name = nullptr) const;
};
std::unique_ptr<KernelCli> make_kernel_cli(const std::string& program_name);

// Human-readable list of kernels with their options (hk list, hk-kernel list).
std::string kernel_list_text(const KernelCli& cli);
// One line per smoke configuration of every kernel, "KERNEL ARG ARG ..." (hk-kernel list --smoke):
// what the mix tests, the TSan run and the fuzz seeds are driven by.
std::string kernel_smoke_text(const KernelCli& cli);

// Parses hk-kernel's command line (argv[0] is the program): empty values and unknown kernels
// are refused first with the kit's own messages (UsageError), then CLI11 parses (CLI::ParseError,
// including the help and version requests with exit code 0).
void parse_kernel_command_line(KernelCli& cli, int argc, const char* const* argv);

// An empty option value ("--out=" or "--out" followed by "") is refused: "--out: empty". CLI11
// would otherwise take the next argument as the value ("--out= --samples=9" writes a file named
// "--samples=9"). Applies to every option of hk-kernel and hk (argv[0] is skipped).
void refuse_empty_values(int argc, const char* const* argv);

// "unknown kernel 'x'; available: a, b" (", all" added when `allow_all`), or "" when `name` is a
// registered kernel (or "all" is allowed). hk and hk-kernel say the same.
std::string unknown_kernel_message(const std::string& name, bool allow_all);

// The one owner of the thread count per rank, for hk-kernel and hk alike: `option` when > 0
// (--threads), else OMP_NUM_THREADS (the first entry of a nested list "4,2"), else 1. Anything else
// in OMP_NUM_THREADS ("4abc", "abc", "0", "99999") is a UsageError:
// "OMP_NUM_THREADS: must be an integer from 1 to 4096 (got '4abc')".
int resolve_threads(int option);
inline constexpr int kMaxThreads = 4096;

}  // namespace hk
