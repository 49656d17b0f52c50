// From the wrappers' rank files to the exec record: placement with helper threads, the checks
// made from outside, phases from the PMPI figures, FOM and placeholder handling, bad input.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "exec_record.hpp"
#include "hk/errors.hpp"
#include "hk/record.hpp"

using nlohmann::json;
using namespace hk::exec;

namespace {

json thread(int tid, int cpu, const std::string& allowed, double cpu_time_s) {
  return {{"pid", 100}, {"tid", tid}, {"name", "app"}, {"cpu", cpu}, {"cpu_samples", {{std::to_string(cpu), 5}}},
          {"allowed_cpus", allowed}, {"cpu_time_s", cpu_time_s}};
}

// A rank on host "n0" with CPUs `rank_cpus`, its threads, and PMPI figures unless in_mpi_s < 0.
json rank_file(int rank, const std::string& rank_cpus, json threads, double wall_s, double span_s, double in_mpi_s) {
  json file = {{"host", "n0"}, {"host_cpus", 4}, {"rank", rank}, {"world_size", 2}, {"rank_cpus", rank_cpus},
               {"wall_s", wall_s}, {"rss_peak_bytes", 1000 * (rank + 1)}, {"exit_status", 0},
               {"threads", std::move(threads)}, {"mpi", nullptr}};
  if (in_mpi_s >= 0)
    file["mpi"] = {{"in_mpi_s", in_mpi_s}, {"between_init_and_finalize_s", span_s}, {"library", "Open MPI v4.1.4"},
                   {"thread_level_requested", "funneled"}, {"thread_level_provided", "funneled"}};
  return file;
}

json fresh_record() {
  hk::RecordIdentity identity;
  identity.kernel = "exec";
  identity.variant = "app";
  identity.ranks = 2;
  identity.threads = 2;
  return hk::make_record(identity);
}

std::vector<json> two_ranks_two_threads() {
  return {rank_file(0, "0-1", json::array({thread(10, 0, "0", 1.0), thread(11, 1, "1", 0.9), thread(12, 0, "0-1", 0.0)}),
                    2.0, 1.5, 0.5),
          rank_file(1, "2-3", json::array({thread(20, 2, "2", 1.2), thread(21, 3, "3", 1.1)}), 2.5, 2.0, 0.25)};
}

}  // namespace

TEST(ExecRecord, PlacementKeepsEveryThreadAndMarksHelpers) {
  const json placement = exec_placement(two_ranks_two_threads());
  ASSERT_EQ(placement.size(), 5u);
  EXPECT_EQ(placement[0]["rank"], 0);
  EXPECT_EQ(placement[0]["thread"], 0);
  EXPECT_EQ(placement[1]["allowed_cpus"], "1");
  EXPECT_EQ(placement[2]["helper"], true);  // no CPU time
  EXPECT_EQ(placement[0]["helper"], false);
  EXPECT_EQ(placement[3]["thread"], 0);     // numbering restarts per rank
  EXPECT_EQ(placement[4]["tid"], 21);
  // A busy thread that never ran on its rank's CPUs is not the rank's.
  auto ranks = two_ranks_two_threads();
  ranks[1]["threads"].push_back(thread(22, 0, "0", 1.0));
  EXPECT_EQ(exec_placement(ranks)[5]["helper"], true);
}

TEST(ExecRecord, RecordHasTheMeasuredFields) {
  json record = fresh_record();
  record_observations(record, two_ranks_two_threads(), 2, 2);
  EXPECT_TRUE(hk::record_field_problems(record).empty());
  EXPECT_EQ(record["phases_s"]["source"], "pmpi");
  EXPECT_DOUBLE_EQ(record["phases_s"]["comm"].get<double>(), 0.5);      // max in MPI
  EXPECT_DOUBLE_EQ(record["phases_s"]["compute"].get<double>(), 1.75);  // rank 1: 2.0 - 0.25
  EXPECT_DOUBLE_EQ(record["phases_s"]["other"].get<double>(), 0.5);     // both: wall - span
  EXPECT_DOUBLE_EQ(record["imbalance"].get<double>(), (1.75 - 1.0) / 1.375);
  EXPECT_EQ(record["memory"]["rss_max_bytes"], 2000);
  EXPECT_EQ(record["memory"]["rss_total_bytes"], 3000);
  EXPECT_EQ(record["mpi"]["library"], "Open MPI v4.1.4");
  EXPECT_EQ(record["ranks_per_node"], 2);
  EXPECT_EQ(record["metrics"]["ranks"].size(), 2u);
  EXPECT_TRUE(record["warnings"].empty()) << record["warnings"].dump();
  EXPECT_DOUBLE_EQ(slowest_wall_s(two_ranks_two_threads()).value(), 2.5);
}

TEST(ExecRecord, PhasesUnknownWithoutThePmpiFiguresOfEveryRank) {
  auto ranks = two_ranks_two_threads();
  ranks[1]["mpi"] = nullptr;
  json record = fresh_record();
  record_observations(record, ranks, 2, 2);
  EXPECT_EQ(record["phases_s"]["source"], "unknown");
  EXPECT_TRUE(record["phases_s"]["comm"].is_null());
  EXPECT_TRUE(record["phases_s"]["compute"].is_null());
  EXPECT_TRUE(record["imbalance"].is_null());
}

