// Our own reading of image files before a decoder sees them: the header (format, size, sample
// layout: for clear messages and memory estimates) and every length or count field a decoder
// would trust (PNG chunk lengths, JPEG segment lengths and Huffman code counts, PNM header
// numbers and pixel bytes). Each refusal says what is wrong: unsupported, truncated, corrupt.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "image_scan.hpp"

namespace hk::image {

namespace {

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }

[[noreturn]] void refuse(const std::string& what, const std::string& text) { throw ImageError(what + ": " + text); }

std::string hex_byte(unsigned value) {
  char text[8];
  std::snprintf(text, sizeof text, "%02X", value & 0xFFu);
  return text;
}

// A PNG chunk type as text: letters as they are, anything else as \xNN.
std::string chunk_name(const std::uint8_t* type) {
  std::string name;
  for (int i = 0; i < 4; ++i) {
    const bool letter = (type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z');
    name += letter ? std::string(1, static_cast<char>(type[i])) : "\\x" + hex_byte(type[i]);
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// PNG: the signature, then IHDR as the first chunk (13 bytes at a fixed place).
constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

bool is_png(const std::uint8_t* data, std::size_t size) {
  return size >= 8 && std::memcmp(data, kPngSignature, 8) == 0;
}

std::optional<ImageHeader> png_header(const std::uint8_t* data, std::size_t size, const std::string& what) {
  if (size < 16) return std::nullopt;
  if (std::memcmp(data + 12, "IHDR", 4) != 0)
    refuse(what, "corrupt PNG (the first chunk is '" + chunk_name(data + 12) + "', not the IHDR header)");
  if (be32(data + 8) != 13)
    refuse(what, "corrupt PNG (an IHDR header of " + std::to_string(be32(data + 8)) + " bytes; 13 expected)");
  if (size < 8 + 8 + 13) return std::nullopt;
  const std::uint8_t* ihdr = data + 16;
  const int depth = ihdr[8], colour = ihdr[9];
  bool depth_ok = false;
  int channels = 0;
  switch (colour) {
    case 0: channels = 1; depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16; break;
    case 2: channels = 3; depth_ok = depth == 8 || depth == 16; break;
    case 3: channels = 3; depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8; break;
    case 4: channels = 2; depth_ok = depth == 8 || depth == 16; break;
    case 6: channels = 4; depth_ok = depth == 8 || depth == 16; break;
    default: refuse(what, "corrupt PNG (colour type " + std::to_string(colour) + "; 0, 2, 3, 4 or 6 exist)");
  }
  if (!depth_ok)
    refuse(what, "corrupt PNG (bit depth " + std::to_string(depth) + " with colour type " + std::to_string(colour) + ")");
  if (ihdr[10] != 0 || ihdr[11] != 0) refuse(what, "corrupt PNG (unknown compression or filter method)");
  if (ihdr[12] > 1) refuse(what, "corrupt PNG (unknown interlace method " + std::to_string(ihdr[12]) + ")");
  ImageHeader header;
  header.format = FileFormat::png;
  header.width = be32(ihdr);
  header.height = be32(ihdr + 4);
  header.file_channels = channels;
  header.bits = depth;
  return header;
}

// Chunk lengths against the bytes the file has left (a decoder would allocate what a length
// claims), and the compressed pixel data against the size it must inflate to: deflate compresses
// at most 1032:1, so less data than that cannot hold the image.
void check_png(const ImageHeader& header, const std::uint8_t* data, std::size_t size, const std::string& what) {
  std::size_t pos = 8;
  std::uint64_t compressed = 0;
  while (pos + 8 <= size) {
    const std::uint32_t length = be32(data + pos);
    const std::string type = chunk_name(data + pos + 4);
    if (length > 0x7FFFFFFFu)
      refuse(what, "corrupt PNG (chunk '" + type + "' at byte " + std::to_string(pos) + " has length " +
                       std::to_string(length) + "; at most 2^31-1)");
    const std::size_t left = size - pos - 8;
    if (length > left)
      refuse(what, "truncated PNG (chunk '" + type + "' at byte " + std::to_string(pos) + " claims " +
                       std::to_string(length) + " bytes, " + std::to_string(left) + " are left)");
    if (type == "IDAT") compressed += length;
    if (type == "IEND") break;
    pos += 12 + static_cast<std::size_t>(length);
  }
  if (compressed == 0) refuse(what, "truncated or corrupt PNG (no pixel data: no IDAT chunk before the end)");
  const double row_bytes = std::ceil(static_cast<double>(header.width) * header.file_channels * header.bits / 8.0);
  const double raw = static_cast<double>(header.height) * row_bytes;
  if (static_cast<double>(compressed) * 1032.0 + 4096.0 < raw)
    refuse(what, "truncated PNG (" + std::to_string(compressed) + " bytes of compressed pixel data cannot hold the " +
                     std::to_string(static_cast<std::uint64_t>(raw)) + " bytes of a " + std::to_string(header.width) +
                     "x" + std::to_string(header.height) + " image; deflate compresses at most 1032:1)");
}

// ---------------------------------------------------------------------------------------------
// JPEG: SOI (stb takes any run of 0xFF fill bytes before it), then marker segments.

// The index just past the SOI marker, or 0 when `data` is not a JPEG stream.
std::size_t jpeg_after_soi(const std::uint8_t* data, std::size_t size) {
  std::size_t soi = 0;
  while (soi < size && data[soi] == 0xFF) ++soi;
  if (soi == 0 || soi >= size || data[soi] != 0xD8) return 0;
  return soi + 1;
}

// Debian's stb_image (2022) trusts the code counts of a Huffman table (DHT): more than 256 codes
// overflow its 257-entry size list (found by fuzz_image; regression input kept). Read the tables
// as stb does: while the segment's length says more follow, even past the end of the data, where
// stb reads zeros (a truncated table still reaches its code builder).
void check_huffman(const std::uint8_t* data, std::size_t size, std::size_t segment, std::size_t length,
                   const std::string& what) {
  const auto byte_at = [&](std::size_t i) -> std::size_t { return i < size ? data[i] : 0; };
  long remaining = static_cast<long>(length) - 2;
  std::size_t table = segment;
  while (remaining > 0) {
    std::size_t codes = 0;
    for (std::size_t i = 1; i <= 16; ++i) codes += byte_at(table + i);
    if (codes > 256) refuse(what, "corrupt JPEG (a Huffman table with " + std::to_string(codes) + " codes; at most 256)");
    table += 17 + codes;
    remaining -= static_cast<long>(17 + codes);
  }
}

bool is_frame_marker(std::uint8_t marker) { return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC; }

ImageHeader jpeg_frame(std::uint8_t marker, const std::uint8_t* segment, std::size_t length, const std::string& what) {
  if (marker > 0xC2)
    refuse(what, "unsupported JPEG (SOF" + std::to_string(marker - 0xC0) +
                     ": lossless, hierarchical or arithmetic-coded; baseline and progressive JPEGs are read)");
  if (length < 8) refuse(what, "corrupt JPEG (a frame header of " + std::to_string(length) + " bytes)");
  if (segment[0] != 8)
    refuse(what, "unsupported JPEG (" + std::to_string(segment[0]) + "-bit samples; 8-bit JPEGs are read)");
  const int components = segment[5];
  if (components != 1 && components != 3 && components != 4)
    refuse(what, "unsupported JPEG (" + std::to_string(components) + " components; 1, 3 or 4 are read)");
  if (length != 8 + 3 * static_cast<std::size_t>(components))
    refuse(what, "corrupt JPEG (a frame header of " + std::to_string(length) + " bytes for " +
                     std::to_string(components) + " components)");
  ImageHeader header;
  header.format = FileFormat::jpeg;
  header.height = be16(segment + 1);
  header.width = be16(segment + 3);
  header.file_channels = components;
  header.bits = 8;
  header.progressive = marker == 0xC2;
  return header;
}

// Walks the marker segments. `whole`: the data is the whole file, so every segment must fit in it
// and the walk goes to EOI; otherwise it is a prefix and the walk stops at the frame header.
std::optional<ImageHeader> walk_jpeg(const std::uint8_t* data, std::size_t size, const std::string& what, bool whole) {
  std::optional<ImageHeader> header;
  std::size_t pos = jpeg_after_soi(data, size);
  while (pos < size) {
    if (data[pos] != 0xFF) {  // entropy-coded data, or bytes stb skips between segments
      ++pos;
      continue;
    }
    std::size_t at = pos + 1;
    while (at < size && data[at] == 0xFF) ++at;  // fill bytes
    if (at >= size) break;
    const std::uint8_t marker = data[at];
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // stuffing, TEM, RSTn
      pos = at + 1;
      continue;
    }
    if (marker == 0xD9) break;  // EOI
    const std::string name = "segment FF" + hex_byte(marker) + " at byte " + std::to_string(at - 1);
    if (at + 3 > size) {
      if (!whole) return header;
      refuse(what, "truncated JPEG (the file ends inside the " + name + ")");
    }
    const std::size_t length = be16(data + at + 1);
    if (length < 2) refuse(what, "corrupt JPEG (" + name + " has length " + std::to_string(length) + "; at least 2)");
    const std::size_t left = size - at - 1;
    if (length > left) {
      if (!whole) return header;
      refuse(what, "truncated JPEG (" + name + " claims " + std::to_string(length) + " bytes, " + std::to_string(left) +
                       " are left)");
    }
    const std::uint8_t* segment = data + at + 3;
    if (marker == 0xC4) check_huffman(data, size, at + 3, length, what);
    if (is_frame_marker(marker) && !header) {
      header = jpeg_frame(marker, segment, length, what);
      if (!whole) return header;
    }
    if (marker == 0xDA && !header) refuse(what, "corrupt JPEG (a scan before the frame header)");
    pos = at + 1 + length;
  }
  if (whole && !header) refuse(what, "truncated or corrupt JPEG (no frame header: SOF0, SOF1 or SOF2)");
  return header;
}

// ---------------------------------------------------------------------------------------------
// Binary PGM (P5) and PPM (P6): "P5", then width, height and maximum value in ASCII, separated
// by whitespace and '#' comments, then one whitespace character and the pixels. Read as stb does.
bool is_pnm(const std::uint8_t* data, std::size_t size) {
  return size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6');
}

struct PnmLayout {
  ImageHeader header;
  std::size_t pixels_at = 0;  // where the pixel bytes start
};

// nullopt when the data ends inside the header (before the character that follows the maximum value).
std::optional<PnmLayout> pnm_layout(const std::uint8_t* data, std::size_t size, const std::string& what) {
  const auto is_space = [](std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  std::size_t i = 2;
  std::int64_t values[3] = {0, 0, 0};
  const char* const names[] = {"width", "height", "maximum value"};
  for (int field = 0; field < 3; ++field) {
    for (;;) {  // whitespace, and comments to the end of their line
      while (i < size && is_space(data[i])) ++i;
      if (i >= size || data[i] != '#') break;
      while (i < size && data[i] != '\n' && data[i] != '\r') ++i;
    }
    int digits = 0;
    for (; i < size && data[i] >= '0' && data[i] <= '9'; ++i) {
      // Read into 64 bits, so a 10-digit width is "too large", not an int overflow as in stb (which
      // sees only headers whose numbers passed the limits).
      if (++digits > 18) refuse(what, std::string("corrupt PGM/PPM (the header's ") + names[field] + " has more than 18 digits)");
      values[field] = values[field] * 10 + (data[i] - '0');
    }
    if (i >= size) return std::nullopt;
    if (digits == 0) refuse(what, std::string("corrupt PGM/PPM (the header's ") + names[field] + " is not a number)");
  }
  if (values[2] < 1 || values[2] > 65535)
    refuse(what, "unsupported PGM/PPM (maximum value " + std::to_string(values[2]) + "; 1 to 65535 are read)");
  PnmLayout layout;
  layout.header.format = FileFormat::pnm;
  layout.header.width = values[0];
  layout.header.height = values[1];
  layout.header.file_channels = data[1] == '6' ? 3 : 1;
  layout.header.bits = values[2] > 255 ? 16 : 8;
  layout.pixels_at = i + 1;  // one whitespace character ends the header
  return layout;
}

void check_pnm(const ImageHeader& header, const std::uint8_t* data, std::size_t size, const std::string& what) {
  const auto layout = pnm_layout(data, size, what);
  const std::uint64_t needed = static_cast<std::uint64_t>(header.width) * static_cast<std::uint64_t>(header.height) *
                               static_cast<std::uint64_t>(header.file_channels) * (header.bits / 8);
  const std::uint64_t present = size - layout->pixels_at;
  if (present < needed)
    refuse(what, "truncated PGM/PPM (" + std::to_string(header.width) + "x" + std::to_string(header.height) + " with " +
                     std::to_string(header.file_channels) + " channel(s) of " + std::to_string(header.bits) +
                     " bits needs " + std::to_string(needed) + " bytes of pixels, the file has " +
                     std::to_string(present) + ")");
}

std::optional<ImageHeader> header_of(const std::uint8_t* data, std::size_t size, const std::string& what, bool whole) {
  if (data == nullptr || size == 0) refuse(what, "empty file, not an image");
  if (is_png(data, size)) return png_header(data, size, what);
  if (jpeg_after_soi(data, size) != 0) return walk_jpeg(data, size, what, whole);
  if (is_pnm(data, size)) {
    const auto layout = pnm_layout(data, size, what);
    if (!layout) return std::nullopt;
    return layout->header;
  }
  refuse(what, "unsupported image format (PNG, JPEG, binary PGM P5 and PPM P6 are read)");
}

const char* format_name(FileFormat format) {
  switch (format) {
    case FileFormat::png: return "PNG";
    case FileFormat::jpeg: return "JPEG";
    case FileFormat::pnm: return "PGM/PPM";
  }
  return "image";
}

}  // namespace

ImageHeader read_header(const std::uint8_t* data, std::size_t size, const std::string& what) {
  const auto header = header_of(data, size, what, /*whole=*/true);
  if (!header) {
    const std::string format = is_png(data, size) ? "PNG" : "PGM/PPM";
    refuse(what, "truncated " + format + " (the file ends inside its header)");
  }
  return *header;
}

std::optional<ImageHeader> header_from_prefix(const std::uint8_t* data, std::size_t size, const std::string& what) {
  return header_of(data, size, what, /*whole=*/false);
}

ImageHeader read_file_header(const std::string& path) {
  constexpr std::size_t kPrefixBytes = std::size_t{1} << 20;
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) refuse(path, std::string("cannot open: ") + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) refuse(path, "not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) refuse(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> prefix(std::min<std::size_t>(kPrefixBytes, static_cast<std::size_t>(info.st_size)));
  in.read(reinterpret_cast<char*>(prefix.data()), static_cast<std::streamsize>(prefix.size()));
  prefix.resize(static_cast<std::size_t>(in.gcount()));
  std::optional<ImageHeader> header;
  if (prefix.size() == static_cast<std::size_t>(info.st_size)) header = read_header(prefix.data(), prefix.size(), path);
  else header = header_from_prefix(prefix.data(), prefix.size(), path);
  if (!header) refuse(path, "no image header within the first 1 MiB");
  check_dimensions(*header, path, kMaxPixels);
  return *header;
}

void check_structure(const ImageHeader& header, const std::uint8_t* data, std::size_t size, const std::string& what) {
  switch (header.format) {
    case FileFormat::png: check_png(header, data, size, what); break;
    case FileFormat::jpeg: (void)walk_jpeg(data, size, what, /*whole=*/true); break;
    case FileFormat::pnm: check_pnm(header, data, size, what); break;
  }
}

void check_dimensions(const ImageHeader& header, const std::string& what, std::int64_t max_pixels) {
  const std::string size = std::to_string(header.width) + "x" + std::to_string(header.height);
  if (header.width <= 0 || header.height <= 0)
    refuse(what, std::string("zero-sized image (") + format_name(header.format) + " header says " + size + ")");
  if (header.width > kMaxSide || header.height > kMaxSide ||
      static_cast<double>(header.width) * static_cast<double>(header.height) > static_cast<double>(max_pixels))
    refuse(what, "image " + size + " is too large (at most " + std::to_string(kMaxSide) + " pixels a side and " +
                     std::to_string(max_pixels) + " pixels in all)");
}

std::uint64_t decode_bytes_estimate(const ImageHeader& header, std::uint64_t file_bytes) {
  const double pixels = static_cast<double>(header.width) * static_cast<double>(header.height);
  const double result = pixels * header.channels();
  const double samples = pixels * header.file_channels;
  double total = static_cast<double>(file_bytes) + result;  // the file's bytes and the Image8
  switch (header.format) {
    case FileFormat::png:  // libpng writes the rows straight into the result
      total += 4.0 * static_cast<double>(header.width) * header.file_channels * 2;
      break;
    case FileFormat::jpeg:  // stb: one plane per component (+ coefficients if progressive), its result
      total += samples * (header.progressive ? 3.0 : 1.0) + result;
      break;
    case FileFormat::pnm:  // stb: the file's samples, a converted copy, its result
      total += samples * (header.bits / 8) + 2.0 * result;
      break;
  }
  return static_cast<std::uint64_t>(total);
}

}  // namespace hk::image
