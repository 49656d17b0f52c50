#include "hk/framework.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <iostream>
#include <optional>

#include "hk/cli.hpp"
#include "hk/domains.hpp"
#include "hk/errors.hpp"
#include "hk/mpi_env.hpp"
#include "hk/placement.hpp"
#include "hk/record.hpp"
#include "hk/run_checks.hpp"
#include "hk/run_record.hpp"
#include "hk/simd.hpp"
#include "hk/system.hpp"

namespace hk {

using nlohmann::json;

namespace {

// Errors and warnings: formatted first, written with one write (mpirun interleaves pieces).
void print_error(const std::string& message) { std::cerr << fmt::format("hk-kernel: error: {}\n", message); }
void print_warning(const std::string& message) { std::cerr << fmt::format("hk-kernel: WARNING: {}\n", message); }

// What the command line asked for, once parsed and checked (before MPI starts).
struct Invocation {
  std::unique_ptr<KernelCli> cli;
  std::string name;
  Kernel* kernel = nullptr;
  int threads = 1;
  std::string command;
  std::string started_at;
  std::string out, csv;  // record files; empty: none
};

std::string command_line_text(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i > 0 ? " " : "") + shell_quote(argv[i]);
  return command;
}

// Parses and checks; returns the exit status when there is nothing to run (help, list, bad input).
std::optional<int> parse_invocation(int argc, char** argv, bool printer, Invocation& inv) {
  inv.cli = make_kernel_cli("hk-kernel");
  try {
    parse_kernel_command_line(*inv.cli, argc, argv);
    if (inv.cli->list->parsed()) {
      if (printer) std::cout << (inv.cli->list_smoke ? kernel_smoke_text(*inv.cli) : kernel_list_text(*inv.cli));
      return kExitOk;
    }
    inv.kernel = inv.cli->selected(&inv.name);
    inv.kernel->check_options();
    inv.threads = resolve_threads(inv.cli->common.threads);
  } catch (const CLI::CallForHelp&) {
    if (printer) std::cout << inv.cli->app->help();
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help of a subcommand, --version
      if (printer) inv.cli->app->exit(e);
      return kExitOk;
    }
    if (printer) print_error(e.what());
    return kExitUsage;
  } catch (const UsageError& e) {
    if (printer) print_error(e.what());
    return kExitUsage;
  }
  const CommonOptions& common = inv.cli->common;
  inv.command = command_line_text(argc, argv);
  inv.out = common.out;
  inv.csv = !common.csv.empty() ? common.csv : (common.out.empty() ? "" : csv_path_for(common.out));
  return std::nullopt;
}

// hybridkit owns the thread count: OpenMP gets exactly `threads`, no library nests its own.
void pin_thread_count(int threads) {
  omp_set_dynamic(0);
  omp_set_num_threads(threads);
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  setenv("MKL_NUM_THREADS", "1", 1);
}

// The record before the run: identity, provenance, MPI, launch info; measurements empty.
json start_record(const Invocation& inv, const Context& ctx, const MpiEnvironment& mpi) {
  const CommonOptions& common = inv.cli->common;
  RecordIdentity identity;
  identity.kernel = inv.name;
  identity.variant = inv.kernel->variant();
  identity.params = inv.kernel->params();
  identity.ranks = ctx.size;
  identity.threads = inv.threads;
  identity.reps = common.reps;
  identity.warmup = common.warmup;
  identity.seed = common.seed;
  identity.work = inv.kernel->work();
  identity.command = inv.command;
  identity.started_at = inv.started_at;
  std::string launch_warning;
  identity.launch = launch_info_from_environment(&launch_warning);
  json record = make_record(identity);
  record["mpi"] = {{"library", MpiEnvironment::library_version()},
                   {"thread_level_requested", thread_level_name(mpi.requested())},
                   {"thread_level_provided", thread_level_name(mpi.provided())}};
  if (!launch_warning.empty()) {
    record["warnings"].push_back(launch_warning);
    if (ctx.is_root()) print_warning(launch_warning);
  }
  return record;
}

// A failed collective step: every rank throws it with the same status and message.
struct StepFailed {
  int status;
  std::string message;
};

