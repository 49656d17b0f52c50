// Inside the image library: our reading of the bytes before a decoder sees them
// (image_header.cpp). Not part of the library's interface (image_io.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "image_io.hpp"

namespace hk::image {

// The header from the first `size` bytes of a file: nullopt when they end before the header does
// (a prefix of the file); ImageError when the header is unsupported or corrupt.
std::optional<ImageHeader> header_from_prefix(const std::uint8_t* data, std::size_t size, const std::string& what);

// Zero-sized, or larger than kMaxSide a side or `max_pixels` in all: ImageError with the limits.
void check_dimensions(const ImageHeader& header, const std::string& what, std::int64_t max_pixels);

// Every length and count field of the whole file that a decoder would trust: PNG chunk lengths
// and the amount of compressed pixel data; JPEG segment lengths and Huffman code counts; the
// pixel bytes of a PGM/PPM. Throws ImageError ("truncated ..." or "corrupt ...") naming `what`.
void check_structure(const ImageHeader& header, const std::uint8_t* data, std::size_t size, const std::string& what);

}  // namespace hk::image
