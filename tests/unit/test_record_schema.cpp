// The record has one owner (the runtime's field table): the fresh record, the CSV columns and
// docs/record.md must list the same fields, and a failure record has every field of an ok one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "hk/json_text.hpp"
#include "hk/record.hpp"
#include "hk/run_record.hpp"
#include "hk/stats.hpp"

namespace {

using nlohmann::json;

struct DocRow {
  std::string path, type, unit;
  bool operator==(const DocRow& o) const { return path == o.path && type == o.type && unit == o.unit; }
};
std::ostream& operator<<(std::ostream& out, const DocRow& r) {
  return out << "| `" << r.path << "` | " << r.type << " | " << r.unit << " |";
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// The rows of the field table in docs/record.md: | `path` | type | unit | meaning |
std::vector<DocRow> documented_fields() {
  std::ifstream in(std::string(HK_SOURCE_DIR) + "/docs/record.md");
  EXPECT_TRUE(in) << "docs/record.md not found under " << HK_SOURCE_DIR;
  std::vector<DocRow> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream cells_text(line.substr(1));
    for (std::string cell; std::getline(cells_text, cell, '|');) cells.push_back(trim(cell));
    if (cells.size() < 4) continue;
    rows.push_back({cells[0].substr(1, cells[0].size() - 2), cells[1], cells[2]});
  }
  return rows;
}

std::vector<DocRow> table_fields() {
  std::vector<DocRow> rows;
  for (const auto& f : hk::record_fields()) rows.push_back({std::string(f.path), std::string(f.type), std::string(f.unit)});
  return rows;
}

const hk::RecordField* field_at(const std::string& path) {
  for (const auto& f : hk::record_fields())
    if (f.path == path) return &f;
  return nullptr;
}

// Paths of a record as the table would name them: into objects that have rows of their own,
// everything else (values, per-kernel objects, lists) a field.
void collect_paths(const json& value, const std::string& prefix, std::set<std::string>& out) {
  for (const auto& [key, item] : value.items()) {
    const std::string path = prefix + key;
    out.insert(path);
    const hk::RecordField* field = field_at(path);
    if (item.is_object() && field && field->csv == hk::CsvForm::children) collect_paths(item, path + ".", out);
  }
}

hk::RecordIdentity identity() {
  hk::RecordIdentity id;
  id.kernel = "matmul";
  id.variant = "summa";
  id.params = {{"n", 97}};
  id.ranks = 4;
  id.threads = 2;
  id.nodes = 2;
  id.reps = 3;
  id.warmup = 1;
  id.seed = 7;
  id.work = {2e6, 3e5, 0, "GFLOP/s"};
  id.command = "hk-kernel matmul --n 97";
  id.started_at = "2026-01-02T03:04:05Z";
  return id;
}

}  // namespace

TEST(Schema, DocsListTheFieldsOfTheTable) {
  const auto documented = documented_fields();
  const auto table = table_fields();
  EXPECT_EQ(documented, table) << "docs/record.md must have one row per entry of record_fields(), in order; "
                                  "the table's rows are:\n"
                               << ::testing::PrintToString(table);
}

TEST(Schema, CsvColumnsAreTheTablesValueAndJsonFields) {
  std::vector<std::string> expected;
  for (const auto& f : hk::record_fields())
    if (f.csv == hk::CsvForm::value || f.csv == hk::CsvForm::json) expected.emplace_back(f.path);
  EXPECT_EQ(hk::csv_columns(), expected);
  for (const std::string column : {"reps", "time_s.reps", "phases_s.source", "ranks_per_node", "launch", "sweep.key"})
    EXPECT_NE(std::find(expected.begin(), expected.end(), column), expected.end()) << column;
}

TEST(Schema, FreshRecordHasEveryFieldOfTheTableAndNoOther) {
  json record = hk::make_record(identity());
  EXPECT_TRUE(hk::record_field_problems(record).empty()) << ::testing::PrintToString(hk::record_field_problems(record));
  record["sweep"] = hk::make_field_block("sweep");  // as the sweep fills it in
  std::set<std::string> built;
  collect_paths(record, "", built);
  std::set<std::string> table;
  for (const auto& f : hk::record_fields())
    if (f.csv != hk::CsvForm::inside) table.emplace(f.path);
  EXPECT_EQ(built, table);
  EXPECT_TRUE(hk::record_field_problems(record).empty());
}