// Runs `step` on every rank and agrees on the outcome, so that bad input found by one rank
// makes every rank stop with the same status instead of leaving others waiting. Steps must
// not enter collectives after the point where they may throw.
template <typename Step>
void collective_step(const Context& ctx, Step&& step) {
  int status = kExitOk;
  std::string message;
  try {
    step();
  } catch (const MpiError&) {
    throw;  // the communicator cannot be trusted: handled by abort
  } catch (const UsageError& e) {
    status = kExitUsage;
    message = e.what();
  } catch (const std::exception& e) {
    status = kExitRuntime;
    message = e.what();
  }
  int worst = 0;
  HK_MPI_CHECK(MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, ctx.comm));
  if (worst == kExitOk) return;
  int candidate = status == worst ? ctx.rank : ctx.size;
  int first = 0;
  HK_MPI_CHECK(MPI_Allreduce(&candidate, &first, 1, MPI_INT, MPI_MIN, ctx.comm));
  int length = static_cast<int>(message.size());
  HK_MPI_CHECK(MPI_Bcast(&length, 1, MPI_INT, first, ctx.comm));
  message.resize(static_cast<std::size_t>(length));
  HK_MPI_CHECK(MPI_Bcast(message.data(), length, MPI_CHAR, first, ctx.comm));
  throw StepFailed{worst, message};
}

// The OpenMP threads that run must be the threads asked for (an OMP_THREAD_LIMIT, a resource
// limit): else a RuntimeError, and the run is recorded as an error, never as ok.
void check_thread_count(int threads) {
  if (const std::string problem = thread_count_problem(threads, threads_in_parallel_region()); !problem.empty())
    throw RuntimeError(problem);
}

// The SIMD path HK_ISA asks for (hk/simd.hpp), on every rank: each checks its own CPU, and all
// stop (exit 2) with the first failure's line, printed once. Returns the exit status.
int apply_isa_request(const Context& ctx) {
  Context world = ctx;
  world.comm = MPI_COMM_WORLD;
  try {
    collective_step(world, [] { simd::apply_isa_environment(); });
  } catch (const StepFailed& failure) {
    if (ctx.is_root()) print_error(failure.message);
    return failure.status;
  }
  return kExitOk;
}

// Rank 0 appends the record at the end: refuse now, before any work, when it could not.
void check_record_files(const Invocation& inv) {
  for (const auto& [option, path] : {std::pair{"--out", inv.out}, std::pair{"--csv", inv.csv}}) {
    if (path.empty()) continue;
    const std::string problem = append_problem(path);
    if (!problem.empty()) throw UsageError(fmt::format("{}: cannot append the record to '{}': {}", option, path, problem));
  }
}

// Refuses a configuration whose ranks on one node would together need more memory than the
// node has available, before anything is allocated. Collective.
void check_node_memory(const Context& ctx, const Kernel& kernel) {
  MemoryEstimate estimate;
  estimate.rank_bytes = kernel.memory_estimate_bytes(ctx);
  const std::uint64_t once = kernel.memory_estimate_node_bytes(ctx);
  MPI_Comm node = MPI_COMM_NULL;
  HK_MPI_CHECK(MPI_Comm_split_type(ctx.comm, MPI_COMM_TYPE_SHARED, ctx.rank, MPI_INFO_NULL, &node));
  HK_MPI_CHECK(MPI_Allreduce(&estimate.rank_bytes, &estimate.node_bytes, 1, MPI_UINT64_T, MPI_SUM, node));
  HK_MPI_CHECK(MPI_Comm_size(node, &estimate.node_ranks));
  HK_MPI_CHECK(MPI_Comm_free(&node));
  estimate.node_bytes += once;
  estimate.available_bytes = available_memory_bytes();
  estimate.host = host_name();
  if (estimate.available_bytes > 0 && estimate.node_bytes > estimate.available_bytes)
    throw UsageError(kernel.memory_refusal(estimate));
}

// Fault injection for the hardening tests (HK_FAULT): "mpi-error" makes rank 1 issue an invalid MPI
// call in the first repetition (the error must become one message and an abort); "verify" makes the
// check fail (the record must say verify_failed, exit 1).
bool fault_requested(const char* name) {
  const char* fault = std::getenv("HK_FAULT");
  return fault != nullptr && std::string(fault) == name;
}

