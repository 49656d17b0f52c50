#include "hk/record.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <string_view>

#include "hk/errors.hpp"

namespace hk {

using nlohmann::json;

const std::vector<std::string>& csv_columns() {
  static const std::vector<std::string> columns = {
      "schema", "kernel", "variant", "params", "ranks", "threads", "nodes", "status",
      "time_s.min", "time_s.median", "time_s.max",
      "phases_s.compute", "phases_s.comm", "phases_s.other", "imbalance",
      "rate.value", "rate.unit",
      "memory.rss_max_bytes", "memory.rss_total_bytes", "memory.pss_total_bytes",
      "verification.passed", "verification.method", "verification.error", "verification.tolerance",
      "result", "metrics", "work", "placement",
      "mpi.library", "mpi.thread_level_requested", "mpi.thread_level_provided",
      "provenance.version", "provenance.git_sha", "provenance.compiler", "provenance.flags",
      "provenance.openmp", "provenance.hostname", "provenance.started_at", "provenance.command",
      "warnings", "error"};
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
    const json::json_pointer pointer("/" + [&] {
      std::string path = column;
      for (auto& c : path)
        if (c == '.') c = '/';
      return path;
    }());
    if (!record.contains(pointer)) continue;
    const json& value = record.at(pointer);
    std::string cell;
    if (value.is_string()) cell = value.get<std::string>();
    else if (value.is_null()) cell = "";
    else cell = value.dump();  // numbers keep round-trip precision; objects/lists become JSON
    line += csv_escape(cell);
  }
  return line;
}

namespace {

[[noreturn]] void io_failure(const std::string& what, const std::string& path, int error) {
  throw RuntimeError(fmt::format("cannot {} '{}': {}", what, path, std::strerror(error)));
}

// Closes the descriptor on every path out of append_line_with_header.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) close(fd);
  }
};

void write_all(int fd, const std::string& data, const std::string& path, off_t rollback_to) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      // Never leave half a line behind (disk full, file-size limit): cut back to where we began.
      if (ftruncate(fd, rollback_to) != 0) { /* the reader still skips a partial last line */ }
      io_failure("append to", path, error);
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

void append_line_with_header(const std::string& path, const std::string& header, const std::string& line) {
  // SIGXFSZ would kill us on a file-size limit; we want EFBIG and a clear message instead.
  std::signal(SIGXFSZ, SIG_IGN);
  FileDescriptor file{open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)};
  if (file.fd < 0) io_failure("open", path, errno);
  while (flock(file.fd, LOCK_EX) != 0) {
    if (errno != EINTR) io_failure("lock", path, errno);
  }
  struct stat info{};
  if (fstat(file.fd, &info) != 0) io_failure("stat", path, errno);
  std::string data;
  if (!header.empty() && info.st_size == 0) data = header + "\n";
  data += line;
  data += '\n';
  write_all(file.fd, data, path, info.st_size);
  if (fsync(file.fd) != 0 && errno != EINVAL) io_failure("flush", path, errno);
  flock(file.fd, LOCK_UN);
}

void append_line(const std::string& path, const std::string& line) { append_line_with_header(path, "", line); }

void append_record_jsonl(const std::string& path, const json& record) { append_line(path, record.dump()); }

void append_record_csv(const std::string& path, const json& record) {
  append_line_with_header(path, csv_header(), csv_row(record));
}

std::string csv_path_for(const std::string& jsonl_path) {
  const std::string suffix = ".jsonl";
  if (jsonl_path.size() > suffix.size() &&
      jsonl_path.compare(jsonl_path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return jsonl_path.substr(0, jsonl_path.size() - suffix.size()) + ".csv";
  return jsonl_path + ".csv";
}

RecordFile read_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    RecordFile file;
    file.errors.push_back(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    return file;
  }
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_records(content, path);
}

RecordFile parse_records(const std::string& content, const std::string& name) {
  RecordFile file;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < content.size()) {
    ++line_number;
    const std::size_t end = content.find('\n', start);
    if (end == std::string::npos) {
      file.errors.push_back(fmt::format("{}:{}: partial last line (no newline), skipped", name, line_number));
      break;
    }
    const std::string_view line(content.data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) {
      file.errors.push_back(fmt::format("{}:{}: not a JSON object, skipped", name, line_number));
      continue;
    }
    file.records.push_back(std::move(record));
  }
  return file;
}

std::string double_bits_hex(double value) {
  std::uint64_t bits = 0;
  static_assert(sizeof(bits) == sizeof(value));
  std::memcpy(&bits, &value, sizeof(bits));
  return fmt::format("0x{:016x}", bits);
}

}  // namespace hk
