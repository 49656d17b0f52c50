#include "hk/simd.hpp"

#include <cpuid.h>

#include <cstdlib>
#include <fmt/format.h>
#include <hwy/highway.h>
#include <hwy/targets.h>

#include "hk/errors.hpp"

namespace hk::simd {

namespace {

// Targets this CPU supports among those compiled (HWY_TARGETS: every kernel is built with the
// same flags), read once before any restriction.
std::int64_t unrestricted_targets() {
  static const std::int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  return targets;
}

// The targets dispatch may pick now (restrict_to keeps it up to date).
std::int64_t& allowed_targets() {
  static std::int64_t targets = unrestricted_targets();
  return targets;
}

std::int64_t best_target(std::int64_t targets) { return targets & -targets; }  // lowest bit = best

// Targets better than every target of `path` (bits below its best target are better targets).
std::int64_t targets_above(Path path) {
  switch (path) {
    case Path::avx512: return 0;
    case Path::avx2: return HWY_AVX2 - 1;
    case Path::generic: return HWY_SSE4 - 1;
  }
  return 0;
}

std::string allowed_list(const std::vector<Path>& paths) {
  std::string text;
  for (Path p : paths) text += (text.empty() ? "" : ", ") + std::string(path_name(p));
  return text;
}

const char* path_requirement(Path path) {
  switch (path) {
    case Path::avx512: return "AVX-512 (F/VL/DQ/BW/CD)";
    case Path::avx2: return "AVX2 with FMA, BMI2, F16C, AES and CLMUL";
    case Path::generic: return "SSSE3";
  }
  return "?";
}

}  // namespace

const char* path_name(Path path) {
  switch (path) {
    case Path::avx512: return "avx512";
    case Path::avx2: return "avx2";
    case Path::generic: return "generic";
  }
  return "?";
}

std::optional<Path> parse_path(std::string_view text) {
  for (Path p : {Path::avx512, Path::avx2, Path::generic})
    if (text == path_name(p)) return p;
  return std::nullopt;
}

Path path_of_target(std::int64_t target) {
  if (target < HWY_AVX2) return Path::avx512;  // AVX3, AVX3_DL and any better x86 target
  if (target == HWY_AVX2) return Path::avx2;
  return Path::generic;
}

Path build_baseline_path() { return path_of_target(HWY_STATIC_TARGET); }

std::vector<Path> available_paths() {
  std::vector<Path> paths;
  for (std::int64_t t = unrestricted_targets(); t != 0; t &= t - 1) {
    const Path p = path_of_target(best_target(t));
    if (paths.empty() || paths.back() != p) paths.push_back(p);
  }
  return paths;
}

Path active_path() { return path_of_target(best_target(allowed_targets())); }

std::string isa_request_problem(std::string_view value) {
  const std::optional<Path> wanted = parse_path(value);
  const std::vector<Path> paths = available_paths();
  if (!wanted)
    return fmt::format("HK_ISA={}: unknown SIMD path; allowed: avx512, avx2, generic (unset: the best this CPU has)",
                       value);
  for (Path p : paths)
    if (p == *wanted) return "";
  if (static_cast<int>(*wanted) > static_cast<int>(paths.front()))
    return fmt::format("HK_ISA={}: this CPU lacks {}; allowed here: {}", value, path_requirement(*wanted),
                       allowed_list(paths));
  return fmt::format("HK_ISA={}: this build has no {} path (HK_NATIVE=ON compiles for the build machine only); "
                     "allowed here: {}",
                     value, value, allowed_list(paths));
}

void restrict_to(Path path) {
  allowed_targets() = unrestricted_targets() & ~targets_above(path);
  hwy::DisableTargets(targets_above(path));
  // Highway 1.0.3: SupportedTargets() re-detects the CPU and points dispatch at the best target
  // it finds before applying DisableTargets' mask to what it returns, so calling it after
  // DisableTargets undoes the restriction (measured: HK_ISA=avx2 ran the AVX-512 code). Pointing
  // dispatch at the masked set afterwards makes it hold; nothing here calls it again.
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

std::string isa_environment() {
  const char* value = std::getenv("HK_ISA");
  return value == nullptr ? "" : value;
}

Path apply_isa_environment() {
  const std::string value = isa_environment();
  if (!value.empty()) {
    const std::string problem = isa_request_problem(value);
    if (!problem.empty()) throw UsageError(problem);
    restrict_to(*parse_path(value));
  }
  return active_path();
}

std::vector<std::string> cpu_flags() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return {};
  const unsigned ecx1 = ecx;
  unsigned ebx7 = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) != 0) ebx7 = ebx;
  // Register state the OS saves (XCR0): YMM for AVX, opmask/ZMM for AVX-512.
  unsigned long long xcr0 = 0;
  if (ecx1 & (1u << 27)) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  const bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xE0) == 0xE0;
  struct Flag {
    const char* name;
    bool present;
  };
  const auto bit = [](unsigned reg, int index) { return ((reg >> index) & 1u) != 0; };
  const Flag flags[] = {
      {"sse4_2", bit(ecx1, 20)},           {"pclmulqdq", bit(ecx1, 1)},
      {"aes", bit(ecx1, 25)},              {"avx", ymm && bit(ecx1, 28)},
      {"avx2", ymm && bit(ebx7, 5)},       {"fma", ymm && bit(ecx1, 12)},
      {"bmi2", bit(ebx7, 8)},              {"f16c", ymm && bit(ecx1, 29)},
      {"avx512f", zmm && bit(ebx7, 16)},   {"avx512cd", zmm && bit(ebx7, 28)},
      {"avx512dq", zmm && bit(ebx7, 17)},  {"avx512bw", zmm && bit(ebx7, 30)},
      {"avx512vl", zmm && bit(ebx7, 31)},
  };
  std::vector<std::string> names;
  for (const Flag& flag : flags)
    if (flag.present) names.push_back(flag.name);
  return names;
}

}  // namespace hk::simd
