// The measurements that need no MPI: creation, memory, thread communication, switching,
// fault isolation and shared state. Process and thread variants share their loop bodies.
#include <fmt/format.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "hk/errors.hpp"
#include "hk/system.hpp"
#include "probe.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

extern char** environ;

namespace hk::probe {

namespace {

constexpr int kWarmup = 3;            // untimed trials before every timed series
constexpr double kSeriesBudget = 3.0;  // seconds one timed series may take
constexpr double kMicro = 1e6;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Spin until `ready()`; after many spins yield, so an oversubscribed core still makes progress.
template <typename Ready>
void spin_until(Ready ready) {
  for (int spins = 0; !ready(); ++spins) {
    if (spins < 4096) cpu_relax();
    else std::this_thread::yield();
  }
}

int wait_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw RuntimeError(fmt::format("waitpid failed: {}", std::strerror(errno)));
  }
  return status;
}

std::string status_text(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

void make_pipe(int fds[2]) {
  if (pipe(fds) != 0) throw RuntimeError(fmt::format("pipe failed: {}", std::strerror(errno)));
}

pid_t checked_fork() {
  const pid_t pid = fork();
  if (pid < 0) throw RuntimeError(fmt::format("fork failed: {}", std::strerror(errno)));
  return pid;
}

bool write_all(int fd, const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = write(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t bytes) {
  char* p = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t n = read(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
  return true;
}

// Times `warmup + trials` calls of `trial` (each returns the seconds it measured) and keeps the
// timed ones. A loaded machine can make a trial thousands of times slower (a spinning partner
// without a core of its own), so a series stops at its time budget once three trials are in;
// the figure records how many trials its median is over.
template <typename Trial>
std::vector<double> trials_of(int trials, Trial trial) {
  std::vector<double> seconds;
  const double start = monotonic_seconds();
  for (int i = 0; i < kWarmup + trials; ++i) {
    const double t = trial();
    if (i >= kWarmup) seconds.push_back(t);
    if (seconds.size() >= 3 && monotonic_seconds() - start > kSeriesBudget) break;
  }
  return seconds;
}

Figure micro(const std::vector<double>& seconds, std::string what) {
  return {median(seconds) * kMicro, "us", std::move(what), static_cast<int>(seconds.size())};
}

// A null dereference the compiler cannot remove or turn into something else: the pointer is
// read through a volatile, the store is volatile. Core dumps are off so nothing is written.
// Not instrumented: under the asan preset UBSan would report the (deliberate) null store and
// exit instead of letting the kernel deliver SIGSEGV, which is what this probe measures.
[[noreturn]] __attribute__((no_sanitize("address", "undefined"))) void dereference_null() {
  signal(SIGSEGV, SIG_DFL);  // a sanitizer's handler would turn the signal into an exit status
  prctl(PR_SET_DUMPABLE, 0);
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  volatile int* volatile target = nullptr;
  *target = 42;
  _exit(99);  // not reached
}

void sleep_seconds(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

// The pipe ping-pong both switching variants run: the initiator sends a token and waits for it
// to come back incremented; the partner echoes. Returns seconds per trial of `rounds` round trips.
std::vector<double> pipe_initiator(int to_partner, int from_partner, int rounds, int trials) {
  std::uint64_t token = 0;
  return trials_of(trials, [&] {
    const double t0 = monotonic_seconds();
    for (int i = 0; i < rounds; ++i) {
      const std::uint64_t sent = token;
      if (!write_all(to_partner, &sent, sizeof sent) || !read_all(from_partner, &token, sizeof token) ||
          token != sent + 1)
        throw RuntimeError("pipe ping-pong: token lost or wrong");
    }
    return monotonic_seconds() - t0;
  });
}

void pipe_partner(int from_initiator, int to_initiator, long total_rounds) {
  for (long i = 0; i < total_rounds; ++i) {
    std::uint64_t token = 0;
    if (!read_all(from_initiator, &token, sizeof token)) return;
    ++token;
    if (!write_all(to_initiator, &token, sizeof token)) return;
  }
}

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    throw RuntimeError(fmt::format("sched_setaffinity to CPU {} failed: {}", cpu, std::strerror(errno)));
}

// A counter incremented by several workers. The increment is a load and a store as two
// separate relaxed atomic operations: exactly what `counter = counter + 1` does on a plain
// variable, so updates really get lost, but without a data race the compiler could exploit.
void racy_increment(std::atomic<std::int64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// The global each forked process increments: every process has its own copy.
volatile std::int64_t g_process_counter = 0;

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double monotonic_seconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // one clock for every process of the node
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

std::uint64_t private_bytes_from_smaps(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::uint64_t kib = 0;
  while (std::getline(in, line)) {
    if (line.rfind("Private_Clean:", 0) == 0 || line.rfind("Private_Dirty:", 0) == 0 ||
        line.rfind("Private_Hugetlb:", 0) == 0) {
      std::istringstream fields(line.substr(line.find(':') + 1));
      std::uint64_t value = 0;
      fields >> value;
      kib += value;
    }
  }
  return kib * 1024;
}

std::uint64_t private_bytes(pid_t pid) {
  for (const char* name : {"smaps_rollup", "smaps"}) {
    std::ifstream in(fmt::format("/proc/{}/{}", pid, name));
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    return private_bytes_from_smaps(text.str());
  }
  throw RuntimeError(fmt::format("cannot read /proc/{}/smaps_rollup or smaps", pid));
}

std::uint64_t self_status_bytes(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream fields(line.substr(key.size() + 1));
      std::uint64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

std::vector<double> run_in_child(const std::string& what, const std::function<std::vector<double>()>& body) {
  int fds[2];
  make_pipe(fds);
  const pid_t pid = checked_fork();
  if (pid == 0) {
    close(fds[0]);
    int code = 0;
    try {
      const std::vector<double> values = body();
      const std::uint64_t count = values.size();
      if (!write_all(fds[1], &count, sizeof count) ||
          !write_all(fds[1], values.data(), values.size() * sizeof(double)))
        code = kExitRuntime;
    } catch (const std::exception& e) {
      const std::string message = fmt::format("hk probe: {}: {}\n", what, e.what());
      write_all(STDERR_FILENO, message.data(), message.size());
      code = kExitRuntime;
    }
    _exit(code);
  }
  close(fds[1]);
  std::uint64_t count = 0;
  std::vector<double> values;
  bool complete = read_all(fds[0], &count, sizeof count);
  if (complete) {
    values.resize(count);
    complete = read_all(fds[0], values.data(), count * sizeof(double));
  }
  close(fds[0]);
  const int status = wait_child(pid);
  if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw RuntimeError(fmt::format("the child measuring {} failed ({})", what, status_text(status)));
  return values;
}

std::string helper_path(const Settings& s, const std::string& name) {
  if (!s.helper_dir.empty()) return s.helper_dir + "/" + name;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string path(self, static_cast<std::size_t>(n));
    path = path.substr(0, path.find_last_of('/') + 1) + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return name;
}

// ---------------------------------------------------------------------------------------
void measure_creation(const Settings& s, Results& r) {
  // fork + waitpid: the child exits at once, so this is the cost of copying this process's
  // page tables and descriptors, creating the task, and reaping it.
  r.figures["creation.fork_waitpid"] = micro(
      trials_of(s.trials,
                [] {
                  const double t0 = monotonic_seconds();
                  const pid_t pid = checked_fork();
                  if (pid == 0) _exit(0);
                  const int status = wait_child(pid);
                  const double t1 = monotonic_seconds();
                  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                    throw RuntimeError("fork: child did not exit 0: " + status_text(status));
                  return t1 - t0;
                }),
      "fork() + waitpid() of a child that exits at once");
  r.figures["creation.forking_process_rss"] = {static_cast<double>(current_rss_bytes()) / 1024, "KiB",
                                               "resident memory of the process that forks (fork copies its page tables)",
                                               1};

  // posix_spawn of a trivial program + wait: fork/exec, the dynamic loader, exit.
  const std::string trivial = helper_path(s, "hk-probe-true");
  try {
    r.figures["creation.posix_spawn_wait"] = micro(
        trials_of(s.trials,
                  [&] {
                    char* argv[] = {const_cast<char*>(trivial.c_str()), nullptr};
                    pid_t pid = 0;
                    const double t0 = monotonic_seconds();
                    const int error = trivial.find('/') == std::string::npos
                                          ? posix_spawnp(&pid, trivial.c_str(), nullptr, nullptr, argv, environ)
                                          : posix_spawn(&pid, trivial.c_str(), nullptr, nullptr, argv, environ);
                    if (error != 0)
                      throw RuntimeError(fmt::format("cannot start '{}': {}", trivial, std::strerror(error)));
                    const int status = wait_child(pid);
                    const double t1 = monotonic_seconds();
                    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                      throw RuntimeError(fmt::format("'{}' did not exit 0: {}", trivial, status_text(status)));
                    return t1 - t0;
                  }),
        "posix_spawn() of a trivial program (hk-probe-true) + waitpid()");
  } catch (const RuntimeError& e) {
    r.unavailable["creation.posix_spawn_wait"] = e.what();
  }

  // std::thread create + join of a thread that only marks that it ran.
  std::atomic<int> ran{0};
  int created = 0;
  const std::vector<double> thread_times = trials_of(s.trials, [&] {
    ++created;
    const double t0 = monotonic_seconds();
    std::thread worker([&] { ran.fetch_add(1, std::memory_order_relaxed); });
    worker.join();
    return monotonic_seconds() - t0;
  });
  if (ran.load() != created) throw RuntimeError("std::thread: a created thread did not run");
  r.figures["creation.thread_create_join"] = micro(thread_times, "std::thread create + join of a thread that exits at once");

  // Entry into a warm OpenMP parallel region: the pool exists, so this is wake-up + barrier.
  const int width = s.threads;
  constexpr int kRegionsPerTrial = 64;
  struct alignas(64) Count {
    long n = 0;
  };
  std::vector<Count> entered(static_cast<std::size_t>(width));
  int actual_width = 0;
  long regions = 0;
  const std::vector<double> region_times = trials_of(s.trials, [&] {
    regions += kRegionsPerTrial;
    const double t0 = monotonic_seconds();
    for (int i = 0; i < kRegionsPerTrial; ++i) {
#pragma omp parallel num_threads(width)
      {
        entered[static_cast<std::size_t>(omp_get_thread_num())].n++;
        if (omp_get_thread_num() == 0) actual_width = omp_get_num_threads();
      }
    }
    return (monotonic_seconds() - t0) / kRegionsPerTrial;
  });
  long total = 0;
  for (const Count& c : entered) total += c.n;
  if (total != static_cast<long>(actual_width) * regions)
    throw RuntimeError("OpenMP: not every thread entered every parallel region");
  r.figures["creation.omp_region_entry"] =
      micro(region_times, fmt::format("entry into a warm OpenMP parallel region of {} threads (+ its closing barrier)",
                                      actual_width));
}

// ---------------------------------------------------------------------------------------
void measure_memory(const Settings& s, Results& r) {
  // One more idle thread: resident memory and address space it adds, and its reserved stack.
  // Measured in a fresh child so this process's history does not blur the deltas.
  const int n = s.idle_threads;
  const std::vector<double> idle = run_in_child("idle threads", [n] {
    // The reserved stack is read in a thread of its own before the baseline: pthread_getattr_np
    // allocates, and a thread's first allocation reserves a malloc arena, which is not the thread's cost.
    std::size_t stack_bytes = 0;
    std::thread([&] {
      pthread_attr_t attributes;
      if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
        pthread_attr_getstacksize(&attributes, &stack_bytes);
        pthread_attr_destroy(&attributes);
      }
    }).join();
    std::mutex mutex;
    std::condition_variable wake;
    bool release = false;
    std::atomic<int> started{0};
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(n));
    const double rss0 = static_cast<double>(self_status_bytes("VmRSS"));
    const double size0 = static_cast<double>(self_status_bytes("VmSize"));
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&] {  // idle: no allocation, just wait
        started.fetch_add(1);
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return release; });
      });
    }
    spin_until([&] { return started.load() == n; });
    const double rss1 = static_cast<double>(self_status_bytes("VmRSS"));
    const double size1 = static_cast<double>(self_status_bytes("VmSize"));
    {
      std::lock_guard lock(mutex);
      release = true;
    }
    wake.notify_all();
    for (auto& t : threads) t.join();
    return std::vector<double>{(rss1 - rss0) / n, (size1 - size0) / n, static_cast<double>(stack_bytes)};
  });
  r.figures["memory.thread_rss_per_idle_thread"] = {
      idle[0] / 1024, "KiB", fmt::format("VmRSS added per idle thread ({} threads blocked on a condition variable)", n), 1};
  r.figures["memory.thread_address_space_per_thread"] = {
      idle[1] / 1024, "KiB", fmt::format("VmSize added per idle thread (stack + guard), {} threads", n), 1};
  r.figures["memory.thread_stack_reserved"] = {idle[2] / 1024, "KiB",
                                               "stack size a new thread reserves (pthread_getattr_np)", 1};

  // A worker that writes a working set this process already holds: a forked child gets private
  // copies of every page it writes (copy-on-write); a thread writes the same pages.
  const std::size_t bytes = static_cast<std::size_t>(s.working_set_mib) << 20;
  const std::vector<double> ws = run_in_child("working set", [bytes] {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    std::unique_ptr<unsigned char[]> working_set(new unsigned char[bytes]);
    std::memset(working_set.get(), 1, bytes);  // resident and private to this process
    auto write_every_page = [&] {
      for (std::size_t i = 0; i < bytes; i += page) working_set[i] = static_cast<unsigned char>(working_set[i] + 1);
    };
    auto every_page_holds = [&](unsigned char value) {
      for (std::size_t i = 0; i < bytes; i += page)
        if (working_set[i] != value) return false;
      return true;
    };
    // Thread: the private memory of the whole process before and after a new thread writes.
    const double before_thread = static_cast<double>(private_bytes(getpid()));
    std::thread writer(write_every_page);
    writer.join();
    const double thread_added = static_cast<double>(private_bytes(getpid())) - before_thread;
    const bool thread_writes_seen = every_page_holds(2);

    // Process: the child's private memory right after fork and after it wrote every page.
    int ready[2], go[2];
    make_pipe(ready);
    make_pipe(go);
    const pid_t child = checked_fork();
    if (child == 0) {
      char token = 0;
      write_all(ready[1], "r", 1);
      read_all(go[0], &token, 1);
      write_every_page();
      write_all(ready[1], "w", 1);
      read_all(go[0], &token, 1);
      _exit(0);
    }
    char token = 0;
    read_all(ready[0], &token, 1);
    const double after_fork = static_cast<double>(private_bytes(child));
    write_all(go[1], "g", 1);
    read_all(ready[0], &token, 1);
    const double after_write = static_cast<double>(private_bytes(child));
    write_all(go[1], "g", 1);
    const int status = wait_child(child);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw RuntimeError("working-set child: " + status_text(status));
    const bool child_writes_seen = !every_page_holds(2);
    return std::vector<double>{thread_added, after_fork, after_write, thread_writes_seen ? 1.0 : 0.0,
                               child_writes_seen ? 1.0 : 0.0};
  });
  const std::string set = fmt::format("{} MiB", s.working_set_mib);
  r.figures["memory.thread_private_added_writing_set"] = {
      ws[0] / 1024, "KiB", "private memory the process gains when a new thread writes every page of the " + set + " set", 1};
  r.figures["memory.fork_child_private_after_fork"] = {
      ws[1] / 1024, "KiB", "private memory of a forked child right after fork (pages still shared copy-on-write)", 1};
  r.figures["memory.fork_child_private_after_write"] = {
      ws[2] / 1024, "KiB", "private memory of a forked child after it wrote every page of the parent's " + set + " set", 1};
  r.figures["memory.working_set"] = {static_cast<double>(bytes) / 1024, "KiB", "working set written by the worker", 1};
  r.thread_writes_seen_by_parent = ws[3] != 0;
  r.child_writes_seen_by_parent = ws[4] != 0;
}

