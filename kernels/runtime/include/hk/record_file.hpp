#pragma once
// Appending lines to record files (JSONL, CSV, state files) so that no reader ever sees half a
// line and no writer loses what is there, and reading them back.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hk {

// Append one complete line to `path` under an exclusive flock, with one write and an fsync:
// a reader never sees half a line, and a killed run never loses records already written.
// A torn last line left by a writer killed inside its write (no final newline) is cut off first,
// under the same lock. Throws RuntimeError naming the file and errno text (ENOSPC, EFBIG, EACCES ...).
// Returns the bytes of a torn tail removed (0 almost always).
std::size_t append_line(const std::string& path, const std::string& line);
// Same, but writes `header` first when the file is empty (checked under the lock).
std::size_t append_line_with_header(const std::string& path, const std::string& header, const std::string& line);

// Why a line could not be appended to `path` now, or "" when it could: an existing regular file
// this process may write, or a file not there yet whose directory exists and may be written
// (followed through links, dangling ones included). Creates and changes nothing. Run before the
// work, so that a run does not compute for minutes and then lose its record.
std::string append_problem(const std::string& path);

// Cuts `path` back to its last complete line (under the appenders' lock). Returns the bytes
// removed; a missing file is left alone.
std::size_t repair_partial_tail(const std::string& path);

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
// Every reader reports what it skipped: "PROGRAM: WARNING: runs.jsonl:3: not a JSON object,
// skipped", one write per line, on stderr.
void warn_about_skipped_lines(const RecordFile& file, const std::string& program);

}  // namespace hk
