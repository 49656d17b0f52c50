// Thin wrappers over stb_image / stb_image_write. stb_codec.cpp is the only file that compiles
// stb's implementation, so it is the only one built without three UBSan checks (see
// CMakeLists.txt); image_io.cpp, with our own header pre-scans, keeps every check.
#pragma once

#include <cstdint>

namespace hk::image::stb {

// stb's reason for the last failure on this thread, or nullptr.
const char* failure_reason();
// Decoded 8-bit pixels with `wanted` channels (free with free_pixels), or nullptr.
std::uint8_t* load(const std::uint8_t* data, int length, int* width, int* height, int* file_channels, int wanted);
void free_pixels(std::uint8_t* pixels);
// PNG encoding; write(context, bytes, size) receives the output in pieces. False on failure.
using WriteFn = void (*)(void* context, void* data, int size);
bool write_png(WriteFn write, void* context, int width, int height, int channels, const std::uint8_t* pixels,
               int row_bytes);

}  // namespace hk::image::stb