// ---------------------------------------------------------------------------------------
void measure_thread_communication(const Settings& s, Results& r) {
  // Hand-off of an 8-byte payload through a shared atomic flag: the thread analogue of an 8 B
  // ping-pong. One round trip = two hand-offs; we report one hand-off (half a round trip).
  struct alignas(64) Mailbox {
    std::atomic<std::uint64_t> turn{0};
    std::uint64_t payload = 0;
  } box;
  const int rounds = std::max(10, s.round_trips * 10);
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    for (std::uint64_t mine = 1;; mine += 2) {
      spin_until([&] { return box.turn.load(std::memory_order_acquire) == mine || stop.load(std::memory_order_relaxed); });
      if (box.turn.load(std::memory_order_acquire) != mine) return;  // stopped
      box.payload += 1;
      box.turn.store(mine + 1, std::memory_order_release);
    }
  });
  std::uint64_t turn = 0;
  long wrong = 0;
  const std::vector<double> handoff = trials_of(s.trials, [&] {
    const double t0 = monotonic_seconds();
    for (int i = 0; i < rounds; ++i) {
      const std::uint64_t sent = turn * 7 + 3;
      box.payload = sent;
      box.turn.store(turn + 1, std::memory_order_release);
      spin_until([&] { return box.turn.load(std::memory_order_acquire) == turn + 2; });
      if (box.payload != sent + 1) ++wrong;
      turn += 2;
    }
    return (monotonic_seconds() - t0) / (2.0 * rounds);
  });
  stop.store(true);
  partner.join();
  if (wrong != 0) throw RuntimeError(fmt::format("atomic hand-off: {} payloads came back wrong", wrong));
  r.figures["communication.thread_handoff_8B"] =
      micro(handoff, fmt::format("one hand-off of 8 B between two threads through an atomic flag ({} round trips per trial)",
                                 rounds));

  // memcpy bandwidth: what moving the bytes costs a thread when it copies at all.
  for (const std::size_t mib : {std::size_t{1}, std::size_t{16}}) {
    const std::size_t bytes = mib << 20;
    std::vector<unsigned char> source(bytes), target(bytes, 0);
    for (std::size_t i = 0; i < bytes; ++i) source[i] = static_cast<unsigned char>(i * 131 + 7);
    const int copies = mib == 1 ? 64 : 4;
    const std::vector<double> seconds = trials_of(s.trials, [&] {
      const double t0 = monotonic_seconds();
      for (int c = 0; c < copies; ++c) {
        std::memcpy(target.data(), source.data(), bytes);
        asm volatile("" : : "r"(target.data()) : "memory");  // every copy happens
      }
      return (monotonic_seconds() - t0) / copies;
    });
    if (std::memcmp(source.data(), target.data(), bytes) != 0) throw RuntimeError("memcpy: copy differs from source");
    r.figures[fmt::format("communication.memcpy_{}MiB", mib)] = {
        static_cast<double>(bytes) / median(seconds) / 1e9, "GB/s",
        fmt::format("memcpy of {} MiB within one process (bytes copied / time, 1 GB = 1e9 B)", mib),
        static_cast<int>(seconds.size())};
  }
}