// Per-rank times of the timed repetitions: wall, compute, comm, other.
struct LocalTimes {
  std::vector<RepetitionTimes> reps;
  double compute_total = 0;
};

// Collective: warm-up and timed repetitions, each between barriers.
LocalTimes run_repetitions(Context& ctx, Kernel& kernel, const CommonOptions& common) {
  const bool inject_mpi_error = fault_requested("mpi-error") && ctx.rank == 1;
  LocalTimes local;
  for (int rep = 0; rep < common.warmup + common.reps; ++rep) {
    PhaseTimer phases;
    HK_MPI_CHECK(MPI_Barrier(ctx.comm));
    const double start = wall_seconds();
    if (inject_mpi_error && rep == 0) HK_MPI_CHECK(MPI_Send(nullptr, 0, MPI_INT, ctx.size + 5, 0, ctx.comm));
    kernel.run(ctx, phases);
    const double elapsed = wall_seconds() - start;
    HK_MPI_CHECK(MPI_Barrier(ctx.comm));
    if (rep < common.warmup) continue;
    const double compute = phases.seconds(Phase::compute), comm = phases.seconds(Phase::comm);
    // Scoped `other` time is part of what is left.
    local.reps.push_back({elapsed, compute, comm, std::max(0.0, elapsed - compute - comm)});
    local.compute_total += compute;
  }
  return local;
}

// Collective: per repetition the maximum over ranks of wall time and of each phase, and the
// compute imbalance, into the record on rank 0.
void reduce_timings(const Context& ctx, const LocalTimes& local, const Work& work, json& record) {
  static_assert(sizeof(RepetitionTimes) == 4 * sizeof(double));
  const int count = static_cast<int>(local.reps.size() * 4);
  std::vector<RepetitionTimes> worst(local.reps.size());
  HK_MPI_CHECK(MPI_Reduce(local.reps.data(), worst.data(), count, MPI_DOUBLE, MPI_MAX, 0, ctx.comm));
  double compute_min = 0, compute_max = 0, compute_sum = 0;
  HK_MPI_CHECK(MPI_Reduce(&local.compute_total, &compute_min, 1, MPI_DOUBLE, MPI_MIN, 0, ctx.comm));
  HK_MPI_CHECK(MPI_Reduce(&local.compute_total, &compute_max, 1, MPI_DOUBLE, MPI_MAX, 0, ctx.comm));
  HK_MPI_CHECK(MPI_Reduce(&local.compute_total, &compute_sum, 1, MPI_DOUBLE, MPI_SUM, 0, ctx.comm));
  if (!ctx.is_root()) return;
  const double mean = compute_sum / ctx.size;
  record_timings(record, worst, mean > 0 ? (compute_max - compute_min) / mean : 0.0, work);
}

// Collective: verification, result and metrics (rank 0's copy is recorded).
void verify_and_describe(Context& ctx, Kernel& kernel, json& record) {
  Verification verification = kernel.verify(ctx);
  if (fault_requested("verify")) {
    verification.passed = false;
    verification.method += " (failed on purpose: HK_FAULT=verify)";
  }
  json result = kernel.result(ctx);
  json metrics = kernel.metrics(ctx);
  record_outcome(record, verification, std::move(result), std::move(metrics));
}

// Collective: placement (read where the threads run now: same pool, same binding as the timed
// loop) and memory (PSS now, while the kernel's memory is still held), into the record on rank 0.
std::vector<std::string> gather_resources(const Context& ctx, const std::vector<ThreadPlacement>& local,
                                          json& record) {
  const auto placement = gather_placement(ctx.comm, local);
  const std::uint64_t rss = peak_rss_bytes();
  const std::uint64_t pss = proportional_set_bytes();
  MemoryTotals memory;
  HK_MPI_CHECK(MPI_Reduce(&rss, &memory.rss_max, 1, MPI_UINT64_T, MPI_MAX, 0, ctx.comm));
  HK_MPI_CHECK(MPI_Reduce(&rss, &memory.rss_total, 1, MPI_UINT64_T, MPI_SUM, 0, ctx.comm));
  HK_MPI_CHECK(MPI_Reduce(&pss, &memory.pss_total, 1, MPI_UINT64_T, MPI_SUM, 0, ctx.comm));
  if (!ctx.is_root()) return {};
  record_memory(record, memory);
  return record_placement(record, placement);
}

