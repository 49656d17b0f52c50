#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "hk/record.hpp"

namespace {
std::string temp_path(const std::string& name) {
  return testing::TempDir() + "/hk_record_" + std::to_string(getpid()) + "_" + name;
}
nlohmann::json sample_record() {
  hk::RecordIdentity id;
  id.kernel = "montecarlo";
  id.variant = "pi";
  id.params = {{"samples", 1000}, {"problem", "pi"}};
  id.ranks = 2;
  id.threads = 1;
  id.work.items = 1000;
  id.work.rate_unit = "Msamples/s";
  id.started_at = "2026-01-02T03:04:05Z";  // fixed: two calls give the same record
  nlohmann::json record = hk::make_record(id);
  record["status"] = "ok";
  record["time_s"] = hk::time_json({0.75, 0.5, 0.625});
  record["verification"] = {{"passed", true}, {"method", "5 sigma, \"exact\""}, {"error", 1e-5}, {"tolerance", 1e-3}};
  record["warnings"] = {"a, b", "line\nbreak"};
  return record;
}
}  // namespace

TEST(Csv, EscapesQuotesCommasAndNewlines) {
  EXPECT_EQ(hk::csv_escape("plain"), "plain");
  EXPECT_EQ(hk::csv_escape("a,b"), "\"a,b\"");
  EXPECT_EQ(hk::csv_escape("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(hk::csv_escape("two\nlines"), "\"two\nlines\"");
}

TEST(Csv, RowHasOneCellPerColumnAndFlattensNestedKeys) {
  const std::string header = hk::csv_header();
  EXPECT_NE(header.find("time_s.median"), std::string::npos);
  EXPECT_NE(header.find("verification.passed"), std::string::npos);
  const std::string row = hk::csv_row(sample_record());
  EXPECT_EQ(row.rfind("hybridkit.run/2,montecarlo,pi,", 0), 0u) << row;
  EXPECT_NE(row.find(",0.625,"), std::string::npos) << row;
  EXPECT_NE(row.find(",true,\"5 sigma, \"\"exact\"\"\","), std::string::npos) << row;
  EXPECT_NE(row.find(",\"[0.75,0.5,0.625]\","), std::string::npos) << row;  // time_s.reps, run order
  // Outside quoted cells, commas separate exactly csv_columns().size() cells.
  std::size_t cells = 1;
  bool quoted = false;
  for (char c : row) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) ++cells;
  }
  EXPECT_EQ(cells, hk::csv_columns().size());
}

TEST(Records, AppendedRecordsReadBackExactly) {
  const std::string path = temp_path("roundtrip.jsonl");
  std::remove(path.c_str());
  const auto record = sample_record();
  hk::append_record_jsonl(path, record);
  hk::append_record_jsonl(path, record);
  const auto file = hk::read_records(path);
  EXPECT_TRUE(file.errors.empty());
  ASSERT_EQ(file.records.size(), 2u);
  EXPECT_EQ(file.records[0], record);
  std::remove(path.c_str());
}

TEST(Records, CsvHeaderWrittenOnce) {
  const std::string path = temp_path("runs.csv");
  std::remove(path.c_str());
  hk::append_record_csv(path, sample_record());
  hk::append_record_csv(path, sample_record());
  std::ifstream in(path);
  std::string first_line;
  std::getline(in, first_line);
  EXPECT_EQ(first_line, hk::csv_header());
  std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rest.find(hk::csv_header()), std::string::npos);
  std::remove(path.c_str());
}

TEST(Records, BrokenAndPartialLinesAreReportedWithLineNumbers) {
  const std::string path = temp_path("broken.jsonl");
  {
    std::ofstream out(path);
    out << sample_record().dump() << "\n" << "{not json\n" << "[1,2]\n" << sample_record().dump() << "\n{\"half\":";
  }
  const auto file = hk::read_records(path);
  EXPECT_EQ(file.records.size(), 2u);
  ASSERT_EQ(file.errors.size(), 3u);
  EXPECT_NE(file.errors[0].find(":2:"), std::string::npos) << file.errors[0];
  EXPECT_NE(file.errors[1].find(":3:"), std::string::npos) << file.errors[1];
  EXPECT_NE(file.errors[2].find(":5: partial"), std::string::npos) << file.errors[2];
  std::remove(path.c_str());
}

TEST(Records, CsvPathFollowsJsonl) {
  EXPECT_EQ(hk::csv_path_for("out/runs.jsonl"), "out/runs.csv");
  EXPECT_EQ(hk::csv_path_for("runs.txt"), "runs.txt.csv");
}

TEST(Records, DoubleBitsAreExact) {
  EXPECT_EQ(hk::double_bits_hex(1.0), "0x3ff0000000000000");
  EXPECT_NE(hk::double_bits_hex(0.1 + 0.2), hk::double_bits_hex(0.3));
}

TEST(Records, UnwritableFileIsAClearError) {
  try {
    hk::append_line("/nonexistent-dir/runs.jsonl", "{}");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/runs.jsonl"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos);
  }
}

// A file-size limit (EFBIG) cuts a write short: the appender must report it and cut the file
// back to the records already there. Run in a child so the limit does not touch the tests.
TEST(Records, FileSizeLimitLeavesNoPartialLine) {
  const std::string path = temp_path("limited.jsonl");
  std::remove(path.c_str());
  const auto record = sample_record();
  hk::append_record_jsonl(path, record);
  const auto size_before = std::ifstream(path, std::ios::ate | std::ios::binary).tellg();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const rlimit limit{static_cast<rlim_t>(size_before) + 10, static_cast<rlim_t>(size_before) + 10};
    setrlimit(RLIMIT_FSIZE, &limit);
    try {
      hk::append_record_jsonl(path, record);
    } catch (const std::exception& e) {
      _exit(std::string(e.what()).find("File too large") != std::string::npos ? 42 : 43);
    }
    _exit(44);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 42);
  const auto file = hk::read_records(path);
  EXPECT_TRUE(file.errors.empty());
  EXPECT_EQ(file.records.size(), 1u);
  EXPECT_EQ(std::ifstream(path, std::ios::ate | std::ios::binary).tellg(), size_before);
  std::remove(path.c_str());
}

// Issue 13, item 10: `printf 'garbage\n{"half' > h.jsonl`, then an append: the torn tail is cut
// (under the lock) and the new record is whole; the garbage line stays and readers skip it with
// a warning naming the line.
TEST(Records, TornTailIsCutByTheNextAppend) {
  const std::string path = temp_path("torn.jsonl");
  { std::ofstream(path, std::ios::trunc) << "garbage\n{\"half"; }
  EXPECT_EQ(hk::append_line(path, sample_record().dump()), 6u);  // {"half
  const auto file = hk::read_records(path);
  ASSERT_EQ(file.records.size(), 1u);
  EXPECT_EQ(file.records[0], sample_record());
  ASSERT_EQ(file.errors.size(), 1u);
  EXPECT_NE(file.errors[0].find(":1: not a JSON object"), std::string::npos) << file.errors[0];
  std::remove(path.c_str());
}

TEST(Records, TornCsvTailIsCutAndTheHeaderWrittenWhenNothingIsLeft) {
  const std::string path = temp_path("torn.csv");
  { std::ofstream(path, std::ios::trunc) << "schema,ker"; }  // a header cut short
  hk::append_record_csv(path, sample_record());
  std::ifstream in(path);
  std::string first, second, third;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(first, hk::csv_header());
  EXPECT_EQ(second.rfind("hybridkit.run/2,", 0), 0u);
  EXPECT_FALSE(std::getline(in, third));
  std::remove(path.c_str());
}
