#pragma once
// Side-by-side timing for the benchmarks: every contender (our code on each SIMD path, the
// baseline) runs once per round and the rounds repeat, so all of them see the same machine load
// (the machine is shared); each contender's median and spread (min..max) come from its rounds.
// Also: which SIMD paths to measure, and the load average to print with the figures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "hk/simd.hpp"

namespace hk::bench {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Spread {
  double median = 0, min = 0, max = 0;
};

// Of values (times or rates); empty: zeros.
inline Spread spread_of(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return {n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]), values.front(), values.back()};
}

struct Contender {
  std::string name;
  std::function<double()> run;  // one timed run; returns its seconds
  std::vector<double> seconds;  // one per round
};

// `rounds` rounds; in each, every contender runs once, in order.
inline void run_rounds(std::vector<Contender>& contenders, int rounds) {
  for (int r = 0; r < rounds; ++r)
    for (Contender& c : contenders) c.seconds.push_back(c.run());
}

// A rate per round (work / seconds), so the spread reads in the rate's unit.
inline Spread rate_spread(const Contender& c, double work) {
  std::vector<double> rates;
  for (double s : c.seconds) rates.push_back(work / s);
  return spread_of(rates);
}

// The SIMD paths of this CPU and build, best first, limited to those named in `wanted`
// (comma-separated, e.g. "avx512,avx2"; empty: all). Unknown names are ignored.
inline std::vector<simd::Path> paths_to_measure(const std::string& wanted) {
  std::vector<std::string> names;
  for (std::size_t at = 0; at <= wanted.size();) {
    const std::size_t comma = std::min(wanted.find(',', at), wanted.size());
    names.push_back(wanted.substr(at, comma - at));
    at = comma + 1;
  }
  std::vector<simd::Path> paths;
  for (simd::Path p : simd::available_paths())
    if (wanted.empty() || std::find(names.begin(), names.end(), simd::path_name(p)) != names.end()) paths.push_back(p);
  return paths;
}

// "load average 1.23 1.10 0.98" from /proc/loadavg: other work on the machine while measuring.
inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0, five = 0, fifteen = 0;
  in >> one >> five >> fifteen;
  char text[96];
  std::snprintf(text, sizeof text, "load average %.2f %.2f %.2f", one, five, fifteen);
  return text;
}

}  // namespace hk::bench
