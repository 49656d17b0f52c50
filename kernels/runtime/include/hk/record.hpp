#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hk {

inline constexpr const char* kRecordSchema = "hybridkit.run/1";

// The CSV columns, in order: the record flattened with '.'-joined keys. Objects whose keys
// differ per kernel (params, result, metrics) and lists (placement, warnings) are one cell
// holding compact JSON, so every kernel's rows share one header.
const std::vector<std::string>& csv_columns();
std::string csv_header();
std::string csv_row(const nlohmann::json& record);
std::string csv_escape(const std::string& cell);

// Append one complete line to `path` under an exclusive flock, with one write and an fsync:
// a reader never sees half a line, and a killed run never loses records already written.
// Throws RuntimeError naming the file and errno text (ENOSPC, EFBIG, EACCES ...).
void append_line(const std::string& path, const std::string& line);
// Same, but writes `header` first when the file is empty (checked under the lock).
void append_line_with_header(const std::string& path, const std::string& header, const std::string& line);

void append_record_jsonl(const std::string& path, const nlohmann::json& record);
void append_record_csv(const std::string& path, const nlohmann::json& record);
// "runs.jsonl" -> "runs.csv"; other names get ".csv" appended.
std::string csv_path_for(const std::string& jsonl_path);

// Reading records back (resume, plots, tests). A line that is not a JSON object is reported
// in `errors` with its 1-based line number and skipped; a missing final newline marks a
// partial line, which is reported too.
struct RecordFile {
  std::vector<nlohmann::json> records;
  std::vector<std::string> errors;
};
RecordFile read_records(const std::string& path);
// The same for content already in memory; `name` prefixes the messages.
RecordFile parse_records(const std::string& content, const std::string& name);

// Exact bit pattern of a double, for bitwise comparisons across mixes ("0x400921fb54442d18").
std::string double_bits_hex(double value);

}  // namespace hk
