// Fuzz target: the JSONL record reader used by resume, plots and checks. Any bytes must give
// records and per-line errors, never a crash; every line is accounted for.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "hk/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string content(reinterpret_cast<const char*>(data), size);
  const hk::RecordFile file = hk::parse_records(content, "fuzz");
  std::size_t lines = 0;
  for (char c : content) lines += (c == '\n');
  if (!content.empty() && content.back() != '\n') ++lines;
  if (file.records.size() + file.errors.size() > lines) std::abort();
  for (const auto& record : file.records) {
    if (!record.is_object()) std::abort();
    (void)hk::csv_row(record);  // flattening any object must work too
  }
  return 0;
}
