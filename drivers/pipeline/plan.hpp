#pragma once
// The plan: which rank x thread mixes run, on how many nodes, and the strong/weak scaling
// families below the full size. Pure functions, no I/O: unit-tested directly. `hk run` plans
// one mix, `hk sweep` and `hk slurm submit` many; all of them parse --mixes here.
#include <memory>
#include <string>
#include <vector>

#include "layout.hpp"  // topology::Node, CpuUnit

namespace hk::pipeline {

// The limits of one mix (the same as hk run's --ranks and --threads).
inline constexpr int kMaxRanks = 1 << 20;
inline constexpr int kMaxThreadsPerRank = 4096;
// The largest core budget whose mixes are enumerated without --mixes.
inline constexpr long long kMaxPlannedBudget = 1 << 24;

struct Mix {
  int ranks = 1;
  int threads = 1;
  long long cores() const { return static_cast<long long>(ranks) * threads; }
  std::string label() const;  // "2x1"
  bool operator==(const Mix&) const = default;
};

enum class Scaling { none, strong, weak };
Scaling parse_scaling(const std::string& text);  // UsageError naming --scaling
std::string scaling_name(Scaling scaling);

// Every (R, T) with R x T = cores, most ranks first: cores x 1, ..., 1 x cores.
std::vector<Mix> divisor_mixes(int cores);
// The one parser of --mixes: "4x1,2x2,1x4" -> mixes, in the order given; an empty list, a bad
// item, a count outside [1, kMaxRanks] x [1, kMaxThreadsPerRank] and a mix given twice are a
// UsageError naming --mixes.
std::vector<Mix> parse_mixes(const std::string& text);

// The one parser of a --nodes list: "1,2" -> {1, 2}, ascending; an empty item, a count outside
// [1, kMaxNodes] and a count given twice are a UsageError naming --nodes.
inline constexpr int kMaxNodes = 1 << 16;
std::vector<int> parse_node_counts(const std::string& text);

// Core counts of a scaling study up to `budget`: 1, 2, 4, ... (powers of two below the budget)
// and the budget itself.
std::vector<int> scaling_core_counts(int budget);

// A mix family is named by its threads per rank T at full size. Its member at `cores` fills one
// rank with threads up to T, then adds ranks of T threads: 1 x cores while cores < T, and
// (cores / T) x T once T divides cores. Returns false (no member) when cores >= T and T does not
// divide cores. Every family starts at the same 1 x 1 run, the single-core baseline.
bool family_member(int family_threads, int cores, Mix& member);

// One launch of a plan (before the kernel is known): the mix, the nodes it spreads over, the
// families it belongs to (threads per rank at full size) and, for weak scaling, how many times the
// full-size problem it runs (cores / full-size cores).
struct PlannedRun {
  Mix mix;
  int nodes = 1;
  std::vector<int> families;
  double weak_factor = 1.0;
  bool operator==(const PlannedRun&) const = default;
};

// The runs for the mixes at full size `full` on `nodes` node(s):
//   none:   each full mix once;
//   strong: every family member of each full mix at scaling_core_counts(R x T) (shared members,
//           e.g. 1 x 1, run once), same problem;
//   weak:   the same members, the problem scaled by cores / (R x T) of the full mix.
// Ordered by cores, then most ranks first.
std::vector<PlannedRun> plan_runs(const std::vector<Mix>& full, Scaling scaling, int nodes = 1);

// What a command asks to run. Each node count is planned on its own core budget
// (cores_per_node x nodes); node_counts is a list so that a sweep may vary the nodes.
struct PlanRequest {
  bool mixes_given = false;  // --mixes was given (even empty: then it is refused)
  std::string mixes_text;
  Scaling scaling = Scaling::none;
  std::vector<int> node_counts = {1};
  int cores_per_node = 1;
  // --mixes aligned: the node whose topology the mixes are aligned to (null: not asked), and the
  // unit of the budget (cores, or hardware threads with --smt).
  std::shared_ptr<const topology::Node> aligned_node;
  topology::CpuUnit cpus = topology::CpuUnit::cores;
};
// Full-size mixes of one node count: the --mixes list, the aligned mixes of a node's budget
// (the same per-node mix on every node), or every divisor mix of the budget whose ranks spread
// evenly over the nodes.
std::vector<Mix> full_mixes(const PlanRequest& request, int nodes);
std::vector<PlannedRun> plan(const PlanRequest& request);

}  // namespace hk::pipeline
