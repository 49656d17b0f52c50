// The SIMD path machinery (hk/simd.hpp): names, the paths of this CPU and build, HK_ISA's
// refusals, the restriction dispatch obeys, the CPU flags recorded, and hk's pass-through.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "hk/errors.hpp"
#include "hk/simd.hpp"
#include "launch.hpp"

namespace simd = hk::simd;

namespace {
bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}
bool available(simd::Path path) {
  const auto paths = simd::available_paths();
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}
}  // namespace

TEST(Simd, PathNamesRoundTripAndNothingElseParses) {
  for (simd::Path p : {simd::Path::avx512, simd::Path::avx2, simd::Path::generic})
    EXPECT_EQ(simd::parse_path(simd::path_name(p)), p);
  for (const char* bad : {"", "AVX2", "avx", "sse4", "avx512 ", "native"}) EXPECT_FALSE(simd::parse_path(bad)) << bad;
}

TEST(Simd, AvailablePathsAreBestFirstAndTheActiveOneIsTheBest) {
  const auto paths = simd::available_paths();
  ASSERT_FALSE(paths.empty());
  for (std::size_t i = 1; i < paths.size(); ++i) EXPECT_GT(static_cast<int>(paths[i - 1]), static_cast<int>(paths[i]));
  EXPECT_EQ(simd::active_path(), paths.front());
}

TEST(Simd, RestrictionLowersTheActivePathAndIsLifted) {
  const auto paths = simd::available_paths();
  for (simd::Path p : paths) {
    simd::restrict_to(p);
    EXPECT_EQ(simd::active_path(), p);
  }
  simd::restrict_to(paths.front());
  EXPECT_EQ(simd::active_path(), paths.front());
}

TEST(Simd, HkIsaRefusesUnknownValuesAndPathsThisCpuLacks) {
  EXPECT_EQ(simd::isa_request_problem("sse2"),
            "HK_ISA=sse2: unknown SIMD path; allowed: avx512, avx2, generic (unset: the best this CPU has)");
  for (simd::Path p : simd::available_paths()) EXPECT_EQ(simd::isa_request_problem(simd::path_name(p)), "");
  if (!available(simd::Path::avx512)) {
    const std::string problem = simd::isa_request_problem("avx512");
    EXPECT_EQ(problem.rfind("HK_ISA=avx512: this ", 0), 0u) << problem;
  }
}

TEST(Simd, CpuFlagsAgreeWithThePaths) {
  const auto flags = simd::cpu_flags();
  EXPECT_TRUE(has(flags, "sse4_2"));  // the portable baseline (x86-64-v2) needs it to start at all
  if (available(simd::Path::avx2)) {
    for (const char* f : {"avx", "avx2", "fma", "bmi2", "f16c"}) EXPECT_TRUE(has(flags, f)) << f;
  }
  if (available(simd::Path::avx512)) {
    for (const char* f : {"avx512f", "avx512vl", "avx512dq", "avx512bw"}) EXPECT_TRUE(has(flags, f)) << f;
  }
}

TEST(Launch, HkIsaGoesToEveryRankAndBadValuesStopTheLaunch) {
  hk::LaunchSpec spec;
  spec.ranks = 2;
  spec.cores_per_node = 2;
  spec.program = {"/bin/hk-kernel", "montecarlo"};
  spec.isa = "generic";
  if (available(simd::Path::generic)) {
    const auto command = hk::compose_launch(spec);
    const std::string line = command.display();
    EXPECT_NE(line.find("HK_ISA=generic "), std::string::npos) << line;
    EXPECT_NE(line.find("-x HK_ISA"), std::string::npos) << line;
  }
  spec.isa = "fastest";
  EXPECT_THROW(hk::compose_launch(spec), hk::UsageError);
  spec.isa = "";
  EXPECT_EQ(hk::compose_launch(spec).display().find("HK_ISA"), std::string::npos);
}
