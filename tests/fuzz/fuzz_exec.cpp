// Fuzz target: what `hk run --exec` takes from a user and from a program it knows nothing about.
// Input lines: a --fom pattern, a --success pattern, an argument with {placeholders}, then the
// program's output. Every input must end in a result or a clean usage error (hk::UsageError),
// never a crash, a hang or another exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exec_record.hpp"
#include "hk/errors.hpp"

namespace {
// The first `count` lines, then the rest of the input as one text.
std::vector<std::string> split_head(const std::uint8_t* data, std::size_t size, std::size_t count) {
  std::vector<std::string> parts(count + 1);
  std::size_t part = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\n' && part < count) ++part;
    else parts[part] += c;
  }
  return parts;
}

void try_patterns(const std::string& fom_text, const std::string& success_text, const std::string& output) {
  try {
    const auto fom = hk::exec::fom_pattern(fom_text);
    (void)hk::exec::figure_of_merit(output, *fom);
  } catch (const hk::UsageError&) {
  }
  try {
    const auto success = hk::exec::success_pattern(success_text);
    (void)re2::RE2::PartialMatch(output, *success);
  } catch (const hk::UsageError&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string> parts = split_head(data, size, 3);
  try_patterns(parts[0], parts[1], parts[3]);
  try {
    const int n = 1 + static_cast<int>(size % 5);
    (void)hk::exec::substitute_placeholders({parts[2], parts[3]}, n, 2 * n, 1);
  } catch (const hk::UsageError&) {
  }
  return 0;
}
