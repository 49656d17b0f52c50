#include "test_images.hpp"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <stdexcept>

namespace hk::test_images {

namespace {

using Bytes = std::vector<std::uint8_t>;

void put32(Bytes& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

// One chunk: length, type, data, CRC of type and data.
void chunk(Bytes& out, const char* type, const Bytes& data) {
  put32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(0L, out.data() + type_at, static_cast<uInt>(4 + data.size()));
  put32(out, static_cast<std::uint32_t>(crc));
}

std::uint8_t row_byte(std::size_t i) { return static_cast<std::uint8_t>(7 * i + 3); }

std::size_t row_bytes(const PngSpec& spec) {
  return static_cast<std::size_t>(spec.width) * file_channels(spec.colour) * (spec.depth / 8);
}

// Deflates the filtered rows, handing each finished piece of the stream to `emit`.
void deflate_rows(const PngSpec& spec, const std::function<void(const Bytes&)>& emit) {
  z_stream z{};
  if (deflateInit(&z, Z_BEST_SPEED) != Z_OK) throw std::runtime_error("deflateInit failed");
  const std::size_t width = row_bytes(spec);
  Bytes first(width + 1), other(width + 1, 0), out(1 << 20);
  first[0] = 0;  // filter None
  for (std::size_t i = 0; i < width; ++i) first[i + 1] = row_byte(i);
  other[0] = 2;  // filter Up: the row above, unchanged
  for (std::uint32_t y = 0; y <= spec.height; ++y) {
    const bool last = y == spec.height;
    Bytes& row = y == 0 ? first : other;
    z.next_in = last ? nullptr : row.data();
    z.avail_in = last ? 0 : static_cast<uInt>(row.size());
    do {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      if (deflate(&z, last ? Z_FINISH : Z_NO_FLUSH) == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
      const std::size_t produced = out.size() - z.avail_out;
      if (produced > 0) emit(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(produced)));
    } while (z.avail_out == 0);  // with Z_FINISH too: room left means the stream ended
  }
  deflateEnd(&z);
}

Bytes ihdr(const PngSpec& spec) {
  Bytes data;
  put32(data, spec.width);
  put32(data, spec.height);
  data.push_back(static_cast<std::uint8_t>(spec.depth));
  data.push_back(static_cast<std::uint8_t>(spec.colour));
  data.insert(data.end(), {0, 0, 0});
  return data;
}

// Palette entry k: (k, 255 - k, k xor 0x55).
Bytes palette() {
  Bytes data;
  for (int k = 0; k < 256; ++k)
    data.insert(data.end(), {static_cast<std::uint8_t>(k), static_cast<std::uint8_t>(255 - k),
                             static_cast<std::uint8_t>(k ^ 0x55)});
  return data;
}

// The file in pieces: everything before the pixels, the IDAT chunks, IEND.
void png_pieces(const PngSpec& spec, const std::function<void(const Bytes&)>& emit) {
  Bytes head = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  chunk(head, "IHDR", ihdr(spec));
  if (spec.colour == Colour::palette) chunk(head, "PLTE", palette());
  emit(head);
  if (spec.pixels)
    deflate_rows(spec, [&](const Bytes& piece) {
      Bytes idat;
      chunk(idat, "IDAT", piece);
      emit(idat);
    });
  Bytes tail;
  chunk(tail, "IEND", {});
  emit(tail);
}

}  // namespace

int file_channels(Colour colour) {
  switch (colour) {
    case Colour::gray: return 1;
    case Colour::rgb: return 3;
    case Colour::palette: return 1;
    case Colour::gray_alpha: return 2;
    case Colour::rgba: return 4;
  }
  return 1;
}

Bytes png(const PngSpec& spec) {
  Bytes file;
  png_pieces(spec, [&](const Bytes& piece) { file.insert(file.end(), piece.begin(), piece.end()); });
  return file;
}

std::uint64_t write_png(const std::string& path, const PngSpec& spec) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::uint64_t written = 0;
  png_pieces(spec, [&](const Bytes& piece) {
    out.write(reinterpret_cast<const char*>(piece.data()), static_cast<std::streamsize>(piece.size()));
    written += piece.size();
  });
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
  return written;
}

std::uint8_t expected_sample(const PngSpec& spec, std::uint32_t x, int c) {
  const std::size_t bytes = static_cast<std::size_t>(spec.depth / 8);
  if (spec.colour == Colour::palette) {
    const std::uint8_t k = row_byte(x);
    const std::uint8_t entry[3] = {k, static_cast<std::uint8_t>(255 - k), static_cast<std::uint8_t>(k ^ 0x55)};
    return entry[c];
  }
  // The high byte of a 16-bit sample comes first.
  return row_byte((static_cast<std::size_t>(x) * file_channels(spec.colour) + static_cast<std::size_t>(c)) * bytes);
}

Bytes jpeg_header(std::uint32_t width, std::uint32_t height, int components) {
  Bytes file = {0xFF, 0xD8, 0xFF, 0xC0};
  const std::size_t length = 8 + 3 * static_cast<std::size_t>(components);
  file.push_back(static_cast<std::uint8_t>(length >> 8));
  file.push_back(static_cast<std::uint8_t>(length));
  file.push_back(8);
  file.insert(file.end(), {static_cast<std::uint8_t>(height >> 8), static_cast<std::uint8_t>(height),
                           static_cast<std::uint8_t>(width >> 8), static_cast<std::uint8_t>(width),
                           static_cast<std::uint8_t>(components)});
  for (int c = 0; c < components; ++c) file.insert(file.end(), {static_cast<std::uint8_t>(c + 1), 0x11, 0});
  file.insert(file.end(), {0xFF, 0xD9});
  return file;
}

Bytes pnm(char type, std::uint64_t width, std::uint64_t height, int max_value, std::size_t pixel_bytes) {
  const std::string header = std::string("P") + type + "\n" + std::to_string(width) + " " + std::to_string(height) +
                             "\n" + std::to_string(max_value) + "\n";
  Bytes file(header.begin(), header.end());
  file.resize(file.size() + pixel_bytes, 0);
  return file;
}

std::uint64_t write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
  return bytes.size();
}

}  // namespace hk::test_images
