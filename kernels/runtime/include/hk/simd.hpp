#pragma once
// The SIMD path of this process, chosen at run time (docs/simd.md). Each kernel compiles its hot
// loops once per Highway target (foreach_target) and HWY_DYNAMIC_DISPATCH picks the best one the
// CPU supports among those allowed here. Three paths, best first:
//   avx512  Highway's AVX3 (AVX-512 F/VL/DQ/BW/CD; AVX3_DL in a native build for such a CPU)
//   avx2    Highway's AVX2 (AVX2 + FMA + BMI2 + F16C, and AES/CLMUL)
//   generic what the build's baseline has (SSSE3 in the portable x86-64-v2 build: no FMA)
// HK_ISA=avx512|avx2|generic (environment) forces a path no higher than the CPU allows.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hk::simd {

enum class Path { generic = 0, avx2 = 1, avx512 = 2 };

const char* path_name(Path path);
// "avx512", "avx2" or "generic"; nullopt for anything else.
std::optional<Path> parse_path(std::string_view text);
// The path a Highway target (HWY_AVX3, HWY_AVX2, ... as a dispatched function reports its
// HWY_TARGET) belongs to.
Path path_of_target(std::int64_t target);
// The path of code compiled without dispatch (the build's baseline flags).
Path build_baseline_path();

// Paths this binary has code for and this CPU can run (ignoring any restriction), best first.
std::vector<Path> available_paths();
// The best path dispatch picks now (after HK_ISA / restrict_to): the process-wide path.
Path active_path();

// Why HK_ISA=value cannot be honoured here ("" when it can): an unknown value, or a path above
// what this CPU (and build) offers. One line, naming what is allowed.
std::string isa_request_problem(std::string_view value);
// Restricts dispatch to paths no higher than `path` (before or between dispatches; not while
// another thread dispatches). `path` must be available; restrict_to(best) lifts the restriction.
void restrict_to(Path path);
// Reads HK_ISA: unset or empty leaves the best path; otherwise restricts to it, or throws
// UsageError with isa_request_problem's line. Returns the active path.
Path apply_isa_environment();
// HK_ISA's value, "" when unset.
std::string isa_environment();

// The CPU's flags that decide the paths, as /proc/cpuinfo names them (CPUID, with the AVX and
// AVX-512 register state the OS enables): sse4_2, pclmulqdq, aes, avx, avx2, fma, bmi2, f16c,
// avx512f, avx512cd, avx512dq, avx512bw, avx512vl.
std::vector<std::string> cpu_flags();

}  // namespace hk::simd