TEST(Schema, FreshRecordIsAnErrorWithItsIdentityAndNoMeasurements) {
  const json r = hk::make_record(identity());
  EXPECT_EQ(r["schema"], "hybridkit.run/2");
  EXPECT_EQ(r["status"], "error");
  EXPECT_EQ(r["kernel"], "matmul");
  EXPECT_EQ(r["ranks"], 4);
  EXPECT_EQ(r["nodes"], 2);
  EXPECT_EQ(r["seed"], 7);
  EXPECT_EQ(r["rate"], json({{"value", nullptr}, {"unit", "GFLOP/s"}}));
  EXPECT_EQ(r["work"]["flops"], 2e6);
  EXPECT_EQ(r["time_s"]["reps"], json::array());
  EXPECT_TRUE(r["time_s"]["median"].is_null());
  EXPECT_TRUE(r["phases_s"]["source"].is_null());
  EXPECT_TRUE(r["verification"]["passed"].is_null());
  EXPECT_TRUE(r["memory"]["rss_max_bytes"].is_null());
  EXPECT_TRUE(r["error"].is_null());
  EXPECT_TRUE(r["sweep"].is_null());
  EXPECT_EQ(r["launch"], json::object());
  EXPECT_EQ(r["provenance"]["started_at"], "2026-01-02T03:04:05Z");
  EXPECT_EQ(r["provenance"]["command"], "hk-kernel matmul --n 97");
  EXPECT_FALSE(r["provenance"]["git_sha"].get<std::string>().empty());
}

TEST(Schema, ProblemsNameMissingAndUnknownFields) {
  json r = hk::make_record(identity());
  r["time_s"].erase("reps");
  r["memory"]["vm_bytes"] = 1;
  r["colour"] = "blue";
  const auto problems = hk::record_field_problems(r);
  const std::set<std::string> got(problems.begin(), problems.end());
  EXPECT_EQ(got, (std::set<std::string>{"missing field time_s.reps", "field not in the schema: memory.vm_bytes",
                                        "field not in the schema: colour"}));
}

TEST(Schema, TimesKeepEveryRepetitionAndDeriveTheStatistics) {
  const json t = hk::time_json({0.3, 0.1, 0.2, 0.4});
  EXPECT_EQ(t["reps"], json({0.3, 0.1, 0.2, 0.4}));
  EXPECT_EQ(t["min"], 0.1);
  EXPECT_DOUBLE_EQ(t["median"].get<double>(), 0.25);
  EXPECT_EQ(t["max"], 0.4);
  EXPECT_TRUE(hk::time_json({})["median"].is_null());
}

