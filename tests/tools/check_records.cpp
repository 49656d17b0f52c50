// hk-check-records FILE [--count N] [--count-per-path K] [--status S] [--same POINTER]... [--true POINTER]...
//                  [--each-path POINTER] [--path P] [--value POINTER TEXT]... [--pinned-distinct] [--complete]
// Checks the records of a JSONL file: how many there are, their status, that the values at
// the given JSON pointers are identical in every record (bitwise identity across mixes and SIMD
// paths), that boolean fields hold, and (--complete) that each record is of the current schema
// with exactly the fields of the runtime's field table. SIMD paths (hk/simd.hpp) of this machine
// and build: --count-per-path K expects N + K x (paths available here) records (runs forced with
// HK_ISA to a path the CPU lacks are skipped, so they leave no record); --each-path POINTER wants
// every available path, and nothing else, among the records' values there; --path P: exit 77
// (CTest's skip) when path P is not available here. --value POINTER TEXT: the string at POINTER
// is TEXT in every record. Prints what differs; exit 0 on success, 1 otherwise.
#include <fmt/format.h>

#include <iostream>
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hk/record.hpp"
#include "hk/simd.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: hk-check-records FILE [--count N] [--status S] [--same /json/pointer]... [--true /ptr]...\n";
    return 2;
  }
  const std::string path = argv[1];
  long want_count = -1, per_path = 0;
  std::string each_path;
  std::string want_status;
  std::vector<std::string> same, truths;
  std::vector<std::pair<std::string, std::string>> values;
  bool pinned_distinct = false, complete = false;
  for (int i = 2; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--pinned-distinct" || flag == "--complete") {
      (flag == "--complete" ? complete : pinned_distinct) = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "hk-check-records: " << flag << " needs a value\n";
      return 2;
    }
    const std::string value = argv[i + 1];
    if (flag == "--count") want_count = std::stol(value);
    else if (flag == "--count-per-path") per_path = std::stol(value);
    else if (flag == "--value" && i + 2 < argc) {
      values.emplace_back(value, argv[i + 2]);
      ++i;  // --value takes two words
    }
    else if (flag == "--each-path") each_path = value;
    else if (flag == "--path") {
      const auto path = hk::simd::parse_path(value);
      const auto available = hk::simd::available_paths();
      if (!path || std::find(available.begin(), available.end(), *path) == available.end()) {
        std::cout << fmt::format("hk-check-records: SIMD path {} not available on this CPU/build: skipped\n", value);
        return 77;
      }
    }
    else if (flag == "--status") want_status = value;
    else if (flag == "--same") same.push_back(value);
    else if (flag == "--true") truths.push_back(value);
    else {
      std::cerr << "hk-check-records: unknown option " << flag << "\n";
      return 2;
    }
  }
  const hk::RecordFile file = hk::read_records(path);
  int failures = 0;
  for (const auto& error : file.errors) {
    std::cerr << error << "\n";
    ++failures;
  }
  std::set<std::string> available;
  for (hk::simd::Path p : hk::simd::available_paths()) available.insert(hk::simd::path_name(p));
  if (want_count >= 0) want_count += per_path * static_cast<long>(available.size());
  if (want_count >= 0 && static_cast<long>(file.records.size()) != want_count) {
    std::cerr << fmt::format("{}: {} records, expected {}\n", path, file.records.size(), want_count);
    ++failures;
  }
  auto mix = [](const nlohmann::json& r) {
    const nlohmann::json::json_pointer isa("/provenance/isa");
    const bool has_isa = r.contains(isa) && r.at(isa).is_string();
    return fmt::format("{} {}x{}{}{}", r.value("variant", "?"), r.value("ranks", 0), r.value("threads", 0),
                       has_isa ? " " : "", has_isa ? r.at(isa).get<std::string>() : std::string());
  };
  for (const auto& record : file.records) {
    if (!want_status.empty() && record.value("status", "") != want_status) {
      std::cerr << fmt::format("{}: status {} (expected {})\n", mix(record), record.value("status", "?"), want_status);
      ++failures;
    }
    if (complete) {
      std::vector<std::string> problems = hk::record_field_problems(record);
      if (record.value("schema", "") != hk::kRecordSchema)
        problems.push_back(fmt::format("schema {} (expected {})", record.value("schema", "?"), hk::kRecordSchema));
      for (const auto& problem : problems) {
        std::cerr << fmt::format("{} [{}]: {}\n", mix(record), record.value("status", "?"), problem);
        ++failures;
      }
    }
    if (pinned_distinct) {
      // Every thread pinned to one CPU of its own, and it ran there.
      std::map<std::string, std::string> owner;
      for (const auto& p : record.at("placement")) {
        const std::string cpus = p.at("allowed_cpus").get<std::string>();
        const std::string where = p.at("host").get<std::string>() + ":" + cpus;
        const std::string who = fmt::format("rank {} thread {}", p.at("rank").get<int>(), p.at("thread").get<int>());
        if (cpus.find_first_of(",-") != std::string::npos || std::to_string(p.at("cpu").get<int>()) != cpus) {
          std::cerr << fmt::format("{}: {} allowed on CPUs {} and ran on {}, expected one CPU of its own\n",
                                   mix(record), who, cpus, p.at("cpu").get<int>());
          ++failures;
        } else if (!owner.emplace(where, who).second) {
          std::cerr << fmt::format("{}: {} and {} share CPU {}\n", mix(record), owner[where], who, where);
          ++failures;
        }
      }
    }
    for (const auto& [pointer, text] : values) {
      const nlohmann::json::json_pointer p(pointer);
      if (!record.contains(p) || record.at(p) != text) {
        std::cerr << fmt::format("{}: {} is {}, expected \"{}\"\n", mix(record), pointer,
                                 record.contains(p) ? record.at(p).dump() : "missing", text);
        ++failures;
      }
    }
    for (const auto& pointer : truths) {
      const nlohmann::json::json_pointer p(pointer);
      if (!record.contains(p) || record.at(p) != true) {
        std::cerr << fmt::format("{}: {} is not true\n", mix(record), pointer);
        ++failures;
      }
    }
  }
  for (const auto& pointer : same) {
    const nlohmann::json::json_pointer p(pointer);
    std::map<std::string, std::vector<std::string>> values;
    for (const auto& record : file.records) values[record.contains(p) ? record.at(p).dump() : "<missing>"].push_back(mix(record));
    if (values.size() > 1) {
      ++failures;
      std::cerr << fmt::format("{} differs across records:\n", pointer);
      for (const auto& [value, mixes] : values) {
        std::cerr << "  " << value << " <-";
        for (const auto& m : mixes) std::cerr << " [" << m << "]";
        std::cerr << "\n";
      }
    } else if (!values.empty()) {
      std::cout << fmt::format("{} identical in all {} records: {}\n", pointer, file.records.size(), values.begin()->first);
    }
  }
  if (!each_path.empty()) {
    const nlohmann::json::json_pointer p(each_path);
    std::set<std::string> seen;
    for (const auto& record : file.records) {
      const std::string value = record.contains(p) && record.at(p).is_string() ? record.at(p).get<std::string>() : "<missing>";
      seen.insert(value);
      if (!available.count(value)) {
        std::cerr << fmt::format("{}: {} is {}, not a SIMD path available here\n", mix(record), each_path, value);
        ++failures;
      }
    }
    for (const auto& path : available)
      if (!seen.count(path)) {
        std::cerr << fmt::format("no record ran SIMD path {} ({})\n", path, each_path);
        ++failures;
      }
  }
  std::cout << fmt::format("hk-check-records: {} record(s), {} failure(s)\n", file.records.size(), failures);
  return failures == 0 ? 0 : 1;
}
