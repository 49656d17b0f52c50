#pragma once
#include <cstdint>
#include <stdexcept>

namespace hk {

// Half-open range [begin, end) of items.
struct Range {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};

// The one place work is split: `total` items over `parts` parts, part `index` gets a contiguous
// range; the first (total % parts) parts get one item more. Every kernel uses it for ranks
// and, where it splits by hand, for threads.
inline Range block_range(std::int64_t total, std::int64_t parts, std::int64_t index) {
  if (parts <= 0 || index < 0 || index >= parts || total < 0) {
    throw std::invalid_argument("block_range: need total >= 0, parts > 0 and 0 <= index < parts");
  }
  const std::int64_t base = total / parts;
  const std::int64_t extra = total % parts;
  const std::int64_t begin = index * base + (index < extra ? index : extra);
  return {begin, begin + base + (index < extra ? 1 : 0)};
}

}  // namespace hk