// ---------------------------------------------------------------------------------------
void measure_switching(const Settings& s, Results& r) {
  // Both variants run on one CPU, so every hand-off of the token is a context switch.
  const std::vector<int> cpus = allowed_cpus();
  const int cpu = cpus.empty() ? 0 : cpus.front();
  const int rounds = s.switch_rounds;
  const long total_rounds = static_cast<long>(rounds) * (kWarmup + s.trials);
  auto per_switch = [rounds](const std::vector<double>& trial_seconds) {
    std::vector<double> out;
    for (double t : trial_seconds) out.push_back(t / (2.0 * rounds));
    return out;
  };

  const std::vector<double> processes = run_in_child("switching between processes", [&] {
    pin_to_cpu(cpu);
    int there[2], back[2];
    make_pipe(there);
    make_pipe(back);
    const pid_t partner = checked_fork();
    if (partner == 0) {
      close(there[1]);  // so that the initiator closing its end is seen as the end
      close(back[0]);
      pipe_partner(there[0], back[1], total_rounds);
      _exit(0);
    }
    const std::vector<double> seconds = pipe_initiator(there[1], back[0], rounds, s.trials);
    close(there[1]);  // the series may stop early (time budget): the partner reads the end
    const int status = wait_child(partner);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw RuntimeError("pipe partner: " + status_text(status));
    return per_switch(seconds);
  });
  const std::vector<double> threads = run_in_child("switching between threads", [&] {
    pin_to_cpu(cpu);
    int there[2], back[2];
    make_pipe(there);
    make_pipe(back);
    std::thread partner(pipe_partner, there[0], back[1], total_rounds);
    const std::vector<double> seconds = pipe_initiator(there[1], back[0], rounds, s.trials);
    close(there[1]);
    partner.join();
    return per_switch(seconds);
  });
  const std::string how = fmt::format("token passed through two pipes, both on CPU {} ({} round trips per trial)", cpu,
                                      rounds);
  r.figures["switching.processes"] = micro(processes, "one switch between two processes: " + how);
  r.figures["switching.threads"] = micro(threads, "one switch between two threads of one process: " + how);
}