TEST(Schema, RateFromTheDeclaredWork) {
  EXPECT_DOUBLE_EQ(hk::rate_json({2e9, 0, 0, "GFLOP/s"}, 0.5)["value"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(hk::rate_json({0, 0, 3e6, "Msamples/s"}, 1.5)["value"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(hk::rate_json({0, 1e9, 0, "GB/s"}, 2)["value"].get<double>(), 0.5);
  EXPECT_TRUE(hk::rate_json({1, 1, 1, "GFLOP/s"}, 0)["value"].is_null());
}

TEST(Stats, MedianAndSummary) {
  EXPECT_DOUBLE_EQ(hk::median({5, 1, 3}), 3);
  EXPECT_DOUBLE_EQ(hk::median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(hk::median({7}), 7);
  EXPECT_THROW(hk::median({}), std::invalid_argument);
  const hk::Summary s = hk::summarize({0.4, 0.1, 0.3, 0.2});
  EXPECT_EQ(s.min, 0.1);
  EXPECT_EQ(s.max, 0.4);
  EXPECT_DOUBLE_EQ(s.median, 0.25);
  EXPECT_EQ(s.median_index, 3u);  // 0.2, the lower middle, is repetition 3
}

TEST(LaunchInfo, CopiedWhenAnObjectIgnoredWithAWarningOtherwise) {
  std::string warning;
  unsetenv(hk::kLaunchInfoEnv);
  EXPECT_EQ(hk::launch_info_from_environment(&warning), json::object());
  EXPECT_TRUE(warning.empty());
  setenv(hk::kLaunchInfoEnv, R"({"launcher":"mpirun","expected_ranks":2})", 1);
  EXPECT_EQ(hk::launch_info_from_environment(&warning)["expected_ranks"], 2);
  EXPECT_TRUE(warning.empty());
  for (const char* bad : {"[1,2]", "{\"half", "3", "\xff\xfe"}) {
    setenv(hk::kLaunchInfoEnv, bad, 1);
    warning.clear();
    EXPECT_EQ(hk::launch_info_from_environment(&warning), json::object()) << bad;
    EXPECT_NE(warning.find("HK_LAUNCH_INFO is not a JSON object"), std::string::npos) << warning;
    EXPECT_NO_THROW(json(warning).dump());
  }
  unsetenv(hk::kLaunchInfoEnv);
}

TEST(Utf8, InvalidBytesBecomeEscapesValidTextStays) {
  EXPECT_TRUE(hk::is_valid_utf8("café ✓ 𝄞"));
  EXPECT_FALSE(hk::is_valid_utf8("caf\xe9"));
  EXPECT_FALSE(hk::is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(hk::is_valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(hk::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(hk::is_valid_utf8("\xe2\x82"));          // cut short
  EXPECT_EQ(hk::utf8_escaped("caf\xe9.png"), "caf\\xe9.png");
  EXPECT_EQ(hk::utf8_escaped("café ✓"), "café ✓");
  EXPECT_EQ(hk::utf8_escaped("\xe2\x82x"), "\\xe2\\x82x");
  // Idempotent, and the bytes come back.
  EXPECT_EQ(hk::utf8_escaped(hk::utf8_escaped("caf\xe9")), "caf\\xe9");
  for (const std::string raw : {"caf\xe9.png", "\xff\xfe\x00z", "ok", "\xc3"})
    EXPECT_EQ(hk::utf8_unescaped(hk::utf8_escaped(raw)), raw);
}

TEST(Utf8, RecordsWithBadBytesAreWrittenNotThrown) {
  hk::RecordIdentity id = identity();
  id.command = "hk-kernel filter --input caf\xe9.png";
  id.params = {{"input", "caf\xe9.png"}, {"k\xff", 1}};
  const json record = hk::make_record(id);
  EXPECT_THROW(record.dump(), json::type_error);  // what used to happen after the run
  const std::string text = hk::json_text(record);
  const json back = json::parse(text);
  EXPECT_EQ(back["params"]["input"], "caf\\xe9.png");
  EXPECT_EQ(back["params"]["k\\xff"], 1);
  EXPECT_EQ(back["provenance"]["command"], "hk-kernel filter --input caf\\xe9.png");
  EXPECT_NE(hk::csv_row(record).find("caf\\xe9.png"), std::string::npos);
  const std::string path = testing::TempDir() + "/hk_utf8_" + std::to_string(getpid()) + ".jsonl";
  hk::append_record_jsonl(path, record);
  const auto file = hk::read_records(path);
  EXPECT_TRUE(file.errors.empty());
  ASSERT_EQ(file.records.size(), 1u);
  EXPECT_EQ(hk::utf8_unescaped(file.records[0]["params"]["input"].get<std::string>()), "caf\xe9.png");
  std::remove(path.c_str());
}

// Issue 13 item 2: a check that cannot fail is no pass. The record says verify_failed when the
// kernel's tolerance is not finite or its error is NaN, whatever the kernel's own verdict.
TEST(Verification, OnlyAFiniteToleranceAndANumericErrorPass) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    bool passed;
    double error, tolerance;
    const char* status;
  };
  for (const Case& c : {Case{true, 0.5, 1.0, "ok"}, Case{true, 0.0, 0.0, "ok"}, Case{false, 0.5, 1.0, "verify_failed"},
                        Case{true, 100.0, inf, "verify_failed"},  // estimate 0 vs exact 100, "tolerance inf"
                        Case{true, 0.5, nan, "verify_failed"}, Case{true, nan, 1.0, "verify_failed"},
                        Case{true, nan, inf, "verify_failed"}}) {
    json record = json::object();
    hk::record_outcome(record, hk::Verification{c.passed, "check", c.error, c.tolerance}, json::object(),
                       json::object());
    EXPECT_EQ(record["status"], c.status) << "passed " << c.passed << ", error " << c.error << ", tolerance "
                                          << c.tolerance;
    EXPECT_EQ(record["verification"]["passed"], std::string(c.status) == "ok");
  }
}