TEST(ExecRecord, WarnsAboutWhatDiffersFromTheAsk) {
  auto ranks = two_ranks_two_threads();
  ranks[0]["world_size"] = 1;
  json strayed = thread(23, 1, "2", 1.0);  // last seen on CPU 1, also on its rank's CPU 2
  strayed["cpu_samples"]["2"] = 3;
  ranks[1]["threads"] = json::array({thread(20, 2, "2", 1.2), thread(21, 2, "2", 1.1), strayed});
  const auto warnings = exec_warnings(ranks, 3, 2);
  const auto has = [&](const std::string& text) {
    for (const auto& w : warnings)
      if (w.find(text) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("2 of 3 ranks were observed"));
  EXPECT_TRUE(has("a world of 1 ranks; 3 were asked for"));
  EXPECT_TRUE(has("pinned to the same single CPU 2"));
  EXPECT_TRUE(has("rank 1 thread 2 ran on CPU 1 outside its allowed CPUs 2"));
  EXPECT_FALSE(has("rank 0 had"));
  ranks[0]["threads"] = json::array({thread(10, 0, "0", 1.0)});
  EXPECT_TRUE(exec_warnings(ranks, 2, 2).size() > 0);
  bool fewer = false;
  for (const auto& w : exec_warnings(ranks, 2, 2)) fewer |= w.find("only 1 of the 2 threads") != std::string::npos;
  EXPECT_TRUE(fewer);
}

TEST(ExecRecord, FigureOfMerit) {
  const auto fom = fom_pattern("FOM: ([0-9.eE+-]+)");
  EXPECT_DOUBLE_EQ(figure_of_merit("x\nFOM: 281.625 Mintervals/s\n", *fom).value(), 281.625);
  EXPECT_FALSE(figure_of_merit("no figure here", *fom).has_value());
  EXPECT_FALSE(figure_of_merit("FOM: - units", *fom_pattern("FOM: (\\S+)")).has_value());
  EXPECT_THROW(fom_pattern("FOM: [0-9.]+"), hk::UsageError);  // no group
  EXPECT_THROW(fom_pattern("FOM: ([0-9"), hk::UsageError);
  EXPECT_THROW(success_pattern("(unclosed"), hk::UsageError);
  EXPECT_TRUE(re2::RE2::PartialMatch("check passed", *success_pattern("check passed")));
  // Linear time, no recursion: a pattern that backtracks exponentially in std::regex, and one that
  // recurses per character, over a 1 MiB line.
  const std::string long_line(1 << 20, 'a');
  EXPECT_FALSE(re2::RE2::PartialMatch(long_line, *success_pattern("(a+)+b")));
  EXPECT_FALSE(re2::RE2::PartialMatch(long_line, *success_pattern("(a|b)*c")));
  EXPECT_TRUE(re2::RE2::PartialMatch(long_line + "c", *success_pattern(".*c")));
}

TEST(ExecRecord, Placeholders) {
  EXPECT_EQ(substitute_placeholders({"-ntomp", "{threads}", "n={ranks}x{threads}={cores}/{nodes}", "{}", "{1}"}, 4, 2, 1),
            (std::vector<std::string>{"-ntomp", "2", "n=4x2=8/1", "{}", "{1}"}));
  EXPECT_EQ(substitute_placeholders({"{{threads}}", "x{", "}{cores}{", "{a b}"}, 4, 2, 1),
            (std::vector<std::string>{"{2}", "x{", "}8{", "{a b}"}));
  const std::string long_word = "{" + std::string(128 * 1024, 'a');  // an argument's size limit, no '}'
  EXPECT_EQ(substitute_placeholders({long_word}, 1, 1, 1).front(), long_word);
  try {
    substitute_placeholders({"--size", "{rank}"}, 1, 1, 1);
    FAIL() << "no UsageError";
  } catch (const hk::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown placeholder {rank}"), std::string::npos) << e.what();
  }
}

TEST(ExecRecord, ProgramsThatCannotRunAreBadInput) {
  EXPECT_THROW(resolve_program(""), hk::UsageError);
  EXPECT_THROW(resolve_program("/nonexistent/program"), hk::UsageError);
  EXPECT_THROW(resolve_program("no-such-program-in-path-hk"), hk::UsageError);
  const std::string plain = testing::TempDir() + "hk_exec_not_executable";
  std::ofstream(plain) << "abc";
  chmod(plain.c_str(), 0644);
  EXPECT_THROW(resolve_program(plain), hk::UsageError);
  EXPECT_EQ(resolve_program("sh").front(), '/');
  EXPECT_EQ(file_sha256(plain), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(file_sha256("/nonexistent/program"), "");
  std::remove(plain.c_str());
}

TEST(ExecRecord, ReadsRankFilesInRankOrder) {
  const std::filesystem::path dir = testing::TempDir() + "hk_exec_rank_files";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "rank-1.json") << R"({"rank":1})";
  std::ofstream(dir / "rank-0.json") << R"({"rank":0})";
  std::ofstream(dir / "rank-2.json") << "not json";
  std::ofstream(dir / "rank-3.mpi.json") << R"({"rank":3})";
  const RankFiles files = read_rank_files(dir.string());
  ASSERT_EQ(files.ranks.size(), 2u);
  EXPECT_EQ(files.ranks[0]["rank"], 0);
  EXPECT_EQ(files.ranks[1]["rank"], 1);
  EXPECT_EQ(files.problems.size(), 1u);
  std::filesystem::remove_all(dir);
}
