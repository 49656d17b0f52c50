// hybrid_pi: a small MPI+OpenMP program written for the tests of `hk run --exec` (issue 18). It is
// deliberately NOT part of the kit (no hk runtime, no record): hk observes it from outside, as it
// would a user's application. It integrates 4/(1+x^2) over [0,1] with the midpoint rule (= pi),
// the intervals split over ranks and, inside each rank, over OpenMP threads; each step passes the
// partial sums around a ring (point-to-point) and sums them with MPI_Allreduce (collective).
//
//   hybrid_pi --threads T [--intervals N] [--steps S] [--crash | --hang | --no-fom | --wrong]
//
// Rank 0 prints "check passed" (error < 1e-9) or "check FAILED" (then exits 1), and
// "FOM: <value> Mintervals/s". The flags make the failure cases of the tests:
//   --crash   rank 0 dies of SIGSEGV after MPI_Init          --hang   every rank sleeps forever
//   --no-fom  the FOM line is not printed                    --wrong  prints "check FAILED" but exits 0
#include <mpi.h>
#include <omp.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct Options {
  int threads = 1;
  long long intervals = 20'000'000;
  int steps = 4;
  bool crash = false, hang = false, no_fom = false, wrong = false;
};

[[noreturn]] void usage(const char* what) {
  std::fprintf(stderr, "hybrid_pi: error: %s (usage: --threads T [--intervals N] [--steps S] "
                       "[--crash|--hang|--no-fom|--wrong])\n", what);
  std::exit(2);
}

long long positive(const char* text) {
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0 || value > 1'000'000'000'000LL) usage("counts are positive integers");
  return value;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--threads" && has_value) o.threads = static_cast<int>(positive(argv[++i]));
    else if (arg == "--intervals" && has_value) o.intervals = positive(argv[++i]);
    else if (arg == "--steps" && has_value) o.steps = static_cast<int>(positive(argv[++i]));
    else if (arg == "--crash") o.crash = true;
    else if (arg == "--hang") o.hang = true;
    else if (arg == "--no-fom") o.no_fom = true;
    else if (arg == "--wrong") o.wrong = true;
    else usage(("unknown argument " + arg).c_str());
  }
  return o;
}

// This rank's share of the midpoint sum, over its OpenMP threads.
double partial_sum(long long intervals, int rank, int ranks) {
  const long long first = intervals * rank / ranks, last = intervals * (rank + 1) / ranks;
  const double h = 1.0 / static_cast<double>(intervals);
  double sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (long long i = first; i < last; ++i) {
    const double x = (static_cast<double>(i) + 0.5) * h;
    sum += 4.0 / (1.0 + x * x);
  }
  return sum * h;
}

// Passes the partial sum once around the ring (every rank sends right, receives from the left).
double ring_pass(double mine, int rank, int ranks) {
  double from_left = 0;
  MPI_Sendrecv(&mine, 1, MPI_DOUBLE, (rank + 1) % ranks, 7, &from_left, 1, MPI_DOUBLE, (rank + ranks - 1) % ranks, 7,
               MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return from_left;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const Options o = parse(argc, argv);
  omp_set_num_threads(o.threads);
  if (o.crash && rank == 0) std::raise(SIGSEGV);
  const double start = MPI_Wtime();
  double pi = 0, ring_total = 0;
  for (int step = 0; step < o.steps; ++step) {
    const double mine = partial_sum(o.intervals, rank, ranks);
    ring_total += ring_pass(mine, rank, ranks);
    MPI_Allreduce(&mine, &pi, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  }
  const double seconds = MPI_Wtime() - start;
  double ring_pi = 0;  // the ring's sums, added up, are pi again: a check of the point-to-point path
  MPI_Allreduce(&ring_total, &ring_pi, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  ring_pi /= o.steps;
  while (o.hang) pause();
  const double error = std::fabs(pi - M_PI) + std::fabs(ring_pi - M_PI);
  const bool passed = error < 1e-9 && !o.wrong;
  if (rank == 0) {
    char text[512];
    int length = std::snprintf(text, sizeof(text), "hybrid_pi: ranks %d threads %d pi %.15f error %.3g check %s\n",
                               ranks, o.threads, pi, error, passed ? "passed" : "FAILED");
    if (!o.no_fom)
      length += std::snprintf(text + length, sizeof(text) - static_cast<std::size_t>(length), "FOM: %.3f Mintervals/s\n",
                              static_cast<double>(o.intervals) * o.steps / seconds / 1e6);
    [[maybe_unused]] const ssize_t written = write(STDOUT_FILENO, text, static_cast<std::size_t>(length));
  }
  MPI_Finalize();
  return passed || o.wrong ? 0 : 1;
}
