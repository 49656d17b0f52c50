// libpng reports errors through longjmp: only C frames (libpng's) lie between setjmp and the
// jump, and nothing here with a destructor is created after setjmp.
#include "png_codec.hpp"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

namespace hk::image::png {

namespace {

struct Reader {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::size_t offset = 0;
  char message[200] = {};
};

void read_bytes(png_structp png, png_bytep out, png_size_t length) {
  auto* reader = static_cast<Reader*>(png_get_io_ptr(png));
  if (length > reader->size - reader->offset) png_error(png, "the file ends early (truncated)");
  std::memcpy(out, reader->data + reader->offset, length);
  reader->offset += length;
}

void on_error(png_structp png, png_const_charp message) {
  auto* reader = static_cast<Reader*>(png_get_error_ptr(png));
  std::snprintf(reader->message, sizeof reader->message, "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

// The transformations to 8-bit gray or RGB without alpha; false when the result would not have
// `channels` channels of `width` pixels.
bool set_transformations(png_structp png, png_infop info, int width, int channels) {
  const int colour = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_strip_16(png);
  png_set_strip_alpha(png);  // also the alpha a tRNS chunk would add
  (void)png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return png_get_channels(png, info) == channels && png_get_bit_depth(png, info) == 8 &&
         png_get_rowbytes(png, info) == static_cast<png_size_t>(width) * static_cast<png_size_t>(channels);
}

}  // namespace

std::string decode(const std::uint8_t* data, std::size_t size, int width, int height, int channels, std::uint8_t* out) {
  Reader reader;
  reader.data = data;
  reader.size = size;
  std::vector<png_bytep> rows(static_cast<std::size_t>(height));
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = out + y * static_cast<std::size_t>(width) * channels;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, on_error, on_warning);
  if (png == nullptr) return "libpng could not start";
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return "libpng could not start";
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return reader.message;
  }
  png_set_read_fn(png, &reader, read_bytes);
  png_read_info(png, info);
  if (png_get_image_width(png, info) != static_cast<png_uint_32>(width) ||
      png_get_image_height(png, info) != static_cast<png_uint_32>(height))
    png_error(png, "libpng reads another size from the header");
  if (!set_transformations(png, info, width, channels)) png_error(png, "unexpected sample layout after conversion");
  png_read_image(png, rows.data());
  png_destroy_read_struct(&png, &info, nullptr);
  return "";
}

}  // namespace hk::image::png
