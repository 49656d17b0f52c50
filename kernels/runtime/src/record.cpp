#include "hk/record.hpp"

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <set>
#include <fmt/format.h>

#include "hk/build_info.hpp"
#include "hk/record_file.hpp"
#include "hk/simd.hpp"
#include "hk/stats.hpp"
#include "hk/system.hpp"

namespace hk {

using nlohmann::json;

namespace {
constexpr CsvForm V = CsvForm::value, J = CsvForm::json, C = CsvForm::children, I = CsvForm::inside;

// The one description of the record. docs/record.md has a row for each entry (same path, type
// and unit) with its meaning; tests/unit/test_record.cpp checks that they agree.
const RecordField kFields[] = {
    {"schema", "string", "", V},
    {"kernel", "string", "", V},
    {"variant", "string", "", V},
    {"params", "object", "", J},
    {"ranks", "integer", "", V},
    {"threads", "integer", "per rank", V},
    {"nodes", "integer", "", V},
    {"ranks_per_node", "integer or null", "", V},
    {"status", "string", "", V},
    {"reps", "integer", "", V},
    {"warmup", "integer", "", V},
    {"seed", "integer", "", V},
    {"time_s", "object", "", C},
    {"time_s.min", "number or null", "s", V},
    {"time_s.median", "number or null", "s", V},
    {"time_s.max", "number or null", "s", V},
    {"time_s.reps", "array of numbers", "s", J},
    {"phases_s", "object", "", C},
    {"phases_s.compute", "number or null", "s", V},
    {"phases_s.comm", "number or null", "s", V},
    {"phases_s.other", "number or null", "s", V},
    {"phases_s.source", "string or null", "", V},
    {"imbalance", "number or null", "fraction", V},
    {"rate", "object", "", C},
    {"rate.value", "number or null", "rate.unit", V},
    {"rate.unit", "string", "", V},
    {"memory", "object", "", C},
    {"memory.rss_max_bytes", "integer or null", "bytes", V},
    {"memory.rss_total_bytes", "integer or null", "bytes", V},
    {"memory.pss_total_bytes", "integer or null", "bytes", V},
    {"verification", "object", "", C},
    {"verification.passed", "boolean or null", "", V},
    {"verification.method", "string or null", "", V},
    {"verification.error", "number or null", "", V},
    {"verification.tolerance", "number or null", "", V},
    {"result", "object", "", J},
    {"metrics", "object", "", J},
    {"metrics.isa", "string", "", I},
    {"work", "object", "", J},
    {"work.flops", "number", "FLOP", I},
    {"work.bytes", "number", "bytes", I},
    {"work.items", "number", "items", I},
    {"placement", "array of objects", "", J},
    {"rank_domains", "array of objects", "", J},
    {"mpi", "object", "", C},
    {"mpi.library", "string or null", "", V},
    {"mpi.thread_level_requested", "string or null", "", V},
    {"mpi.thread_level_provided", "string or null", "", V},
    {"launch", "object", "", J},
    {"provenance", "object", "", C},
    {"provenance.version", "string", "", V},
    {"provenance.git_sha", "string", "", V},
    {"provenance.compiler", "string", "", V},
    {"provenance.flags", "string", "", V},
    {"provenance.isa", "string", "", V},
    {"provenance.cpu_flags", "array of strings", "", J},
    {"provenance.openmp", "string", "", V},
    {"provenance.hostname", "string", "", V},
    {"provenance.started_at", "string", "UTC", V},
    {"provenance.command", "string", "", V},
    {"warnings", "array of strings", "", J},
    {"error", "string or null", "", V},
    {"sweep", "object or null", "", C},
    {"sweep.scaling", "string", "", V},
    {"sweep.budget_cores", "integer", "cores", V},
    {"sweep.cores", "integer", "cores", V},
    {"sweep.nodes", "integer", "nodes", V},
    {"sweep.families", "array of integers", "threads", J},
    {"sweep.weak_factor", "number", "", V},
    {"sweep.launcher", "string", "", V},
    {"sweep.launch", "string", "", V},
    {"sweep.exit_status", "integer or null", "", V},
    {"sweep.signal", "integer or null", "", V},
    {"sweep.timeout_s", "number", "s", V},
    {"sweep.wall_s", "number", "s", V},
    {"sweep.oversubscribed", "boolean", "", V},
    {"sweep.aligned", "boolean or null", "", V},
    {"sweep.placement_ok", "boolean", "", V},
    {"sweep.stdout", "string", "", V},
    {"sweep.stderr", "string", "", V},
    {"sweep.key", "string", "", V},
};
}  // namespace

const std::vector<RecordField>& record_fields() {
  static const std::vector<RecordField> fields(std::begin(kFields), std::end(kFields));
  return fields;
}

namespace {

json::json_pointer pointer_of(std::string_view path) {
  if (path.empty()) return json::json_pointer();
  std::string text = "/" + std::string(path);
  for (auto& c : text)
    if (c == '.') c = '/';
  return json::json_pointer(text);
}

std::string_view parent_of(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// A field's value in a fresh record: null, or an empty object/list.
json empty_value(const RecordField& field) {
  if (starts_with(field.type, "array")) return json::array();
  if (field.type == "object") return json::object();
  return nullptr;
}

// Builds the fields under `root` ("" for the whole record) as a tree of empty values.
json empty_tree(std::string_view root) {
  json tree = json::object();
  for (const auto& field : record_fields()) {
    if (field.csv == CsvForm::inside) continue;
    if (!root.empty() && !starts_with(field.path, std::string(root) + ".")) continue;
    const std::string_view relative = root.empty() ? field.path : field.path.substr(root.size() + 1);
    const json::json_pointer parent = pointer_of(parent_of(relative));
    if (!parent.empty() && !(tree.contains(parent) && tree.at(parent).is_object())) continue;  // under a null
    tree[pointer_of(relative)] = empty_value(field);
  }
  return tree;
}

std::string openmp_version() {
#ifdef _OPENMP
  switch (_OPENMP) {
    case 201107: return "3.1 (201107)";
    case 201307: return "4.0 (201307)";
    case 201511: return "4.5 (201511)";
    case 201811: return "5.0 (201811)";
    case 202011: return "5.1 (202011)";
    default: return std::to_string(_OPENMP);
  }
#else
  return "none";
#endif
}

json provenance_json(const RecordIdentity& id) {
  return {{"version", build::version},
          {"git_sha", build::git_sha},
          {"compiler", build::compiler},
          {"flags", build::flags},
          {"isa", simd::path_name(simd::active_path())},
          {"cpu_flags", simd::cpu_flags()},
          {"openmp", openmp_version()},
          {"hostname", host_name()},
          {"started_at", id.started_at.empty() ? utc_timestamp() : id.started_at},
          {"command", id.command}};
}

}  // namespace

json make_record(const RecordIdentity& id) {
  json record = empty_tree("");
  record["schema"] = kRecordSchema;
  record["kernel"] = id.kernel;
  record["variant"] = id.variant;
  record["params"] = id.params.is_object() ? id.params : json::object();
  record["ranks"] = id.ranks;
  record["threads"] = id.threads;
  record["nodes"] = id.nodes;
  record["status"] = "error";
  record["reps"] = id.reps;
  record["warmup"] = id.warmup;
  record["seed"] = id.seed;
  record["rate"]["unit"] = id.work.rate_unit;
  record["work"] = {{"flops", id.work.flops}, {"bytes", id.work.bytes}, {"items", id.work.items}};
  record["launch"] = id.launch.is_object() ? id.launch : json::object();
  record["provenance"] = provenance_json(id);
  return record;
}

json make_field_block(std::string_view path) { return empty_tree(path); }

std::vector<std::string> record_field_problems(const json& record) {
  if (!record.is_object()) return {"not a JSON object"};
  std::vector<std::string> problems;
  std::set<std::string, std::less<>> known;
  for (const auto& field : record_fields()) {
    if (field.csv == CsvForm::inside) continue;
    known.emplace(field.path);
    const json::json_pointer parent = pointer_of(parent_of(field.path));
    if (!parent.empty() && record.contains(parent) && record.at(parent).is_null()) continue;
    if (!record.contains(pointer_of(field.path))) problems.push_back(fmt::format("missing field {}", field.path));
  }
  // Keys at the top and inside objects with rows of their own must be in the table.
  const auto check_keys = [&](const json& object, const std::string& prefix) {
    for (const auto& [key, value] : object.items())
      if (!known.count(prefix + key)) problems.push_back(fmt::format("field not in the schema: {}{}", prefix, key));
  };
  check_keys(record, "");
  for (const auto& field : record_fields()) {
    if (field.csv != CsvForm::children) continue;
    const json::json_pointer at = pointer_of(field.path);
    if (record.contains(at) && record.at(at).is_object()) check_keys(record.at(at), std::string(field.path) + ".");
  }
  return problems;
}

std::string string_field(const json& record, std::string_view path) {
  const json::json_pointer at = pointer_of(path);
  if (!record.is_object() || !record.contains(at) || !record.at(at).is_string()) return "";
  return record.at(at).get<std::string>();
}

bool true_field(const json& record, std::string_view path) {
  const json::json_pointer at = pointer_of(path);
  return record.is_object() && record.contains(at) && record.at(at) == true;
}

json field_value(const json& record, std::string_view path) {
  const json::json_pointer at = pointer_of(path);
  return record.is_object() && record.contains(at) ? record.at(at) : json();
}

json launch_info_from_environment(std::string* warning) {
  const char* text = std::getenv(kLaunchInfoEnv);
  if (text == nullptr || *text == '\0') return json::object();
  json info = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (info.is_object()) return info;
  if (warning) {
    *warning = fmt::format("{} is not a JSON object (got '{}'); the record's launch field is left empty",
                           kLaunchInfoEnv, utf8_escaped(std::string_view(text).substr(0, 80)));
  }
  return json::object();
}

json rate_json(const Work& work, double seconds) {
  if (work.rate_unit.empty() || !(seconds > 0)) return {{"value", nullptr}, {"unit", work.rate_unit}};
  const char prefix = work.rate_unit[0];
  const double scale = prefix == 'G' ? 1e9 : prefix == 'M' ? 1e6 : prefix == 'k' ? 1e3 : 1.0;
  const std::string base = work.rate_unit.substr(scale == 1.0 ? 0 : 1);
  double amount = work.items;
  if (base.rfind("FLOP", 0) == 0) amount = work.flops;
  else if (base.rfind("B/", 0) == 0) amount = work.bytes;
  return {{"value", amount / seconds / scale}, {"unit", work.rate_unit}};
}

json time_json(const std::vector<double>& rep_seconds) {
  if (rep_seconds.empty()) return {{"min", nullptr}, {"median", nullptr}, {"max", nullptr}, {"reps", json::array()}};
  const Summary s = summarize(rep_seconds);
  return {{"min", s.min}, {"median", s.median}, {"max", s.max}, {"reps", rep_seconds}};
}

const std::vector<std::string>& csv_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> names;
    for (const auto& field : record_fields())
      if (field.csv == CsvForm::value || field.csv == CsvForm::json) names.emplace_back(field.path);
    return names;
  }();
  return columns;
}

