#pragma once
// The run record: ONE field table (record_fields()) from which the fresh record (make_record),
// the CSV columns and the completeness check derive; docs/record.md documents the same table
// (a unit test keeps the three in step). Adding a field is adding one row here and one line in
// docs/record.md.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "hk/json_text.hpp"
#include "hk/record_file.hpp"
#include "hk/work.hpp"

namespace hk {

inline constexpr const char* kRecordSchema = "hybridkit.run/2";

// How a field appears in the CSV (one line per record, '.'-joined column names).
enum class CsvForm {
  value,     // a column of its own: strings as they are, numbers/booleans as JSON, null empty
  json,      // a column of its own holding compact JSON (per-kernel objects, lists)
  children,  // no column: an object whose fields have rows of their own (time_s, memory, ...)
  inside,    // no column: a documented key inside a `json` field's cell (work.flops)
};

struct RecordField {
  std::string_view path;  // "time_s.median"
  std::string_view type;  // JSON type as docs/record.md writes it: "number or null"
  std::string_view unit;  // unit of the value, or "" (docs/record.md gives the meaning)
  CsvForm csv;
};
// Every field of the record, in record and CSV order.
const std::vector<RecordField>& record_fields();

// What is known about a run before it runs: enough for a complete record of a run that never
// produced one (a failed launch, a crash, a timeout) and the start of every kernel's record.
struct RecordIdentity {
  std::string kernel;
  std::string variant;
  nlohmann::json params = nlohmann::json::object();
  int ranks = 1;
  int threads = 1;
  int nodes = 1;
  int reps = 0;
  int warmup = 0;
  std::uint64_t seed = 0;
  Work work;                // rate.unit is work.rate_unit
  std::string command;      // the command line that ran (or would have run), shell-quoted
  std::string started_at;   // ISO 8601 UTC; empty: now
  nlohmann::json launch = nlohmann::json::object();  // how hk launched it (HK_LAUNCH_INFO); {} by hand
};

// A record with every field of the table: the identity filled in, provenance of this build,
// status "error", every measurement null (or an empty list/object), sweep null.
nlohmann::json make_record(const RecordIdentity& identity);
// The object at `path` (a `children` field such as "sweep") with each of its fields empty.
nlohmann::json make_field_block(std::string_view path);
// How a record differs from the table: "missing field time_s.reps", "field not in the schema:
// foo.bar" (inside objects with rows of their own and at the top). The fields of an object that is
// null (sweep outside a sweep) are not missing. Empty for every record the kit writes.
std::vector<std::string> record_field_problems(const nlohmann::json& record);

// hk passes how it launched hk-kernel in this environment variable (a JSON object, see
// docs/record.md, `launch`); the record copies it.
inline constexpr const char* kLaunchInfoEnv = "HK_LAUNCH_INFO";
// HK_LAUNCH_INFO as a JSON object; {} when unset. A value that is not a JSON object never fails a
// run: {} is returned and `warning` says why.
nlohmann::json launch_info_from_environment(std::string* warning);

// Reading a field of a record read back, by its dotted path ("verification.method"), never
// throwing: the string there, or "" when it is absent, null or not a string (records of older
// schemas, hand-edited files); the boolean there, or false.
std::string string_field(const nlohmann::json& record, std::string_view path);
bool true_field(const nlohmann::json& record, std::string_view path);
// The value there, whatever its type, or null when it is absent.
nlohmann::json field_value(const nlohmann::json& record, std::string_view path);

// Headline rate from the declared work and the median time: {"value": ..., "unit": rate_unit}
// ("GFLOP/s" -> flops, "GB/s" -> bytes, "M<items>/s" -> items); value null without a time.
nlohmann::json rate_json(const Work& work, double seconds);
// time_s of a record from every timed repetition (seconds, run order): {min, median, max, reps}.
nlohmann::json time_json(const std::vector<double>& rep_seconds);

// The CSV columns, in order: the fields with CsvForm value or json.
const std::vector<std::string>& csv_columns();
std::string csv_header();
std::string csv_row(const nlohmann::json& record);
std::string csv_escape(const std::string& cell);

// Both return the bytes of a torn last line cut off before appending (see append_line).
std::size_t append_record_jsonl(const std::string& path, const nlohmann::json& record);
std::size_t append_record_csv(const std::string& path, const nlohmann::json& record);
// "runs.jsonl" -> "runs.csv"; other names get ".csv" appended.
std::string csv_path_for(const std::string& jsonl_path);

// Exact bit pattern of a double, for bitwise comparisons across mixes ("0x400921fb54442d18").
std::string double_bits_hex(double value);

}  // namespace hk
