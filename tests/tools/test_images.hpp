// Image files made for the tests, so that large or hostile images need not be committed: PNG
// (any size the header can state, 8 or 16 bits, gray / RGB / palette / gray+alpha / RGBA, with
// or without pixel data), JPEG headers and PGM/PPM headers.
//
// PNG pixels: row 0 holds byte i = (7 i + 3) mod 256 (after the filter byte), every other row
// repeats it through the Up filter, so a 16384 x 16384 16-bit RGBA image (2 GiB of samples)
// compresses to a few MiB and is written in seconds; expected_sample() gives every decoded value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hk::test_images {

enum class Colour { gray = 0, rgb = 2, palette = 3, gray_alpha = 4, rgba = 6 };

struct PngSpec {
  std::uint32_t width = 1;
  std::uint32_t height = 1;
  int depth = 8;  // 8 or 16 (palette: 8)
  Colour colour = Colour::gray;
  bool pixels = true;  // false: signature, IHDR and IEND only
};

// Samples per pixel in the file (a palette index counts as 1).
int file_channels(Colour colour);
// The whole file.
std::vector<std::uint8_t> png(const PngSpec& spec);
// Writes the file; returns its size in bytes. Throws std::runtime_error on I/O failure.
std::uint64_t write_png(const std::string& path, const PngSpec& spec);
// The decoded 8-bit value of channel c (0..2 for colour, 0 for gray) of pixel x in any row,
// as the reader must produce it (16-bit samples: their high byte; alpha dropped).
std::uint8_t expected_sample(const PngSpec& spec, std::uint32_t x, int c);

// SOI, a baseline frame header (SOF0) of the given size and component count, EOI.
std::vector<std::uint8_t> jpeg_header(std::uint32_t width, std::uint32_t height, int components);
// "P5" or "P6" header text with the given numbers; `pixel_bytes` zero bytes follow.
std::vector<std::uint8_t> pnm(char type, std::uint64_t width, std::uint64_t height, int max_value,
                              std::size_t pixel_bytes);

std::uint64_t write_file(const std::string& path, const std::vector<std::uint8_t>& bytes);

}  // namespace hk::test_images
