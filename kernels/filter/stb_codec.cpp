// The one translation unit with stb's implementation (static functions, wrapped in stb_codec.hpp).
// stb decodes JPEG and PGM/PPM only: PNG goes through libpng (png_codec.cpp).
#include "stb_codec.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNM
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS 65535
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace hk::image::stb {

const char* failure_reason() { return stbi_failure_reason(); }

std::uint8_t* load(const std::uint8_t* data, int length, int* width, int* height, int* file_channels, int wanted) {
  return stbi_load_from_memory(data, length, width, height, file_channels, wanted);
}

void free_pixels(std::uint8_t* pixels) { stbi_image_free(pixels); }

bool write_png(WriteFn write, void* context, int width, int height, int channels, const std::uint8_t* pixels,
               int row_bytes) {
  return stbi_write_png_to_func(write, context, width, height, channels, pixels, row_bytes) != 0;
}

}  // namespace hk::image::stb
