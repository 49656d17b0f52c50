// Reading and writing images: our checks of the bytes before stb sees them (header pre-scans,
// sizes), then stb through the wrappers of stb_codec.hpp.
#include "image_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "stb_codec.hpp"

namespace hk::image {

namespace {

std::string reason() {
  const char* text = stb::failure_reason();
  return text ? text : "unknown reason";
}

std::string extension_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

void write_all(const std::string& path, const std::string& header, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw ImageError(path + ": cannot create: " + std::strerror(errno));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw ImageError(path + ": write failed: " + std::strerror(errno));
}

void append_bytes(void* context, void* data, int size) {
  auto* bytes = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* begin = static_cast<const std::uint8_t*>(data);
  bytes->insert(bytes->end(), begin, begin + size);
}

}  // namespace

// Debian's stb_image (2022) trusts the code counts of a JPEG Huffman table (DHT): more than 256
// codes overflow its 257-entry size list (found by fuzz_image; regression input in
// tests/fuzz/regressions/image/). Walk the JPEG's marker segments first and refuse such a table.
// Returns "" when the stream is acceptable (or not a JPEG), else the reason.
static std::string jpeg_huffman_problem(const std::uint8_t* data, std::size_t size) {
  // stb takes any run of 0xFF fill bytes before the SOI marker (D8), as the standard allows.
  std::size_t soi = 0;
  while (soi < size && data[soi] == 0xFF) ++soi;
  if (soi == 0 || soi >= size || data[soi] != 0xD8) return "";
  std::size_t pos = soi + 1;
  while (pos + 4 <= size) {
    if (data[pos] != 0xFF) {
      // Entropy-coded data after SOS: skip to the next marker (FF followed by neither 00 nor RSTn).
      ++pos;
      continue;
    }
    const std::uint8_t marker = data[pos + 1];
    if (marker == 0xFF || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD7)) {
      pos += (marker == 0xFF) ? 1 : 2;
      continue;
    }
    if (marker == 0xD9) return "";  // EOI
    const std::size_t length = (static_cast<std::size_t>(data[pos + 2]) << 8) | data[pos + 3];
    if (length < 2) return "marker segment shorter than its length field";
    if (marker == 0xC4) {
      // Read the tables as stb does: while the segment's length says more follow, even past the
      // end of the data, where stb reads zeros (a truncated table still reaches its code builder).
      const auto byte_at = [&](std::size_t i) -> std::size_t { return i < size ? data[i] : 0; };
      long remaining = static_cast<long>(length) - 2;
      std::size_t table = pos + 4;
      while (remaining > 0) {
        std::size_t codes = 0;
        for (std::size_t i = 1; i <= 16; ++i) codes += byte_at(table + i);
        if (codes > 256) return "Huffman table with " + std::to_string(codes) + " codes (at most 256)";
        table += 17 + codes;
        remaining -= static_cast<long>(17 + codes);
      }
    }
    pos += 2 + length;
  }
  return "";
}

// stb_image's PNM header reader accumulates each number in an int without a bound: ten or more
// digits overflow it (undefined behaviour; found by fuzz_image, regression input kept). Read the
// header exactly as stb does (whitespace, '#' comments to the end of the line) and refuse a
// number of more than 9 digits. Returns "" when acceptable (or not a binary PGM/PPM), else why.
static std::string pnm_header_problem(const std::uint8_t* data, std::size_t size) {
  std::size_t next = 0;
  const auto at_eof = [&] { return next >= size; };
  const auto get8 = [&]() -> char { return next < size ? static_cast<char>(data[next++]) : '\0'; };
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  const char p = get8(), t = get8();
  if (p != 'P' || (t != '5' && t != '6')) return "";
  char c = get8();
  const auto skip_whitespace = [&] {
    for (;;) {
      while (!at_eof() && is_space(c)) c = get8();
      if (at_eof() || c != '#') break;
      while (!at_eof() && c != '\n' && c != '\r') c = get8();
    }
  };
  const char* const names[] = {"width", "height", "maximum value"};
  for (const char* name : names) {
    skip_whitespace();
    int digits = 0;
    while (!at_eof() && c >= '0' && c <= '9') {
      if (++digits > 9) return std::string("PNM header ") + name + " has more than 9 digits";
      c = get8();
    }
  }
  return "";
}

