// hk probe: processes versus threads, measured on this machine. Prints a side-by-side table
// (claim, process figure, thread figure, ratio, verdict) and, with --json, every figure with
// its unit. The qualitative claims (fault isolation, private globals, exact atomics) are checked:
// if one does not hold, hk probe exits 1.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "hk/cli.hpp"
#include "hk/errors.hpp"
#include "hk/json_text.hpp"
#include "hk/system.hpp"
#include "probe/probe.hpp"

namespace {

// 0 means "not given": the default, or the --quick value, is chosen once everything is parsed.
struct ProbeState {
  int trials = 0, mpi_trials = 0, threads = 0, processes = 0, working_set_mib = 0, idle_threads = 0;
  int round_trips = 0, switch_rounds = 0, mpi_timeout_s = 60;
  std::int64_t increments = 0;
  bool quick = false, no_mpi = false;
  std::string json_path, mpirun = "mpirun", helper_dir;
  bool python_only = false, no_python = false;
  int python_workers = 0, python_timeout_s = 600;
  std::string python, free_threaded_python;
  std::string timing_verdicts = "assert";
  std::vector<std::string> hosts;
};

int default_width() { return std::max(2, hk::online_cpus()); }

// The Python rows' sizes: --quick keeps the whole Python part to a few seconds on an idle machine.
hk::probe::PythonSettings python_settings(const ProbeState& o, int creation_trials) {
  hk::probe::PythonSettings p;
  p.enabled = !o.no_python;
  p.only = o.python_only;
  p.python = o.python;
  p.free_threaded = o.free_threaded_python;
  p.workers = o.python_workers ? o.python_workers : default_width();
  p.cpu_iterations = o.quick ? 2000000 : 6000000;
  p.trials = o.quick ? 3 : 5;
  p.create_trials = creation_trials;
  p.data_bytes = std::int64_t{o.quick ? 8 : 64} << 20;
  p.timeout_s = o.python_timeout_s;
  p.assert_timing = o.timing_verdicts == "assert";
  return p;
}

// The memory measurement holds the working set twice at once: the parent's copy and a forked
// child's private copy once it has written every page. Refused up front when that cannot fit.
void check_working_set_fits(int working_set_mib) {
  const std::uint64_t needed = 2 * (static_cast<std::uint64_t>(working_set_mib) << 20);
  const std::uint64_t available = hk::available_memory_bytes();
  if (available == 0 || needed <= available) return;
  const double mib = 1024.0 * 1024.0;
  throw hk::UsageError(fmt::format(
      "--working-set-mib {}: the memory measurement holds the set twice ({:.0f} MiB) but only {:.0f} MiB are "
      "available; use at most {}",
      working_set_mib, needed / mib, available / mib, available / 2 / (1 << 20)));
}

int run_probe_command(const ProbeState& o) {
  hk::probe::Settings s;
  auto pick = [&](auto given, auto normal, auto quick) { return given ? given : (o.quick ? quick : normal); };
  s.trials = pick(o.trials, 15, 5);
  s.mpi_trials = pick(o.mpi_trials, 5, 2);
  s.threads = pick(o.threads, default_width(), default_width());
  s.processes = pick(o.processes, default_width(), default_width());
  s.increments = pick(o.increments, std::int64_t{1000000}, std::int64_t{200000});
  s.working_set_mib = pick(o.working_set_mib, 64, 8);
  s.idle_threads = pick(o.idle_threads, 32, 8);
  s.round_trips = pick(o.round_trips, 1000, 200);
  s.switch_rounds = pick(o.switch_rounds, 2000, 200);
  s.mpi = !o.no_mpi;
  s.mpirun = o.mpirun;
  s.mpi_timeout_s = o.mpi_timeout_s;
  s.helper_dir = o.helper_dir;
  s.python = python_settings(o, s.trials);
  s.hosts = o.hosts;

  check_working_set_fits(s.working_set_mib);
  // Fail on an unwritable --json now, not after the measurements.
  std::unique_ptr<std::ofstream> json_out;
  if (!o.json_path.empty()) {
    json_out = std::make_unique<std::ofstream>(o.json_path, std::ios::trunc);
    if (!*json_out)
      throw hk::UsageError(fmt::format("--json: cannot write '{}': {}", o.json_path, std::strerror(errno)));
  }

  std::cout << fmt::format("hk probe: processes versus threads on {} ({} CPUs); medians of {} trials\n",
                           hk::host_name(), hk::online_cpus(), s.trials)
            << std::flush;
  const hk::probe::Results results =
      hk::probe::run_probe(s, [](const std::string& stage) { std::cout << "  measuring " << stage << "\n" << std::flush; });
  const std::vector<std::string> failures = hk::probe::check(results);
  const std::vector<hk::probe::Row> rows = hk::probe::make_rows(results, s);

  if (!results.python_only) {
    std::cout << "\n" << hk::probe::table_text(rows) << "\n";
    std::cout << "ratio = process cost / thread cost (for bandwidths: thread / process); times are medians, one-way "
                 "for messages.\n";
    if (results.mpi.available)
      std::cout << fmt::format("MPI: {} ({} provided)\n", results.mpi.library, results.mpi.thread_level);
    else
      std::cout << "MPI rows unavailable: " << results.mpi.reason << "\n";
    for (const auto& [key, reason] : results.unavailable) std::cout << fmt::format("{} unavailable: {}\n", key, reason);
  }
  if (results.python.measured)
    std::cout << "\n" << hk::probe::python_header(results.python) << "\n"
              << hk::probe::table_text(hk::probe::python_rows(results.python))
              << "ratio = process time / thread time; Nx after a time = speed-up over 1 thread (I/O: over one wait "
                 "at a time).\n";
  if (json_out) {
    // json_text: settings (--mpirun, --hosts) and reasons (paths) may hold bytes that are not UTF-8.
    *json_out << hk::json_text(hk::probe::to_json(results, s, rows, failures), 2) << "\n";
    if (!json_out->flush()) throw hk::RuntimeError(fmt::format("--json: writing '{}' failed", o.json_path));
    std::cout << "figures with units: " << o.json_path << "\n";
  }
  if (!failures.empty()) {
    for (const auto& failure : failures) std::cerr << "hk probe: CHECK FAILED: " << failure << "\n";
    return hk::kExitVerifyFailed;
  }
  std::cout << "hk probe: every qualitative claim checked and held\n";
  return hk::kExitOk;
}

std::function<int()> setup_probe(CLI::App& app) {
  auto o = std::make_shared<ProbeState>();
  hk::add_int_option(app, "--trials", o->trials, 1, 1000, "timed trials of each measurement (median reported)")
      ->default_str("15, --quick 5");
  hk::add_int_option(app, "--mpi-trials", o->mpi_trials, 1, 100, "separate mpirun -np 1 launches for rank start-up")
      ->default_str("5, --quick 2");
  hk::add_int_option(app, "--threads", o->threads, 2, 1024, "threads of the OpenMP region and the racing counter")
      ->default_str("online CPUs, at least 2");
  hk::add_int_option(app, "--processes", o->processes, 1, 1024, "processes incrementing their copy of a global")
      ->default_str("online CPUs, at least 2");
  // At most 10^8: contended atomic increments take tens of ns each, so this bounds that row to seconds.
  hk::add_int_option(app, "--increments", o->increments, 1, 100000000, "increments per thread and per process")
      ->default_str("1000000, --quick 200000");
  hk::add_int_option(app, "--working-set-mib", o->working_set_mib, 1, 1 << 16, "MiB a forked child / a thread writes")
      ->default_str("64, --quick 8");
  hk::add_int_option(app, "--idle-threads", o->idle_threads, 1, 4096, "idle threads made to measure memory per thread")
      ->default_str("32, --quick 8");
  hk::add_int_option(app, "--round-trips", o->round_trips, 2, 10000000, "8 B ping-pong round trips per trial")
      ->default_str("1000, --quick 200");
  hk::add_int_option(app, "--switch-rounds", o->switch_rounds, 1, 10000000, "pipe token round trips per trial")
      ->default_str("2000, --quick 200");
  hk::add_int_option(app, "--mpi-timeout", o->mpi_timeout_s, 1, 3600, "seconds before one mpirun launch is killed");
  app.add_option("--timing-verdicts", o->timing_verdicts,
                 "assert: a speed-up verdict measured on quiet trials that does not hold fails the probe (exit 3); "
                 "report: it is printed and recorded, never fails (the test suite: a shared machine's noise must not "
                 "decide a test)")
      ->check(CLI::IsMember({"assert", "report"}))
      ->capture_default_str();
  app.add_flag("--quick", o->quick, "small trial counts and sizes (tests); given options still win");
  app.add_flag("--no-mpi", o->no_mpi, "skip the MPI rows");
  app.add_option("--json", o->json_path, "write every figure (value + unit) and outcome to this JSON file");
  app.add_option("--mpirun", o->mpirun, "MPI launcher (found on PATH unless a path is given)")->capture_default_str();
  app.add_option("--helper-dir", o->helper_dir, "directory of hk-probe-mpi and hk-probe-true (default: next to hk)");
  auto* only = app.add_flag("--python-only", o->python_only, "only the Python rows (the GIL: threads, processes, asyncio)");
  app.add_flag("--no-python", o->no_python, "skip the Python rows")->excludes(only);
  app.add_option("--python", o->python, "Python interpreter for the Python rows (found on PATH unless a path is given)")
      ->default_str("/usr/bin/python3, else python3 on PATH");
  app.add_option("--free-threaded-python", o->free_threaded_python, "a free-threaded interpreter measured side by side")
      ->default_str("python3.14t or python3.13t on PATH");
  hk::add_int_option(app, "--python-workers", o->python_workers, 2, 1024, "N of the Python rows' N threads / processes")
      ->default_str("online CPUs, at least 2");
  hk::add_int_option(app, "--python-timeout", o->python_timeout_s, 1, 3600, "seconds before one interpreter's run is killed");
  app.add_option("--hosts", o->hosts, "two hosts for the row 'MPI between two nodes vs within a node' (one rank each)")
      ->delimiter(',')
      ->expected(2)
      ->check([](const std::string& host) {
        return host.empty() || host.front() == '-' ? std::string("must be two host names, e.g. --hosts node1,node2")
                                                   : std::string();
      });
  return [o] { return run_probe_command(*o); };
}

HK_REGISTER_COMMAND("probe", "measure processes versus threads on this machine (creation, memory, messages, faults)",
                    setup_probe);

}  // namespace
