// Fuzz target: the image decoder (PNG, JPEG, PGM, PPM). Hostile bytes must give an image whose
// size matches its dimensions, or a clean ImageError; never a crash, never a huge allocation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "image_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    // At most 4 Mpixel: the target checks the parsers; a tiny file that declares a legitimately
    // huge image would only measure the decoder's speed (and time out under the sanitizers).
    constexpr std::int64_t kFuzzMaxPixels = std::int64_t{1} << 22;
    const hk::image::Image8 image = hk::image::decode_image(data, size, "fuzz", kFuzzMaxPixels);
    const auto expected = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) *
                          static_cast<std::size_t>(image.channels);
    if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3) ||
        image.pixels.size() != expected)
      std::abort();
  } catch (const hk::image::ImageError&) {
  }
  return 0;
}
