#include "hk/framework.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <iostream>
#include <numeric>

#include "hk/build_info.hpp"
#include "hk/cli.hpp"
#include "hk/domains.hpp"
#include "hk/errors.hpp"
#include "hk/mpi_env.hpp"
#include "hk/placement.hpp"
#include "hk/record.hpp"
#include "hk/system.hpp"

namespace hk {

using nlohmann::json;

namespace {

std::string openmp_version() {
#ifdef _OPENMP
  switch (_OPENMP) {
    case 201107: return "3.1 (201107)";
    case 201307: return "4.0 (201307)";
    case 201511: return "4.5 (201511)";
    case 201811: return "5.0 (201811)";
    case 202011: return "5.1 (202011)";
    default: return std::to_string(_OPENMP);
  }
#else
  return "none";
#endif
}

// Thread count: --threads, else OMP_NUM_THREADS (first entry of a nested list), else 1.
int resolve_threads(int option) {
  if (option > 0) return option;
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env == nullptr || *env == '\0') return 1;
  char* end = nullptr;
  const long value = std::strtol(env, &end, 10);
  if (end == env || (*end != '\0' && *end != ',') || value < 1 || value > 4096) {
    throw UsageError(fmt::format("OMP_NUM_THREADS: must be an integer from 1 to 4096 (got '{}')", env));
  }
  return static_cast<int>(value);
}

// Headline rate from the declared work: "GFLOP/s" -> flops, "GB/s" -> bytes, "M<items>/s" -> items.
json rate_json(const Work& work, double seconds) {
  if (work.rate_unit.empty() || seconds <= 0) return {{"value", nullptr}, {"unit", work.rate_unit}};
  const char prefix = work.rate_unit[0];
  const double scale = prefix == 'G' ? 1e9 : prefix == 'M' ? 1e6 : prefix == 'k' ? 1e3 : 1.0;
  const std::string base = work.rate_unit.substr(scale == 1.0 ? 0 : 1);
  double amount = work.items;
  if (base.rfind("FLOP", 0) == 0) amount = work.flops;
  else if (base.rfind("B/", 0) == 0) amount = work.bytes;
  return {{"value", amount / seconds / scale}, {"unit", work.rate_unit}};
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

// Refuses a configuration whose ranks on one node would together need more memory than the
// node has available, before anything is allocated. Collective.
void check_node_memory(const Context& ctx, const Kernel& kernel) {
  const std::uint64_t mine = kernel.memory_estimate_bytes(ctx);
  MPI_Comm node = MPI_COMM_NULL;
  HK_MPI_CHECK(MPI_Comm_split_type(ctx.comm, MPI_COMM_TYPE_SHARED, ctx.rank, MPI_INFO_NULL, &node));
  std::uint64_t node_total = 0;
  int node_ranks = 1;
  HK_MPI_CHECK(MPI_Allreduce(&mine, &node_total, 1, MPI_UINT64_T, MPI_SUM, node));
  HK_MPI_CHECK(MPI_Comm_size(node, &node_ranks));
  HK_MPI_CHECK(MPI_Comm_free(&node));
  const std::uint64_t available = available_memory_bytes();
  if (available > 0 && node_total > available) {
    const double gib = 1024.0 * 1024.0 * 1024.0;
    throw UsageError(fmt::format(
        "this configuration needs an estimated {:.2f} GiB on node {} ({} rank(s), {:.2f} GiB on this one) but only "
        "{:.2f} GiB are available; use a smaller problem or more nodes",
        node_total / gib, host_name(), node_ranks, mine / gib, available / gib));
  }
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::string human_bytes(double bytes) {
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
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
  text += fmt::format("  memory   peak RSS {} max per rank, {} total\n",
                      human_bytes(record["memory"]["rss_max_bytes"].get<double>()),
                      human_bytes(record["memory"]["rss_total_bytes"].get<double>()));
  if (v.contains("passed"))
    text += fmt::format("  verified {} ({}: error {:.3g}, tolerance {:.3g})\n", v["passed"].get<bool>() ? "yes" : "NO",
                        v["method"].get<std::string>(), v["error"].get<double>(), v["tolerance"].get<double>());
  std::string where;
  for (const auto& entry : record["placement"]) {
    where += fmt::format("{}r{}.t{}@cpu{}[{}]", where.empty() ? "" : " ", entry["rank"].get<int>(),
                         entry["thread"].get<int>(), entry["cpu"].get<int>(),
                         entry["allowed_cpus"].get<std::string>());
  }
  if (!where.empty()) text += "  placed   " + where + "\n";
  for (const auto& warning : record["warnings"]) text += "  WARNING  " + warning.get<std::string>() + "\n";
  if (record.contains("error")) text += "  error    " + record["error"].get<std::string>() + "\n";
  if (!out.empty()) text += "  record   appended to " + out + "\n";
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int kernel_main(int argc, char** argv) {
  const bool printer = launcher_rank() == 0;  // only rank 0 prints, even before MPI_Init
  std::string command;
  for (int i = 0; i < argc; ++i) {
    if (i > 0) command += ' ';
    command += shell_quote(argv[i]);
  }

  auto cli = make_kernel_cli("hk-kernel");
  try {
    cli->app->parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    if (printer) std::cout << cli->app->help();
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help of a subcommand, --version
      if (printer) cli->app->exit(e);
      return kExitOk;
    }
    if (printer) std::cerr << fmt::format("hk-kernel: error: {}\n", e.what());
    return kExitUsage;
  }
  if (cli->list->parsed()) {
    if (printer) std::cout << kernel_list_text(*cli);
    return kExitOk;
  }
  std::string name;
  Kernel* kernel = cli->selected(&name);
  CommonOptions& common = cli->common;
  int threads = 1;
  try {
    kernel->check_options();
    threads = resolve_threads(common.threads);
  } catch (const UsageError& e) {
    if (printer) std::cerr << fmt::format("hk-kernel: error: {}\n", e.what());
    return kExitUsage;
  }
  // hybridkit owns the thread count: OpenMP gets exactly `threads`, no library nests its own.
  omp_set_dynamic(0);
  omp_set_num_threads(threads);
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  setenv("MKL_NUM_THREADS", "1", 1);
  const std::string started_at = utc_timestamp();

  std::unique_ptr<MpiEnvironment> mpi;
  try {
    mpi = std::make_unique<MpiEnvironment>(argc, argv, kernel->thread_level());
  } catch (const std::exception& e) {
    if (printer) std::cerr << fmt::format("hk-kernel: error: {}\n", e.what());
    return kExitRuntime;
  }

  Context ctx;
  ctx.rank = mpi->rank();
  ctx.size = mpi->size();
  ctx.threads = threads;
  ctx.thread_level_provided = mpi->provided();
  ctx.common = &common;
  const std::string out = common.out;
  const std::string csv = !common.csv.empty() ? common.csv : (out.empty() ? "" : csv_path_for(out));

  json record = {
      {"schema", kRecordSchema},
      {"kernel", name},
      {"variant", kernel->variant()},
      {"params", kernel->params()},
      {"ranks", ctx.size},
      {"threads", threads},
      {"nodes", 1},
      {"status", "error"},
      {"reps", common.reps},
      {"warmup", common.warmup},
      {"seed", common.seed},
      {"time_s", {{"min", nullptr}, {"median", nullptr}, {"max", nullptr}}},
      {"phases_s", {{"compute", nullptr}, {"comm", nullptr}, {"other", nullptr}}},
      {"imbalance", nullptr},
      {"rate", rate_json(kernel->work(), 0)},
      {"memory", {{"rss_max_bytes", 0}, {"rss_total_bytes", 0}, {"pss_total_bytes", 0}}},
      {"verification", json::object()},
      {"result", json::object()},
      {"metrics", json::object()},
      {"work", {{"flops", kernel->work().flops}, {"bytes", kernel->work().bytes}, {"items", kernel->work().items}}},
      {"placement", json::array()},
      {"rank_domains", json::array()},
      {"mpi",
       {{"library", MpiEnvironment::library_version()},
        {"thread_level_requested", thread_level_name(mpi->requested())},
        {"thread_level_provided", thread_level_name(mpi->provided())}}},
      {"provenance",
       {{"version", build::version},
        {"git_sha", build::git_sha},
        {"compiler", build::compiler},
        {"flags", build::flags},
        {"openmp", openmp_version()},
        {"hostname", host_name()},
        {"started_at", started_at},
        {"command", command}}},
      {"warnings", json::array()},
  };

  int exit_status = kExitOk;
  try {
    HK_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &ctx.comm));
    HK_MPI_CHECK(MPI_Comm_set_errhandler(ctx.comm, MPI_ERRORS_RETURN));

    try {
      collective_step(ctx, [&] { check_node_memory(ctx, *kernel); });
      collective_step(ctx, [&] { kernel->setup(ctx); });

      // Fault injection for the hardening tests: HK_FAULT=mpi-error makes rank 1 issue an invalid
      // MPI call in the first repetition, to show the error becomes one message and an abort.
      const char* fault = std::getenv("HK_FAULT");
      const bool inject_mpi_error = fault != nullptr && std::string(fault) == "mpi-error" && ctx.rank == 1;
      const int total = common.warmup + common.reps;
      std::vector<double> local(static_cast<std::size_t>(common.reps) * 4);
      double local_compute_total = 0;
      for (int rep = 0; rep < total; ++rep) {
        PhaseTimer phases;
        HK_MPI_CHECK(MPI_Barrier(ctx.comm));
        const double start = wall_seconds();
        if (inject_mpi_error && rep == 0) HK_MPI_CHECK(MPI_Send(nullptr, 0, MPI_INT, ctx.size + 5, 0, ctx.comm));
        kernel->run(ctx, phases);
        const double elapsed = wall_seconds() - start;
        HK_MPI_CHECK(MPI_Barrier(ctx.comm));
        if (rep < common.warmup) continue;
        const auto i = static_cast<std::size_t>(rep - common.warmup) * 4;
        const double compute = phases.seconds(Phase::compute);
        const double comm = phases.seconds(Phase::comm);
        local[i + 0] = elapsed;
        local[i + 1] = compute;
        local[i + 2] = comm;
        local[i + 3] = std::max(0.0, elapsed - compute - comm);  // scoped `other` time is part of this
        local_compute_total += compute;
      }
      // Per repetition: maximum over ranks of wall time and of each phase.
      std::vector<double> worst(local.size());
      HK_MPI_CHECK(MPI_Reduce(local.data(), worst.data(), static_cast<int>(local.size()), MPI_DOUBLE, MPI_MAX, 0,
                              ctx.comm));
      double compute_min = 0, compute_max = 0, compute_sum = 0;
      HK_MPI_CHECK(MPI_Reduce(&local_compute_total, &compute_min, 1, MPI_DOUBLE, MPI_MIN, 0, ctx.comm));
      HK_MPI_CHECK(MPI_Reduce(&local_compute_total, &compute_max, 1, MPI_DOUBLE, MPI_MAX, 0, ctx.comm));
      HK_MPI_CHECK(MPI_Reduce(&local_compute_total, &compute_sum, 1, MPI_DOUBLE, MPI_SUM, 0, ctx.comm));
      if (ctx.is_root()) {
        std::vector<double> times;
        for (int r = 0; r < common.reps; ++r) times.push_back(worst[static_cast<std::size_t>(r) * 4]);
        std::vector<int> order(times.size());
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(), [&](int a, int b) { return times[a] < times[b]; });
        const auto median_rep = static_cast<std::size_t>(order[(order.size() - 1) / 2]) * 4;
        const double median = median_of(times);
        record["time_s"] = {{"min", times[order.front()]}, {"median", median}, {"max", times[order.back()]}};
        record["phases_s"] = {
            {"compute", worst[median_rep + 1]}, {"comm", worst[median_rep + 2]}, {"other", worst[median_rep + 3]}};
        const double mean = compute_sum / ctx.size;
        record["imbalance"] = mean > 0 ? (compute_max - compute_min) / mean : 0.0;
        record["rate"] = rate_json(kernel->work(), median);
      }

      const Verification verification = kernel->verify(ctx);
      record["verification"] = {{"passed", verification.passed},
                                {"method", verification.method},
                                {"error", verification.error},
                                {"tolerance", verification.tolerance}};
      record["result"] = kernel->result(ctx);
      record["metrics"] = kernel->metrics(ctx);
      record["status"] = verification.passed ? "ok" : "verify_failed";
      if (!verification.passed) exit_status = kExitVerifyFailed;
    } catch (const StepFailed& failure) {
      record["error"] = failure.message;
      exit_status = failure.status;
      if (ctx.is_root()) std::cerr << fmt::format("hk-kernel: error: {}\n", failure.message);
      if (failure.status == kExitUsage) return kExitUsage;  // bad input: no record, like a parse error
    }

    // Placement, read where the threads run now (same pool, same binding as the timed loop).
    const auto local = local_placement(ctx.rank, threads);
    const auto placement = gather_placement(ctx.comm, local);
    const std::uint64_t rss = peak_rss_bytes();
    const std::uint64_t pss = proportional_set_bytes();  // now, while the kernel's memory is still held
    std::uint64_t rss_max = 0, rss_total = 0, pss_total = 0;
    HK_MPI_CHECK(MPI_Reduce(&rss, &rss_max, 1, MPI_UINT64_T, MPI_MAX, 0, ctx.comm));
    HK_MPI_CHECK(MPI_Reduce(&rss, &rss_total, 1, MPI_UINT64_T, MPI_SUM, 0, ctx.comm));
    HK_MPI_CHECK(MPI_Reduce(&pss, &pss_total, 1, MPI_UINT64_T, MPI_SUM, 0, ctx.comm));
    kernel->teardown(ctx);
    // After the memory figures and the teardown, so hwloc's topology does not count in them.
    const json rank_domains = gather_rank_domains(ctx.comm, local_rank_domains(local));

    int write_failed = 0;
    if (ctx.is_root()) {
      record["memory"] = {{"rss_max_bytes", rss_max}, {"rss_total_bytes", rss_total}, {"pss_total_bytes", pss_total}};
      record["placement"] = placement_json(placement);
      record["rank_domains"] = rank_domains;
      record["nodes"] = count_nodes(placement);
      const auto warnings = placement_warnings(placement);
      for (const auto& warning : warnings) {
        record["warnings"].push_back(warning);
        std::cerr << fmt::format("hk-kernel: WARNING: {}\n", warning);
      }
      if (common.strict_placement && !warnings.empty() && exit_status == kExitOk) {
        record["status"] = "error";
        record["error"] = "placement warnings with --strict-placement";
        exit_status = kExitRuntime;
      }
      try {
        if (!out.empty()) append_record_jsonl(out, record);
        if (!csv.empty()) append_record_csv(csv, record);
      } catch (const std::exception& e) {
        std::cerr << fmt::format("hk-kernel: error: the record was not written: {}\n", e.what());
        write_failed = 1;
      }
      print_summary(record, out);
    }
    HK_MPI_CHECK(MPI_Bcast(&exit_status, 1, MPI_INT, 0, ctx.comm));
    HK_MPI_CHECK(MPI_Bcast(&write_failed, 1, MPI_INT, 0, ctx.comm));
    if (write_failed && exit_status == kExitOk) exit_status = kExitRuntime;
    MPI_Comm_free(&ctx.comm);
  } catch (const std::exception& e) {
    // An MPI error or a failure inside a collective: other ranks may be waiting in a collective
    // we will never enter, so the whole job is taken down rather than left hanging.
    std::cerr << fmt::format("hk-kernel: fatal error on rank {}: {}\n", ctx.rank, e.what());
    std::cerr.flush();
    MPI_Abort(MPI_COMM_WORLD, kExitRuntime);
    return kExitRuntime;
  }
  return exit_status;
}

}  // namespace hk