std::string csv_escape(const std::string& cell) {
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string csv_header() {
  std::string line;
  for (const auto& column : csv_columns()) {
    if (!line.empty()) line += ',';
    line += csv_escape(column);
  }
  return line;
}

std::string csv_row(const json& record) {
  std::string line;
  bool first = true;
  for (const auto& column : csv_columns()) {
    if (!first) line += ',';
    first = false;
    const json::json_pointer pointer = pointer_of(column);
    if (!record.contains(pointer)) continue;
    const json& value = record.at(pointer);
    std::string cell;
    if (value.is_string()) cell = utf8_escaped(value.get_ref<const std::string&>());
    else if (!value.is_null()) cell = json_text(value);  // numbers keep round-trip precision
    line += csv_escape(cell);
  }
  return line;
}

std::size_t append_record_jsonl(const std::string& path, const json& record) {
  return append_line(path, json_text(record));
}

std::size_t append_record_csv(const std::string& path, const json& record) {
  return append_line_with_header(path, csv_header(), csv_row(record));
}

std::string csv_path_for(const std::string& jsonl_path) {
  const std::string suffix = ".jsonl";
  if (jsonl_path.size() > suffix.size() &&
      jsonl_path.compare(jsonl_path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return jsonl_path.substr(0, jsonl_path.size() - suffix.size()) + ".csv";
  return jsonl_path + ".csv";
}

std::string double_bits_hex(double value) {
  std::uint64_t bits = 0;
  static_assert(sizeof(bits) == sizeof(value));
  std::memcpy(&bits, &value, sizeof(bits));
  return fmt::format("0x{:016x}", bits);
}

}  // namespace hk