std::string human_bytes(const json& bytes) {
  return bytes.is_number() ? fmt::format("{:.1f} MiB", bytes.get<double>() / (1024.0 * 1024.0)) : "-";
}

std::string placement_text(const json& placement) {
  std::string where;
  for (const auto& entry : placement) {
    where += fmt::format("{}r{}.t{}@cpu{}[{}]", where.empty() ? "" : " ", entry["rank"].get<int>(),
                         entry["thread"].get<int>(), entry["cpu"].get<int>(), entry["allowed_cpus"].get<std::string>());
  }
  return where;
}

void print_summary(const json& record, const std::string& out) {
  const auto& t = record["time_s"];
  const auto& p = record["phases_s"];
  const auto& v = record["verification"];
  std::string text = fmt::format("{} [{}] on {} rank(s) x {} thread(s), {} node(s): {}\n",
                                 record["kernel"].get<std::string>(), record["variant"].get<std::string>(),
                                 record["ranks"].get<int>(), record["threads"].get<int>(), record["nodes"].get<int>(),
                                 record["status"].get<std::string>());
  if (!t["median"].is_null()) {
    text += fmt::format("  time     median {:.6f} s (min {:.6f} s, max {:.6f} s) over {} reps\n",
                        t["median"].get<double>(), t["min"].get<double>(), t["max"].get<double>(),
                        record["reps"].get<int>());
    text += fmt::format("  phases   compute {:.6f} s, comm {:.6f} s, other {:.6f} s; imbalance {:.1f} %\n",
                        p["compute"].get<double>(), p["comm"].get<double>(), p["other"].get<double>(),
                        100.0 * record["imbalance"].get<double>());
  }
  if (!record["rate"]["value"].is_null())
    text += fmt::format("  rate     {:.4g} {}\n", record["rate"]["value"].get<double>(),
                        record["rate"]["unit"].get<std::string>());
  text += fmt::format("  memory   peak RSS {} max per rank, {} total\n", human_bytes(record["memory"]["rss_max_bytes"]),
                      human_bytes(record["memory"]["rss_total_bytes"]));
  if (v["passed"].is_boolean())
    text += fmt::format("  verified {} ({}: error {:.3g}, tolerance {:.3g})\n", v["passed"].get<bool>() ? "yes" : "NO",
                        v["method"].get<std::string>(), v["error"].is_number() ? v["error"].get<double>() : NAN,
                        v["tolerance"].is_number() ? v["tolerance"].get<double>() : NAN);
  if (const std::string where = placement_text(record["placement"]); !where.empty()) text += "  placed   " + where + "\n";
  for (const auto& warning : record["warnings"]) text += "  WARNING  " + warning.get<std::string>() + "\n";
  if (record["error"].is_string()) text += "  error    " + record["error"].get<std::string>() + "\n";
  if (!out.empty()) text += "  record   appended to " + out + "\n";
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

// Rank 0: strict placement, the record appended, the summary printed. Returns the exit status.
int finish_on_root(const Invocation& inv, json& record, const std::vector<std::string>& warnings, int status) {
  for (const auto& warning : warnings) print_warning(warning);
  if (inv.cli->common.strict_placement && !warnings.empty() && status == kExitOk) {
    record_error(record, "placement warnings with --strict-placement");
    status = kExitRuntime;
  }
  try {
    if (!inv.out.empty()) {
      if (const std::size_t torn = append_line(inv.out, json_text(record)); torn > 0)
        print_warning(fmt::format("{}: removed a torn last line ({} bytes) before appending", inv.out, torn));
    }
    if (!inv.csv.empty()) append_record_csv(inv.csv, record);
  } catch (const std::exception& e) {
    print_error(fmt::format("the record was not written: {}", e.what()));
    if (status == kExitOk) status = kExitRuntime;
  }
  print_summary(record, inv.out);
  return status;
}

// Collective: the whole run on a communicator of its own. Returns the exit status (the same on
// every rank); throws on MPI errors.
int run_collectively(Invocation& inv, Context& ctx, json& record) {
  Kernel& kernel = *inv.kernel;
  const CommonOptions& common = inv.cli->common;
  int status = kExitOk;
  try {
    collective_step(ctx, [&] {
      if (ctx.is_root()) check_record_files(inv);
    });
    collective_step(ctx, [&] { check_thread_count(ctx.threads); });
    collective_step(ctx, [&] { check_node_memory(ctx, kernel); });
    collective_step(ctx, [&] { kernel.setup(ctx); });
    reduce_timings(ctx, run_repetitions(ctx, kernel, common), kernel.work(), record);
    verify_and_describe(ctx, kernel, record);
    if (record["status"] != "ok") status = kExitVerifyFailed;
    collective_step(ctx, [&] { kernel.write_outputs(ctx); });  // a failure: status error, the rest kept
  } catch (const StepFailed& failure) {
    if (ctx.is_root()) print_error(failure.message);
    if (failure.status == kExitUsage) return kExitUsage;  // bad input: no record, like a parse error
    record_error(record, failure.message);
    status = failure.status;
  }
  const auto local = local_placement(ctx.rank, ctx.threads);
  const auto warnings = gather_resources(ctx, local, record);
  kernel.teardown(ctx);
  // After the memory figures and the teardown, so hwloc's topology does not count in them.
  const json domains = gather_rank_domains(ctx.comm, local_rank_domains(local));
  if (ctx.is_root()) record["rank_domains"] = domains;
  if (ctx.is_root()) status = finish_on_root(inv, record, warnings, status);
  HK_MPI_CHECK(MPI_Bcast(&status, 1, MPI_INT, 0, ctx.comm));
  return status;
}

}  // namespace

