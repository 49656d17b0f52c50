#pragma once
#include <stdexcept>
#include <string>

namespace hk {

// Exit statuses shared by hk-kernel, hk and the tests.
inline constexpr int kExitOk = 0;
inline constexpr int kExitVerifyFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRuntime = 3;

// Bad input from the user: reported as one clear line, exit status 2, on every rank.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Something went wrong at run time (I/O, MPI, resources): exit status 3.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hk
