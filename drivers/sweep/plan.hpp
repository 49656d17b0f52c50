#pragma once
// Which configurations a sweep runs: the rank x thread mixes at the core budget, and the
// strong/weak scaling families below it. Pure functions, no I/O: unit-tested directly.
#include <string>
#include <vector>

namespace hk::sweep {

struct Mix {
  int ranks = 1;
  int threads = 1;
  int cores() const { return ranks * threads; }
  std::string label() const;  // "2x1"
  bool operator==(const Mix&) const = default;
};

enum class Scaling { none, strong, weak };
Scaling parse_scaling(const std::string& text);  // UsageError naming --scaling
std::string scaling_name(Scaling scaling);

// Every (R, T) with R x T = cores, most ranks first: cores x 1, ..., 1 x cores.
std::vector<Mix> divisor_mixes(int cores);
// "4x1,2x2,1x4" -> mixes, in the order given, duplicates refused. UsageError naming --mixes.
std::vector<Mix> parse_mixes(const std::string& text);

// Core counts of a scaling study up to `budget`: 1, 2, 4, ... (powers of two below the budget)
// and the budget itself.
std::vector<int> scaling_core_counts(int budget);

// A mix family is named by its threads per rank T at full size. Its member at `cores` fills one
// rank with threads up to T, then adds ranks of T threads: 1 x cores while cores < T, and
// (cores / T) x T once T divides cores. Returns false (no member) when cores >= T and T does not
// divide cores. Every family starts at the same 1 x 1 run, the single-core baseline.
bool family_member(int family_threads, int cores, Mix& member);

// One launch of a sweep (before the kernel is known): the mix, its core count, the families it
// belongs to (threads per rank at full size) and, for weak scaling, how many times the full-size
// problem it runs (cores / full-size cores).
struct PlannedRun {
  Mix mix;
  std::vector<int> families;
  double weak_factor = 1.0;
  bool operator==(const PlannedRun&) const = default;
};

// The runs for the mixes at full size `full`:
//   none:   each full mix once;
//   strong: every family member of each full mix at scaling_core_counts(R x T) (shared members,
//           e.g. 1 x 1, run once), same problem;
//   weak:   the same members, the problem scaled by cores / (R x T) of the full mix.
// Ordered by cores, then most ranks first.
std::vector<PlannedRun> plan_runs(const std::vector<Mix>& full, Scaling scaling);

}  // namespace hk::sweep