Image8 decode_image(const std::uint8_t* data, std::size_t size, const std::string& what, std::int64_t max_pixels) {
  max_pixels = std::min(max_pixels, kMaxPixels);
  if (data == nullptr || size == 0) throw ImageError(what + ": empty file, not an image");
  if (size > static_cast<std::size_t>(INT_MAX)) throw ImageError(what + ": file larger than 2 GiB, not accepted");
  const int length = static_cast<int>(size);
  if (const std::string problem = jpeg_huffman_problem(data, size); !problem.empty())
    throw ImageError(what + ": corrupt JPEG (" + problem + ")");
  if (const std::string problem = pnm_header_problem(data, size); !problem.empty())
    throw ImageError(what + ": corrupt PGM/PPM (" + problem + ")");
  int width = 0, height = 0, channels = 0;
  // Header first: dimensions are checked before stb allocates anything for the pixels.
  if (!stb::info(data, length, &width, &height, &channels)) {
    const std::string why = reason();
    if (why == "unknown image type")
      throw ImageError(what + ": unsupported image format (PNG, JPEG, binary PGM P5 and PPM P6 are read)");
    throw ImageError(what + ": corrupt or truncated image (" + why + ")");
  }
  if (width <= 0 || height <= 0) throw ImageError(what + ": zero-sized image (" + std::to_string(width) + "x" +
                                                  std::to_string(height) + ")");
  if (width > kMaxSide || height > kMaxSide ||
      static_cast<std::int64_t>(width) * height > max_pixels)
    throw ImageError(what + ": image " + std::to_string(width) + "x" + std::to_string(height) +
                     " is too large (at most " + std::to_string(kMaxSide) + " pixels a side and " +
                     std::to_string(max_pixels) + " pixels)");
  if (channels < 1 || channels > 4) throw ImageError(what + ": unsupported channel count " + std::to_string(channels));
  const int wanted = channels <= 2 ? 1 : 3;
  int got_width = 0, got_height = 0, file_channels = 0;
  std::uint8_t* pixels = stb::load(data, length, &got_width, &got_height, &file_channels, wanted);
  if (pixels == nullptr) throw ImageError(what + ": corrupt or truncated image (" + reason() + ")");
  if (got_width != width || got_height != height) {
    stb::free_pixels(pixels);
    throw ImageError(what + ": corrupt image (header and data disagree on the size)");
  }
  Image8 image;
  image.width = width;
  image.height = height;
  image.channels = wanted;
  const std::size_t bytes = static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * wanted;
  image.pixels.assign(pixels, pixels + bytes);
  stb::free_pixels(pixels);
  return image;
}

Image8 read_image(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw ImageError(path + ": cannot open: " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) throw ImageError(path + ": not a regular file");
  if (info.st_size > INT_MAX) throw ImageError(path + ": file larger than 2 GiB, not accepted");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(path + ": cannot open: " + std::strerror(errno));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ImageError(path + ": read failed: " + std::strerror(errno));
  return decode_image(bytes.data(), bytes.size(), path);
}

OutputFormat output_format(const std::string& path) {
  const std::string ext = extension_of(path);
  if (ext == ".png") return OutputFormat::png;
  if (ext == ".pgm") return OutputFormat::pgm;
  if (ext == ".ppm") return OutputFormat::ppm;
  throw ImageError("--output: the file name must end in .png, .pgm or .ppm (got '" + path + "')");
}

void check_output_channels(const std::string& path, OutputFormat format, int channels) {
  if (format == OutputFormat::pgm && channels != 1)
    throw ImageError("--output " + path + ": PGM holds grayscale, the image has " + std::to_string(channels) +
                     " channels; use .png or .ppm");
  if (format == OutputFormat::ppm && channels != 3)
    throw ImageError("--output " + path + ": PPM holds RGB, the image has 1 channel; use .png or .pgm");
}

void write_image(const std::string& path, const Image8& image) {
  const OutputFormat format = output_format(path);
  check_output_channels(path, format, image.channels);
  if (format == OutputFormat::png) {
    std::vector<std::uint8_t> encoded;
    if (!stb::write_png(append_bytes, &encoded, image.width, image.height, image.channels, image.pixels.data(),
                        image.width * image.channels))
      throw ImageError(path + ": PNG encoding failed");
    write_all(path, "", encoded.data(), encoded.size());
    return;
  }
  const std::string header = std::string(format == OutputFormat::pgm ? "P5" : "P6") + "\n" +
                             std::to_string(image.width) + " " + std::to_string(image.height) + "\n255\n";
  write_all(path, header, image.pixels.data(), image.pixels.size());
}

std::string output_writable(const std::string& path) {
  struct stat info {};
  const bool existed = ::stat(path.c_str(), &info) == 0;
  if (existed && S_ISDIR(info.st_mode)) return "is a directory";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  if (!existed) ::unlink(path.c_str());
  return "";
}

}  // namespace hk::image
