#pragma once
// Image files for the filter kernel: decoding (PNG, JPEG, binary PGM/PPM through stb_image) and
// writing (PNG through stb_image_write, PGM/PPM by hand). Kept in a library of its own so that a
// fuzzer can drive decode_image() with hostile bytes: it never crashes, it refuses absurd
// dimensions before anything is allocated, and every failure is an ImageError with one clear line.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace hk::image {

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// 8-bit pixels, interleaved channels (1: grayscale, 3: RGB), rows top to bottom.
struct Image8 {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels;  // width * height * channels bytes
};

// Largest image accepted: 2^28 pixels (16384 x 16384) and 65535 pixels per side.
inline constexpr std::int64_t kMaxPixels = std::int64_t{1} << 28;
inline constexpr int kMaxSide = 65535;

// Decodes PNG (8/16-bit, any colour type), JPEG (baseline/progressive), binary PGM (P5) and PPM (P6).
// Gray and gray+alpha become 1 channel, RGB and RGBA 3 channels (alpha is dropped).
// Throws ImageError naming `what` (a file name, or "image") on empty, unsupported, corrupt,
// truncated, zero-sized or too large input.
// `max_pixels` (at most kMaxPixels) lowers the size limit: the fuzz target uses it so that a small
// file declaring a legitimately huge image is refused rather than decoded for seconds.
Image8 decode_image(const std::uint8_t* data, std::size_t size, const std::string& what = "image",
                    std::int64_t max_pixels = kMaxPixels);
// Reads the file and decodes it; a missing or unreadable file is an ImageError too.
Image8 read_image(const std::string& path);

// Output formats by file extension: ".png" (1 or 3 channels), ".pgm" (1 channel), ".ppm" (3 channels).
enum class OutputFormat { png, pgm, ppm };
// The format for `path`, or an ImageError naming the allowed extensions.
OutputFormat output_format(const std::string& path);
// An ImageError when `format` cannot hold `channels` channels.
void check_output_channels(const std::string& path, OutputFormat format, int channels);
// Writes the image (throws ImageError with the system's reason on failure).
void write_image(const std::string& path, const Image8& image);
// Whether `path` can be created for writing (creates and removes it); the reason when it cannot.
std::string output_writable(const std::string& path);

// float -> 8 bits: round to nearest (ties away from zero), clamp to 0..255, NaN -> 0.
inline std::uint8_t to_8bit(float value) {
  if (!(value > 0.0f)) return 0;  // also NaN
  if (value >= 255.0f) return 255;
  return static_cast<std::uint8_t>(std::lround(static_cast<double>(value)));  // exact: float -> double
}

}  // namespace hk::image
