#pragma once
#include <string>

namespace hk {

// What one repetition of the whole run (all ranks together) does, so reporters can turn
// time into rates. `rate_unit` picks the headline rate: "GFLOP/s" uses flops, "GB/s" bytes,
// "M<item>/s" items.
struct Work {
  double flops = 0;
  double bytes = 0;
  double items = 0;
  std::string rate_unit;
};

}  // namespace hk
