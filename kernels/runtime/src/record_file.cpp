#include "hk/record_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <string_view>

#include "hk/errors.hpp"

namespace hk {

using nlohmann::json;

namespace {

[[noreturn]] void io_failure(const std::string& what, const std::string& path, int error) {
  throw RuntimeError(fmt::format("cannot {} '{}': {}", what, path, std::strerror(error)));
}

// An open file held under an exclusive flock; both released on every path out.
class LockedFile {
 public:
  // Opened for reading too (to find a torn tail); write-only when reading is not allowed.
  LockedFile(const std::string& path, int flags) : fd_(open(path.c_str(), flags | O_RDWR | O_CLOEXEC, 0644)) {
    if (fd_ < 0 && errno == EACCES) fd_ = open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, 0644);
    if (fd_ < 0) return;
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int error = errno;
        close(fd_);
        io_failure("lock", path, error);
      }
    }
  }
  ~LockedFile() {
    if (fd_ >= 0) {
      flock(fd_, LOCK_UN);
      close(fd_);
    }
  }
  LockedFile(const LockedFile&) = delete;
  LockedFile& operator=(const LockedFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

off_t file_size(int fd, const std::string& path) {
  struct stat info {};
  if (fstat(fd, &info) != 0) io_failure("stat", path, errno);
  return info.st_size;
}

// Offset just past the last newline of the first `size` bytes (0 if there is none).
off_t end_of_last_line(int fd, off_t size) {
  char buffer[4096];
  for (off_t end = size; end > 0;) {
    const off_t begin = end > static_cast<off_t>(sizeof buffer) ? end - static_cast<off_t>(sizeof buffer) : 0;
    const ssize_t n = pread(fd, buffer, static_cast<std::size_t>(end - begin), begin);
    if (n <= 0) return size;  // unreadable (a FIFO, a device): leave it as it is
    for (ssize_t i = n - 1; i >= 0; --i)
      if (buffer[i] == '\n') return begin + i + 1;
    end = begin;
  }
  return 0;
}

// Under the lock: cuts a torn last line (no final newline) off a regular file. Returns the new size.
off_t cut_torn_tail(int fd, const std::string& path, std::size_t& removed) {
  const off_t size = file_size(fd, path);
  removed = 0;
  struct stat info {};
  if (size == 0 || fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) return size;
  const off_t keep = end_of_last_line(fd, size);
  if (keep >= size) return size;
  if (ftruncate(fd, keep) != 0) io_failure("repair the torn last line of", path, errno);
  removed = static_cast<std::size_t>(size - keep);
  return keep;
}

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

std::size_t append_line_with_header(const std::string& path, const std::string& header, const std::string& line) {
  // SIGXFSZ would kill us on a file-size limit; we want EFBIG and a clear message instead.
  std::signal(SIGXFSZ, SIG_IGN);
  LockedFile file(path, O_CREAT | O_APPEND);
  if (file.fd() < 0) io_failure("open", path, errno);
  std::size_t removed = 0;
  const off_t size = cut_torn_tail(file.fd(), path, removed);
  std::string data;
  if (!header.empty() && size == 0) data = header + "\n";
  data += line;
  data += '\n';
  write_all(file.fd(), data, path, size);
  if (fsync(file.fd()) != 0 && errno != EINVAL) io_failure("flush", path, errno);
  return removed;
}

std::size_t append_line(const std::string& path, const std::string& line) {
  return append_line_with_header(path, "", line);
}

namespace {

// Where a file at `path` would be created: the target of a (dangling) link, followed.
std::filesystem::path creation_target(std::filesystem::path path) {
  std::error_code error;
  for (int depth = 0; depth < 40 && std::filesystem::is_symlink(std::filesystem::symlink_status(path, error)); ++depth) {
    const std::filesystem::path target = std::filesystem::read_symlink(path, error);
    if (error) break;
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  return path;
}

std::string existing_file_problem(const std::string& path, const struct stat& info) {
  if (S_ISDIR(info.st_mode)) return "it is a directory";
  if (!S_ISREG(info.st_mode)) return "it is not a regular file (a device, a pipe or a socket)";
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  close(fd);
  return "";
}

}  // namespace

std::string append_problem(const std::string& path) {
  if (path.empty()) return "empty file name";
  struct stat info {};
  if (stat(path.c_str(), &info) == 0) return existing_file_problem(path, info);
  if (errno != ENOENT) return std::strerror(errno);
  std::string dir = creation_target(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (stat(dir.c_str(), &info) != 0)
    return fmt::format("the directory '{}' cannot be used: {}", dir, std::strerror(errno));
  if (!S_ISDIR(info.st_mode)) return fmt::format("'{}' is not a directory", dir);
  if (access(dir.c_str(), W_OK | X_OK) != 0)
    return fmt::format("the directory '{}' is not writable: {}", dir, std::strerror(errno));
  return "";
}

std::size_t repair_partial_tail(const std::string& path) {
  LockedFile file(path, 0);
  if (file.fd() < 0) return 0;  // no file yet: nothing to repair
  std::size_t removed = 0;
  cut_torn_tail(file.fd(), path, removed);
  if (removed > 0) fsync(file.fd());
  return removed;
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

void warn_about_skipped_lines(const RecordFile& file, const std::string& program) {
  for (const auto& error : file.errors) {
    const std::string line = fmt::format("{}: WARNING: {}\n", program, error);
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

}  // namespace hk
