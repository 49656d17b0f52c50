#pragma once
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hk/timer.hpp"
#include "hk/work.hpp"

namespace CLI {
class App;
}

namespace hk {

// Options every kernel accepts (registered by the framework, not by each kernel).
struct CommonOptions {
  int threads = 0;  // 0: take OMP_NUM_THREADS, else 1
  int reps = 5;
  int warmup = 1;
  std::uint64_t seed = 20261123;
  std::string out;  // JSONL file to append the record to; empty: no file
  std::string csv;  // CSV file; empty: derived from `out` (.jsonl -> .csv)
  bool strict_placement = false;
  int expect_ranks = 0;  // hk-kernel --expect-ranks (set by hk): MPI_COMM_WORLD's size must be this; 0: unchecked
};

struct Verification {
  bool passed = false;
  std::string method;
  double error = 0;
  double tolerance = 0;
};

// Everything a kernel may know about the run it is part of. The communicator has
// MPI_ERRORS_RETURN set; wrap every call in HK_MPI_CHECK.
struct Context {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  int threads = 1;
  int thread_level_provided = MPI_THREAD_SINGLE;
  const CommonOptions* common = nullptr;
  bool is_root() const { return rank == 0; }
};

// What the framework's memory check found on one node (see Kernel::memory_estimate_bytes).
struct MemoryEstimate {
  std::uint64_t rank_bytes = 0;       // this rank's estimate
  std::uint64_t node_bytes = 0;       // the node's ranks together, plus what is allocated once per node
  std::uint64_t available_bytes = 0;  // MemAvailable of the node
  int node_ranks = 1;
  std::string host;
};
// The framework's refusal: "this configuration needs an estimated X GiB on node H (...) but only Y
// GiB are available; ...".
std::string default_memory_refusal(const MemoryEstimate& estimate);

// A kernel: a small class with a fixed lifecycle driven by one framework loop
// (add_options, check_options, setup, run x (warmup + reps), verify, result, metrics,
// write_outputs, teardown).
class Kernel {
 public:
  virtual ~Kernel() = default;

  // Bind the kernel's parameters to command-line options.
  virtual void add_options(CLI::App& app) = 0;
  // Checks that need no MPI (ranges, combinations). Throw UsageError with a clear message.
  virtual void check_options() const {}
  // MPI thread level this kernel (with its chosen variant) needs.
  virtual int thread_level() const { return MPI_THREAD_FUNNELED; }
  virtual std::string variant() const = 0;
  virtual nlohmann::json params() const = 0;
  virtual Work work() const = 0;

  // Bytes this rank will allocate in setup and run (an estimate; 0 when negligible). Called on
  // every rank before setup, without MPI: the framework adds up the ranks of each node and
  // refuses the run (exit 2, estimate and limit in the message) when it exceeds what the node
  // has available, before anything is allocated.
  virtual std::uint64_t memory_estimate_bytes(const Context& ctx) const { (void)ctx; return 0; }
  // Bytes allocated once per node whatever its rank count (an MPI shared-memory window), added to
  // the node's sum. May throw UsageError, like memory_estimate_bytes.
  virtual std::uint64_t memory_estimate_node_bytes(const Context& ctx) const { (void)ctx; return 0; }
  // The one line that refuses a run over the limit (default: default_memory_refusal), for a kernel
  // that can say which option to change.
  virtual std::string memory_refusal(const MemoryEstimate& estimate) const;

  // Collective. Allocate (first touch by the computing threads), generate input. May throw
  // UsageError (e.g. a decomposition that cannot be formed): the framework makes all ranks exit 2.
  virtual void setup(Context& ctx) = 0;
  // Collective: one repetition. Wrap compute and communication in phases.time(...).
  virtual void run(Context& ctx, PhaseTimer& phases) = 0;
  // Collective: check the result with a method independent of the code that computed it.
  // The returned value must be the same on every rank.
  virtual Verification verify(Context& ctx) = 0;
  // Collective: kernel-specific answers for the record (meaningful on rank 0).
  virtual nlohmann::json result(Context& ctx) { (void)ctx; return nlohmann::json::object(); }
  // Collective: extra per-run measurements (e.g. bytes communicated per rank), rank 0's copy used.
  virtual nlohmann::json metrics(Context& ctx) { (void)ctx; return nlohmann::json::object(); }
  // Collective, after the result and metrics are in the record: write the files the user asked
  // for (e.g. the filtered image). A failure thrown on any rank makes the run's status `error`
  // with the reason; the measurements, verification and result stay in the record.
  virtual void write_outputs(Context& ctx) { (void)ctx; }
  virtual void teardown(Context& ctx) { (void)ctx; }

  // Small configurations (kernel options, no word with a space) that exercise every variant in
  // seconds on 1-4 ranks x 1-2 threads. `hk-kernel list --smoke` reports them; the mix tests every
  // kernel gets (<name>.smoke.RxT), the ThreadSanitizer run (scripts/run-tsan.sh) and the CLI
  // fuzz seeds are driven by them, so a kernel is covered by all three without a line elsewhere.
  virtual std::vector<std::vector<std::string>> smoke_configs() const = 0;

  // Weak scaling: options that make the problem `factor` times larger in work
  // (samples ∝ cores, n³ ∝ cores, pixels ∝ cores), given the current parameters.
  virtual std::vector<std::string> weak_scaling_args(double factor) const { (void)factor; return {}; }
};

struct KernelInfo {
  std::string name;
  std::string description;
  std::function<std::unique_ptr<Kernel>()> make;
};

// Kernels register themselves; nobody keeps a hand-synced list.
class Registry {
 public:
  static Registry& instance();
  void add(KernelInfo info);
  const std::vector<KernelInfo>& kernels() const { return kernels_; }
  const KernelInfo* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<KernelInfo> kernels_;
};

struct Registrar {
  Registrar(const char* name, const char* description, std::function<std::unique_ptr<Kernel>()> make) {
    Registry::instance().add({name, description, std::move(make)});
  }
};

#define HK_CONCAT_INNER(a, b) a##b
#define HK_CONCAT(a, b) HK_CONCAT_INNER(a, b)
// HK_REGISTER_KERNEL(MyKernel, "name", "one-line description") in the kernel's .cpp file.
#define HK_REGISTER_KERNEL(Class, name, description)                              \
  static const ::hk::Registrar HK_CONCAT(hk_registrar_, __LINE__){name, description, \
                                                                [] { return std::make_unique<Class>(); }}

}  // namespace hk
