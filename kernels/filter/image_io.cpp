// Reading and writing images: our checks of the bytes before a decoder sees them (image_header.cpp),
// then libpng (png_codec.hpp) or stb (stb_codec.hpp) to decode, stb to encode PNG.
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

#include "image_scan.hpp"
#include "png_codec.hpp"
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

Image8 decode_image(const std::uint8_t* data, std::size_t size, const std::string& what, std::int64_t max_pixels) {
  max_pixels = std::min(max_pixels, kMaxPixels);
  if (data == nullptr || size == 0) throw ImageError(what + ": empty file, not an image");
  if (size > static_cast<std::size_t>(INT_MAX)) throw ImageError(what + ": file larger than 2 GiB, not accepted");
  // Our reading first: the header, its size against the limits, then every length and count
  // field, so that no decoder allocates what a hostile file claims.
  const ImageHeader header = read_header(data, size, what);
  check_dimensions(header, what, max_pixels);
  check_structure(header, data, size, what);
  Image8 image;
  image.width = static_cast<int>(header.width);
  image.height = static_cast<int>(header.height);
  image.channels = header.channels();
  const std::size_t bytes = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) *
                            static_cast<std::size_t>(image.channels);
  if (header.format == FileFormat::png) {
    image.pixels.resize(bytes);
    const std::string why = png::decode(data, size, image.width, image.height, image.channels, image.pixels.data());
    if (!why.empty()) throw ImageError(what + ": corrupt or truncated PNG (" + why + ")");
    return image;
  }
  const char* format = header.format == FileFormat::jpeg ? "JPEG" : "PGM/PPM";
  int got_width = 0, got_height = 0, file_channels = 0;
  std::uint8_t* pixels =
      stb::load(data, static_cast<int>(size), &got_width, &got_height, &file_channels, image.channels);
  if (pixels == nullptr) throw ImageError(what + ": corrupt or truncated " + format + " (" + reason() + ")");
  if (got_width != image.width || got_height != image.height) {
    stb::free_pixels(pixels);
    throw ImageError(what + ": corrupt " + format + " (the decoder reads another size than the header says)");
  }
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
  struct stat name {}, target {};
  const bool existed = ::lstat(path.c_str(), &name) == 0;  // the name itself: a dangling link exists
  if (::stat(path.c_str(), &target) == 0) {
    if (S_ISDIR(target.st_mode)) return "is a directory";
    if (S_ISFIFO(target.st_mode)) return "is a FIFO (named pipe), not a file";
    if (S_ISSOCK(target.st_mode)) return "is a socket, not a file";
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NONBLOCK, 0644);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  if (!existed) ::unlink(path.c_str());
  return "";
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat first {}, second {};
  if (::stat(a.c_str(), &first) != 0 || ::stat(b.c_str(), &second) != 0) return false;
  return first.st_dev == second.st_dev && first.st_ino == second.st_ino;
}

}  // namespace hk::image
