// PNG decoding through libpng (the Debian package): streamed row by row into the result, so the
// decoder needs no buffer of the whole file's samples (stb_image's PNG path needs two, and cannot
// hold a 16384 x 16384 16-bit RGBA image in them). Inside the image library only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hk::image::png {

// Decodes `data` into `out` (width * height * channels bytes, rows top to bottom, interleaved):
// 8 bits per sample (16-bit samples keep their high byte, as stb_image does), palettes expanded
// to RGB, gray below 8 bits scaled to 0..255, alpha dropped; channels 1 for gray and gray+alpha
// files, 3 for the others. The header must have been checked (image_header.cpp). Returns "" on
// success, else libpng's reason.
std::string decode(const std::uint8_t* data, std::size_t size, int width, int height, int channels, std::uint8_t* out);

}  // namespace hk::image::png
