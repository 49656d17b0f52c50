// Descriptors are per process: a thread that closes one closes it for every thread of its
// process (and the number is handed out again), a forked child closing its copy leaves the
// parent's open.
#include "descriptors.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "hk/errors.hpp"
#include "probe.hpp"

namespace hk::probe {

namespace {

constexpr char kPayload[] = "first 8.second8";  // 16 bytes with the terminator: two reads of 8

// Two threads taking turns: each waits for the step number the other one sets.
class Steps {
 public:
  void advance_to(int step) {
    {
      std::lock_guard lock(mutex_);
      step_ = step;
    }
    changed_.notify_all();
  }
  void wait_for(int step) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return step_ >= step; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int step_ = 0;
};

void make_pipe(int fds[2]) {
  if (pipe(fds) != 0) throw RuntimeError(fmt::format("pipe failed: {}", std::strerror(errno)));
  if (write(fds[1], kPayload, sizeof kPayload) != static_cast<ssize_t>(sizeof kPayload))
    throw RuntimeError(fmt::format("writing into a pipe failed: {}", std::strerror(errno)));
}

long read_some(int fd, int* error) {
  char buffer[sizeof kPayload / 2];
  ssize_t n = 0;
  do n = read(fd, buffer, sizeof buffer);
  while (n < 0 && errno == EINTR);
  if (n < 0 && error) *error = errno;
  return static_cast<long>(n);
}

// The reader reads 8 of the 16 bytes; the closer closes the read end; the reader reads again
// (8 bytes are still in the pipe); the closer makes a descriptor from that number on; the
// reader reads the number a third time.
void thread_side(DescriptorOutcome& out) {
  int fds[2];
  make_pipe(fds);
  out.closed_number = fds[0];
  Steps steps;
  std::thread reader([&] {
    out.first_read_bytes = read_some(fds[0], nullptr);
    steps.advance_to(1);
    steps.wait_for(2);
    out.read_after_close = read_some(fds[0], &out.read_after_close_errno);
    steps.advance_to(3);
    steps.wait_for(4);
    out.read_after_reuse = read_some(fds[0], nullptr);
    steps.advance_to(5);
  });
  steps.wait_for(1);
  close(fds[0]);
  steps.advance_to(2);
  steps.wait_for(3);
  // A new descriptor gets the lowest free number: the closed one, unless a lower one is free too;
  // then F_DUPFD, which returns the lowest free number at or above the one asked for, shows it.
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int reused =
      devnull < 0 || devnull == out.closed_number ? devnull : fcntl(devnull, F_DUPFD_CLOEXEC, out.closed_number);
  out.number_reused = reused == out.closed_number;
  steps.advance_to(4);
  steps.wait_for(5);
  reader.join();
  for (const int fd : {devnull == reused ? -1 : devnull, reused, fds[1]})
    if (fd >= 0) close(fd);
}

void process_side(DescriptorOutcome& out) {
  int fds[2];
  make_pipe(fds);
  const pid_t child = fork();
  if (child < 0) throw RuntimeError(fmt::format("fork failed: {}", std::strerror(errno)));
  if (child == 0) _exit(close(fds[0]) == 0 ? 0 : 1);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  out.child_closed_its_copy = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  out.parent_read_after_child_close = read_some(fds[0], nullptr);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace

DescriptorOutcome probe_descriptors() {
  DescriptorOutcome out;
  out.payload_bytes = sizeof kPayload;
  thread_side(out);
  process_side(out);
  out.measured = true;
  return out;
}

std::vector<std::string> check_descriptors(const DescriptorOutcome& d) {
  std::vector<std::string> failures;
  if (!d.measured) return failures;
  const long half = d.payload_bytes / 2;
  if (d.first_read_bytes != half)
    failures.push_back(fmt::format("descriptors: the reader's first read got {} B instead of {}", d.first_read_bytes, half));
  if (d.read_after_close != -1 || d.read_after_close_errno != EBADF)
    failures.push_back(fmt::format("descriptors: a read after another thread closed the descriptor returned {} ({}) "
                                   "instead of failing with EBADF",
                                   d.read_after_close, std::strerror(d.read_after_close_errno)));
  if (!d.number_reused)
    failures.push_back(fmt::format("descriptors: number {} was not free for reuse after the close", d.closed_number));
  if (!d.child_closed_its_copy) failures.push_back("descriptors: the forked child could not close its copy");
  if (d.parent_read_after_child_close != half)
    failures.push_back(fmt::format("descriptors: after the child closed its copy the parent read {} B instead of {}",
                                   d.parent_read_after_child_close, half));
  return failures;
}

Row descriptor_row(const DescriptorOutcome& d) {
  Row row{"Descriptor closed by another worker", "", "", "-", ""};
  if (!d.measured) {
    row.process = row.thread = "not measured";
    row.verdict = "not measured";
    return row;
  }
  row.process = d.child_closed_its_copy
                    ? fmt::format("child closed its copy; parent's next read got {} B", d.parent_read_after_child_close)
                    : "child could NOT close its copy";
  const std::string after = d.read_after_close < 0 ? std::string("-1 ") + strerrorname_np(d.read_after_close_errno)
                                                   : fmt::format("{} B", d.read_after_close);
  row.thread = fmt::format("other thread's next read: {}; fd {} {}", after, d.closed_number,
                           d.number_reused ? fmt::format("reused, read {} B of /dev/null", d.read_after_reuse)
                                           : "NOT reused");
  row.verdict = check_descriptors(d).empty()
                    ? "one descriptor table per process: a thread's close closes it for all; a child has copies"
                    : "NOT as claimed: see the failed checks";
  return row;
}

nlohmann::json descriptors_json(const DescriptorOutcome& d) {
  auto bytes = [](long value) { return nlohmann::json{{"value", value}, {"unit", "B"}}; };
  return {{"measured", d.measured},
          {"payload", bytes(d.payload_bytes)},
          {"thread",
           {{"first_read", bytes(d.first_read_bytes)},
            {"read_after_other_thread_closed", d.read_after_close},
            {"read_after_other_thread_closed_errno",
             d.read_after_close_errno ? strerrorname_np(d.read_after_close_errno) : ""},
            {"descriptor_number", d.closed_number},
            {"number_reused", d.number_reused},
            {"read_after_number_reused", bytes(d.read_after_reuse)}}},
          {"process",
           {{"child_closed_its_copy", d.child_closed_its_copy},
            {"parent_read_after_child_closed", bytes(d.parent_read_after_child_close)}}}};
}

}  // namespace hk::probe
