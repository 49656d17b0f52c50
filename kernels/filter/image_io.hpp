#pragma once
// Image files for the filter kernel: decoding (PNG through libpng; JPEG and binary PGM/PPM through
// stb_image) and writing (PNG through stb_image_write, PGM/PPM by hand). Kept in a library of its
// own so that a fuzzer can drive decode_image() with hostile bytes: it never crashes, it reads the
// header and checks every length and count field itself before a decoder sees the bytes (so absurd
// dimensions and lengths are refused before anything is allocated), and every failure is an
// ImageError with one clear line saying what is wrong.
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

// Largest image accepted: 2^28 pixels (16384 x 16384) and 65535 pixels per side, at any bit depth
// and channel count the formats allow.
inline constexpr std::int64_t kMaxPixels = std::int64_t{1} << 28;
inline constexpr int kMaxSide = 65535;

enum class FileFormat { png, jpeg, pnm };

// What an image file's header says, read by us (image_header.cpp), not by a decoder.
struct ImageHeader {
  FileFormat format = FileFormat::png;
  std::int64_t width = 0;
  std::int64_t height = 0;
  int file_channels = 0;      // samples per pixel in the file (a palette counts as 3)
  int bits = 8;               // bits per sample in the file
  bool progressive = false;   // JPEG: coefficients of the whole image are kept while decoding
  // Channels of the decoded Image8: 1 (gray, gray + alpha) or 3 (colour; alpha dropped).
  int channels() const { return file_channels <= 2 ? 1 : 3; }
};

// The header of the image in `data` (format, size, sample layout). Throws ImageError naming `what`
// when the format is not one we read, or the header is truncated or corrupt. The size is not
// checked against the limits here (see decode_image).
ImageHeader read_header(const std::uint8_t* data, std::size_t size, const std::string& what = "image");
// The header of an image file from its first bytes only (a 2 GiB file is not read whole for this);
// throws ImageError like read_header, also when the header lies beyond those bytes or states a
// size outside the limits.
ImageHeader read_file_header(const std::string& path);
// Peak bytes that decoding such a file takes (file bytes, the decoder's buffers, the result).
std::uint64_t decode_bytes_estimate(const ImageHeader& header, std::uint64_t file_bytes);

// Decodes PNG (8/16-bit, any colour type), JPEG (baseline/progressive), binary PGM (P5) and PPM (P6).
// Gray and gray+alpha become 1 channel, RGB and RGBA 3 channels (alpha is dropped).
// Throws ImageError naming `what` (a file name, or "image") on empty, unsupported, corrupt,
// truncated, zero-sized or too large input; the message says which, and gives the limit.
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
// A directory, a FIFO or a socket is refused (opening a FIFO for writing would wait for a reader).
std::string output_writable(const std::string& path);
// Whether two paths name the same existing file (device and inode: through symbolic and hard
// links); false when either does not exist.
bool same_file(const std::string& a, const std::string& b);

// float -> 8 bits: round to nearest (ties away from zero), clamp to 0..255, NaN -> 0.
inline std::uint8_t to_8bit(float value) {
  if (!(value > 0.0f)) return 0;  // also NaN
  if (value >= 255.0f) return 255;
  return static_cast<std::uint8_t>(std::lround(static_cast<double>(value)));  // exact: float -> double
}

}  // namespace hk::image
