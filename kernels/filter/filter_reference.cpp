// The oracle: the documented filter arithmetic as plain serial loops over the whole image, with
// clamped indices instead of halos, ring buffers, strips or vectors. Compiled with
// -ffp-contract=off like the blocked code, so both perform the same float32 operations.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "filter_core.hpp"

namespace hk::filter {

std::vector<float> reference_filter(const FilterSpec& spec, std::vector<float> image, int width, int height,
                                    int channels, int iterations) {
  const auto at = [&](const std::vector<float>& img, int c, int x, int y) {
    x = std::clamp(x, 0, width - 1);
    y = std::clamp(y, 0, height - 1);
    return img[(static_cast<std::size_t>(c) * height + y) * width + x];
  };
  const auto index = [&](int c, int x, int y) { return (static_cast<std::size_t>(c) * height + y) * width + x; };
  const std::vector<float>& w = spec.weights;
  const int r = spec.radius;
  std::vector<float> rows(image.size()), out(image.size());
  for (int iteration = 0; iteration < iterations; ++iteration) {
    for (int c = 0; c < channels; ++c) {
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
          if (spec.kind == FilterKind::sobel) {
            const float gx = ((at(image, c, x + 1, y - 1) + 2.0f * at(image, c, x + 1, y)) + at(image, c, x + 1, y + 1)) -
                             ((at(image, c, x - 1, y - 1) + 2.0f * at(image, c, x - 1, y)) + at(image, c, x - 1, y + 1));
            const float gy = ((at(image, c, x - 1, y + 1) + 2.0f * at(image, c, x, y + 1)) + at(image, c, x + 1, y + 1)) -
                             ((at(image, c, x - 1, y - 1) + 2.0f * at(image, c, x, y - 1)) + at(image, c, x + 1, y - 1));
            out[index(c, x, y)] = std::sqrt(gx * gx + gy * gy);
          } else {
            float sum = w[0] * at(image, c, x, y);
            for (int k = 1; k <= r; ++k) sum = sum + w[k] * (at(image, c, x - k, y) + at(image, c, x + k, y));
            rows[index(c, x, y)] = sum;
          }
        }
      }
      if (spec.kind == FilterKind::sobel) continue;
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
          float sum = w[0] * at(rows, c, x, y);
          for (int k = 1; k <= r; ++k) sum = sum + w[k] * (at(rows, c, x, y - k) + at(rows, c, x, y + k));
          out[index(c, x, y)] = sum;
        }
      }
    }
    image.swap(out);
  }
  return image;
}

}  // namespace hk::filter