// ---------------------------------------------------------------------------------------
FaultOutcome probe_fault_isolation() {
  FaultOutcome out;
  constexpr double kSiblingWork = 0.2;  // seconds the healthy worker needs; the fault comes first

  // Processes: a healthy child works while its sibling dereferences null.
  {
    int report[2];
    make_pipe(report);
    const pid_t sibling = checked_fork();
    if (sibling == 0) {
      close(report[0]);
      write_all(report[1], "s", 1);
      sleep_seconds(kSiblingWork);
      write_all(report[1], "f", 1);
      _exit(0);
    }
    char token = 0;
    close(report[1]);
    read_all(report[0], &token, 1);  // the sibling is running
    const pid_t faulty = checked_fork();
    if (faulty == 0) dereference_null();
    const int faulty_status = wait_child(faulty);
    const int sibling_status = wait_child(sibling);
    out.child_signaled = WIFSIGNALED(faulty_status);
    out.child_signal = out.child_signaled ? WTERMSIG(faulty_status) : 0;
    out.sibling_process_finished = read_all(report[0], &token, 1) && token == 'f' && WIFEXITED(sibling_status) &&
                                   WEXITSTATUS(sibling_status) == 0;
    close(report[0]);
  }

  // Threads: inside a sacrificial child, a healthy thread works while another dereferences null.
  {
    int report[2];
    make_pipe(report);
    const pid_t sacrificial = checked_fork();
    if (sacrificial == 0) {
      close(report[0]);
      std::atomic<bool> running{false};
      std::thread healthy([&] {
        write_all(report[1], "s", 1);
        running.store(true);
        sleep_seconds(kSiblingWork);
        write_all(report[1], "f", 1);
      });
      spin_until([&] { return running.load(); });
      std::thread faulty(dereference_null);
      faulty.join();
      healthy.join();
      _exit(0);  // only reached if the fault did not take the process down
    }
    close(report[1]);
    const int status = wait_child(sacrificial);
    out.sacrificial_signaled = WIFSIGNALED(status);
    out.sacrificial_signal = out.sacrificial_signaled ? WTERMSIG(status) : 0;
    out.sacrificial_exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    char token = 0;
    while (read_all(report[0], &token, 1)) {
      if (token == 's') out.sibling_thread_started = true;
      if (token == 'f') out.sibling_thread_finished = true;
    }
    close(report[0]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
SharedStateOutcome probe_shared_state(int threads, int processes, std::int64_t increments) {
  SharedStateOutcome out;
  out.increments = increments;

  std::atomic<std::int64_t> plain{0};
  int width = 0;
#pragma omp parallel num_threads(threads)
  {
    if (omp_get_thread_num() == 0) width = omp_get_num_threads();
#pragma omp barrier  // all threads start racing together
    for (std::int64_t i = 0; i < increments; ++i) racy_increment(plain);
  }
  out.threads = width;
  out.expected = static_cast<std::int64_t>(width) * increments;
  out.plain = plain.load();

  std::int64_t atomic_counter = 0;
#pragma omp parallel num_threads(threads)
  {
    for (std::int64_t i = 0; i < increments; ++i) {
#pragma omp atomic update
      atomic_counter += 1;
    }
  }
  out.atomic = atomic_counter;

  std::int64_t reduced = 0;
#pragma omp parallel num_threads(threads) reduction(+ : reduced)
  {
    for (std::int64_t i = 0; i < increments; ++i) reduced += 1;
  }
  out.reduction = reduced;

  // Processes: each child increments the global; it changes the child's copy only.
  out.processes = processes;
  g_process_counter = 0;
  std::vector<std::pair<pid_t, int>> children;
  for (int p = 0; p < processes; ++p) {
    int report[2];
    make_pipe(report);
    const pid_t child = checked_fork();
    if (child == 0) {
      close(report[0]);
      for (std::int64_t i = 0; i < increments; ++i) g_process_counter = g_process_counter + 1;
      const std::int64_t seen = g_process_counter;
      _exit(write_all(report[1], &seen, sizeof seen) ? 0 : kExitRuntime);
    }
    close(report[1]);
    children.emplace_back(child, report[0]);
  }
  for (const auto& [child, fd] : children) {
    std::int64_t seen = -1;
    if (!read_all(fd, &seen, sizeof seen)) seen = -1;
    close(fd);
    const int status = wait_child(child);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) seen = -1;
    out.child_counts.push_back(seen);
  }
  out.parent_after = g_process_counter;
  return out;
}

}  // namespace hk::probe
