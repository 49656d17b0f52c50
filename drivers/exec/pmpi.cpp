// libhk-pmpi.so: time inside MPI for `hk run --exec` (docs/exec.md). Preloaded (LD_PRELOAD) into
// a program that links MPI dynamically, it defines the MPI calls of pmpi_calls.inc and forwards
// each to its PMPI_ twin (the MPI standard's profiling interface, as IPM and mpiP use it), timing
// it. At MPI_Finalize it writes this rank's figures as JSON to $HK_EXEC_MPI_FILE (set by
// hk-exec-wrap, which folds them into its rank file). Only C/C++ calls are seen: Open MPI's
// Fortran bindings call PMPI_ directly.
#include <mpi.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

enum Family { point_to_point, wait_test, collective, barrier, one_sided, family_count };
constexpr const char* kFamilyNames[family_count] = {"point_to_point", "wait_test", "collective", "barrier",
                                                    "one_sided"};

std::array<std::atomic<long long>, family_count> family_ns{};
std::array<std::atomic<long long>, family_count> family_calls{};

// Wall time during which at least one thread of the process is inside MPI (threads calling MPI
// at once count once): the `comm` phase.
std::mutex busy_mutex;
int threads_inside = 0;
Clock::time_point busy_since;
long long busy_ns = 0;

Clock::time_point process_start = Clock::now();  // when the library was loaded
Clock::time_point init_start, init_end;
bool initialised = false;
int thread_level_requested = -1, thread_level_provided = -1;

thread_local int call_depth = 0;  // an MPI call made inside another (MPICH) is not counted twice

long long nanoseconds(Clock::duration d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Times the outermost MPI call of a thread.
class Timed {
 public:
  explicit Timed(Family family) : family_(family), outermost_(call_depth++ == 0) {
    if (!outermost_) return;
    start_ = Clock::now();
    std::lock_guard<std::mutex> lock(busy_mutex);
    if (threads_inside++ == 0) busy_since = start_;
  }
  ~Timed() {
    --call_depth;
    if (!outermost_) return;
    const Clock::time_point end = Clock::now();
    family_ns[family_] += nanoseconds(end - start_);
    ++family_calls[family_];
    std::lock_guard<std::mutex> lock(busy_mutex);
    if (--threads_inside == 0) busy_ns += nanoseconds(end - busy_since);
  }
  Timed(const Timed&) = delete;
  Timed& operator=(const Timed&) = delete;

 private:
  Family family_;
  bool outermost_;
  Clock::time_point start_;
};

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "\"single\"";
    case MPI_THREAD_FUNNELED: return "\"funneled\"";
    case MPI_THREAD_SERIALIZED: return "\"serialized\"";
    case MPI_THREAD_MULTIPLE: return "\"multiple\"";
    default: return "null";
  }
}

// A JSON string of the library's version text (quotes, backslashes and control bytes escaped).
std::string json_string(const char* text) {
  std::string quoted = "\"";
  for (const char* c = text; *c != '\0'; ++c) {
    const unsigned char byte = static_cast<unsigned char>(*c);
    if (byte == '"' || byte == '\\') quoted += '\\';
    if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
      quoted += escaped;
    } else {
      quoted += *c;
    }
  }
  return quoted + "\"";
}

std::string library_version() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  if (PMPI_Get_library_version(version, &length) != MPI_SUCCESS) return "null";
  std::string text(version, static_cast<std::size_t>(length > 0 ? length : 0));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0' || text.back() == ' ')) text.pop_back();
  const auto newline = text.find('\n');  // first line: "Open MPI v4.1.4, package: ..."
  return json_string(text.substr(0, newline).c_str());
}

// Written with stdio only: the library stays free of the kit's code and of exceptions.
void write_figures(Clock::time_point finalize_start) {
  const char* path = std::getenv("HK_EXEC_MPI_FILE");
  if (path == nullptr || *path == '\0') return;
  int rank = -1, size = -1;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  PMPI_Comm_size(MPI_COMM_WORLD, &size);
  std::string families;
  for (int f = 0; f < family_count; ++f) {
    char entry[160];
    std::snprintf(entry, sizeof(entry), "%s\"%s\":{\"s\":%.9f,\"calls\":%lld}", f ? "," : "", kFamilyNames[f],
                  static_cast<double>(family_ns[f].load()) * 1e-9, family_calls[f].load());
    families += entry;
  }
  std::FILE* out = std::fopen(path, "w");
  if (out == nullptr) return;
  std::fprintf(out,
               "{\"schema\":\"hybridkit.exec-mpi/1\",\"rank\":%d,\"size\":%d,\"library\":%s,"
               "\"thread_level_requested\":%s,\"thread_level_provided\":%s,"
               "\"before_init_s\":%.9f,\"init_s\":%.9f,\"between_init_and_finalize_s\":%.9f,"
               "\"in_mpi_s\":%.9f,\"families\":{%s}}\n",
               rank, size, library_version().c_str(), thread_level_name(thread_level_requested),
               thread_level_name(thread_level_provided), seconds(init_start - process_start),
               seconds(init_end - init_start), seconds(finalize_start - init_end),
               static_cast<double>(busy_ns) * 1e-9, families.c_str());
  std::fclose(out);
}

}  // namespace

extern "C" {

int MPI_Init(int* argc, char*** argv) {
  init_start = Clock::now();
  const int result = PMPI_Init(argc, argv);
  init_end = Clock::now();
  initialised = result == MPI_SUCCESS;
  PMPI_Query_thread(&thread_level_provided);
  return result;
}

int MPI_Init_thread(int* argc, char*** argv, int required, int* provided) {
  init_start = Clock::now();
  const int result = PMPI_Init_thread(argc, argv, required, provided);
  init_end = Clock::now();
  initialised = result == MPI_SUCCESS;
  thread_level_requested = required;
  if (provided != nullptr) thread_level_provided = *provided;
  return result;
}

int MPI_Finalize(void) {
  if (initialised) write_figures(Clock::now());
  return PMPI_Finalize();
}

#define HK_PMPI_WRAP(family, name, parameters, arguments) \
  int MPI_##name parameters {                             \
    Timed timed(family);                                  \
    return PMPI_##name arguments;                         \
  }
#include "pmpi_calls.inc"
#undef HK_PMPI_WRAP

}  // extern "C"
