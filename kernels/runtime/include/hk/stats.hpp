#pragma once
#include <cstddef>
#include <vector>

namespace hk {

// The one median of the kit (records, sweeps, probe, benchmarks): the middle value, or the mean
// of the two middle values of an even count. Throws std::invalid_argument on an empty list.
double median(std::vector<double> values);

// min, median and max of a list of timings, and the position (in run order) of the repetition
// whose time is the median one (the lower middle for an even count), so that its phase times
// can be reported beside it.
struct Summary {
  double min = 0;
  double median = 0;
  double max = 0;
  std::size_t median_index = 0;
};
Summary summarize(const std::vector<double>& values);

}  // namespace hk