std::string default_memory_refusal(const MemoryEstimate& e) {
  const double gib = 1024.0 * 1024.0 * 1024.0;
  return fmt::format(
      "this configuration needs an estimated {:.2f} GiB on node {} ({} rank(s), {:.2f} GiB on this one) but only "
      "{:.2f} GiB are available; use a smaller problem or more nodes",
      static_cast<double>(e.node_bytes) / gib, e.host, e.node_ranks, static_cast<double>(e.rank_bytes) / gib,
      static_cast<double>(e.available_bytes) / gib);
}

std::string Kernel::memory_refusal(const MemoryEstimate& estimate) const { return default_memory_refusal(estimate); }

int kernel_main(int argc, char** argv) {
  const bool printer = launcher_rank() == 0;  // only rank 0 prints, even before MPI_Init
  Invocation inv;
  if (const auto done = parse_invocation(argc, argv, printer, inv)) return *done;
  pin_thread_count(inv.threads);
  inv.started_at = utc_timestamp();
  std::unique_ptr<MpiEnvironment> mpi;
  try {
    mpi = std::make_unique<MpiEnvironment>(argc, argv, inv.kernel->thread_level());
  } catch (const std::exception& e) {
    if (printer) print_error(e.what());
    return kExitRuntime;
  }
  Context ctx;
  ctx.rank = mpi->rank();
  ctx.size = mpi->size();
  ctx.threads = inv.threads;
  ctx.thread_level_provided = mpi->provided();
  ctx.common = &inv.cli->common;
  // Checked before anything else: with another world than asked for (each process a singleton of
  // another MPI's launcher), collectives would "succeed" on the wrong world. No record is written.
  if (const std::string problem = world_size_problem(inv.cli->common.expect_ranks, ctx.size); !problem.empty()) {
    if (ctx.rank == 0) print_error(problem);
    return kExitRuntime;
  }
  if (const int status = apply_isa_request(ctx); status != kExitOk) return status;
  json record = start_record(inv, ctx, *mpi);
  try {
    HK_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &ctx.comm));
    HK_MPI_CHECK(MPI_Comm_set_errhandler(ctx.comm, MPI_ERRORS_RETURN));
    const int status = run_collectively(inv, ctx, record);
    MPI_Comm_free(&ctx.comm);
    return status;
  } catch (const std::exception& e) {
    // An MPI error or a failure inside a collective: other ranks may be waiting in a collective
    // we will never enter, so the whole job is taken down rather than left hanging.
    std::cerr << fmt::format("hk-kernel: fatal error on rank {}: {}\n", ctx.rank, e.what());
    std::cerr.flush();
    MPI_Abort(MPI_COMM_WORLD, kExitRuntime);
    return kExitRuntime;
  }
}

}  // namespace hk
