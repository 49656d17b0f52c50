// Unit tests of the filter arithmetic (blocked code vs serial reference, bitwise), the weights,
// the checksum, and the image reader/writer (including hostile bytes).
#include <gtest/gtest.h>
#include <omp.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "each_simd_path.hpp"
#include "filter_core.hpp"
#include "image_io.hpp"
#include "test_images.hpp"

namespace hf = hk::filter;
namespace hi = hk::image;
namespace ti = hk::test_images;

namespace {

std::vector<std::uint8_t> file_bytes(const std::string& name) {
  std::ifstream in(std::string(HK_FILTER_TEST_DATA) + "/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> random_image(int w, int h, int c, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> value(0.0f, 255.0f);
  std::vector<float> image(static_cast<std::size_t>(w) * h * c);
  for (float& v : image) v = value(gen);
  return image;
}

// The blocked, threaded code on one rank (clamp-to-edge halos), K passes.
std::vector<float> blocked_filter(const hf::FilterSpec& spec, const std::vector<float>& image, int w, int h, int c,
                                  int iterations) {
  hf::Block a(w, h, spec.radius, c), b(w, h, spec.radius, c);
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) a.row(ch, y)[x] = image[(static_cast<std::size_t>(ch) * h + y) * w + x];
  hf::Block* src = &a;
  hf::Block* dst = &b;
  for (int i = 0; i < iterations; ++i) {
    hf::filter_image(spec, *src, *dst);
    std::swap(src, dst);
  }
  std::vector<float> out(image.size());
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) out[(static_cast<std::size_t>(ch) * h + y) * w + x] = src->row(ch, y)[x];
  return out;
}

std::size_t bit_mismatches(const std::vector<float>& a, const std::vector<float>& b) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < a.size(); ++i) bad += std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i]);
  return bad;
}

}  // namespace

TEST(FilterWeights, GaussianRadiusIsCeilThreeSigmaAndWeightsAreNormalised) {
  const hf::FilterSpec g = hf::make_gaussian(2.0);
  EXPECT_EQ(g.radius, 6);
  ASSERT_EQ(g.weights.size(), 7u);
  double sum = g.weights[0];
  for (int k = 1; k <= g.radius; ++k) {
    sum += 2.0 * g.weights[k];
    EXPECT_LT(g.weights[k], g.weights[k - 1]);
  }
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_NEAR(g.weights[1] / g.weights[0], std::exp(-1.0 / 8.0), 1e-6);
  EXPECT_EQ(hf::make_gaussian(0.34).radius, 2);
  EXPECT_EQ(hf::make_box(3).weights, std::vector<float>(4, 1.0f / 7.0f));
  EXPECT_THROW(hf::make_gaussian(0.0), std::invalid_argument);
  EXPECT_THROW(hf::make_box(-1), std::invalid_argument);
}

// sigma = 1e-300 squared underflows to 0: g(0) was exp(-0 / 0) = NaN, so every weight was NaN and
// the run "failed verification" instead of filtering (an identity filter at such a sigma).
TEST(FilterWeights, TinySigmaGivesTheIdentityNotNaN) {
  for (const double sigma : {1e-300, 1e-160, 1e-3}) {
    const hf::FilterSpec spec = hf::make_gaussian(sigma);
    ASSERT_EQ(spec.radius, 1);
    EXPECT_EQ(spec.weights[0], 1.0f) << sigma;
    EXPECT_EQ(spec.weights[1], 0.0f) << sigma;
  }
}

TEST(FilterReference, BoxOfAConstantImageIsThatConstantAndSobelOfARampIsItsSlope) {
  const std::vector<float> flat(5 * 4, 7.0f);
  const auto boxed = hf::reference_filter(hf::make_box(1), flat, 5, 4, 1, 2);
  for (float v : boxed) EXPECT_NEAR(v, 7.0f, 1e-5f);
  std::vector<float> ramp(6 * 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 6; ++x) ramp[y * 6 + x] = 3.0f * x;
  const auto edges = hf::reference_filter(hf::make_sobel(), ramp, 6, 5, 1, 1);
  EXPECT_FLOAT_EQ(edges[2 * 6 + 2], 24.0f);  // gx = 4 * (3 * 2), gy = 0
  EXPECT_FLOAT_EQ(edges[2 * 6 + 0], 12.0f);  // clamped at the left edge: half the difference
}

// The heart of the kernel's promise: the blocked, vectorised, threaded code is bitwise the
// reference for every shape (strip tails, 1-pixel-wide images, bands whose height is not a
// multiple of the 4-row vertical step) and thread count; radii 0, 1, 3, 5, 6, 8 (compiled steps,
// every ring rotation) and 10 (the row-by-row path); on every SIMD path, with and without
// streaming stores.
TEST(FilterBlocked, BitwiseIdenticalToReferenceOnEverySimdPath) {
  const std::vector<std::pair<int, int>> shapes = {{1, 1}, {1, 37}, {41, 1}, {17, 5}, {600, 9}, {33, 70}, {1030, 3},
                                                     {8200, 11}};  // one strip of 8192 and a tail
  const std::vector<hf::FilterSpec> specs = {hf::make_gaussian(2.0), hf::make_gaussian(0.7), hf::make_gaussian(3.1), hf::make_box(0),
                                             hf::make_box(1), hf::make_box(3), hf::make_gaussian(1.5), hf::make_box(8),
                                             hf::make_sobel()};
  unsigned seed = 1;
  for (const auto& [w, h] : shapes) {
    for (const auto& spec : specs) {
      for (int channels : {1, 3}) {
        const auto image = random_image(w, h, channels, seed++);
        const auto expected = hf::reference_filter(spec, image, w, h, channels, 2);
        for_each_simd_path([&](hk::simd::Path path) {
          ASSERT_STREQ(hf::filter_isa(), hk::simd::path_name(path));
          for (int threads : {1, 2, 3}) {
            omp_set_num_threads(threads);
            hf::set_streaming_threshold(threads == 2 ? 0.0 : 1e300);
            EXPECT_EQ(bit_mismatches(blocked_filter(spec, image, w, h, channels, 2), expected), 0u)
                << hf::kind_name(spec.kind) << " r=" << spec.radius << " " << w << "x" << h << "x" << channels
                << " threads=" << threads << (threads == 2 ? " streaming" : "");
          }
          hf::set_streaming_threshold(32.0 * 1024 * 1024);
        });
      }
    }
  }
}

TEST(FilterChecksum, SameForAnySplitAndSeesOneBitChanges) {
  const int w = 23, h = 11;
  auto image = random_image(w, h, 1, 99);
  const hf::Checksum whole = hf::plane_checksum(image, w, h, 1);
  hf::Checksum parts;
  for (int part = 0; part < 3; ++part) {
    const int y0 = part * 4, y1 = std::min(h, y0 + 4);
    hf::Block block(w, y1 - y0, 0, 1);
    for (int y = y0; y < y1; ++y)
      for (int x = 0; x < w; ++x) block.row(0, y - y0)[x] = image[y * w + x];
    parts.add(hf::block_checksum(block, 0, y0, w, h));
  }
  EXPECT_EQ(parts.fixed, whole.fixed);
  EXPECT_EQ(parts.hash, whole.hash);
  image[5 * w + 7] = std::nextafter(image[5 * w + 7], 1e9f);
  EXPECT_NE(hf::plane_checksum(image, w, h, 1).hash, whole.hash);
}

TEST(FilterSynthetic, ValuesAreIntegersFrom0To255AndDependOnlyOnPositionAndSeed) {
  for (std::int64_t y : {0, 1, 63, 64, 16383})
    for (std::int64_t x : {0, 5, 64, 16383}) {
      const float v = hf::synthetic_value(x, y, 0, 7);
      EXPECT_EQ(v, std::floor(v));
      EXPECT_GE(v, 0.0f);
      EXPECT_LE(v, 255.0f);
      EXPECT_EQ(v, hf::synthetic_value(x, y, 0, 7));
    }
  EXPECT_NE(hf::synthetic_value(3, 3, 0, 7) + hf::synthetic_value(4, 3, 0, 7) + hf::synthetic_value(5, 3, 0, 7),
            hf::synthetic_value(3, 3, 0, 8) + hf::synthetic_value(4, 3, 0, 8) + hf::synthetic_value(5, 3, 0, 8));
}

TEST(ImageRead, DecodesPngJpegPgmPpm) {
  const auto png = file_bytes("photo.png");
  const hi::Image8 a = hi::decode_image(png.data(), png.size());
  EXPECT_EQ(a.width, 61);
  EXPECT_EQ(a.height, 47);
  EXPECT_EQ(a.channels, 3);
  EXPECT_EQ(a.pixels[0], 0);      // (x*4+y) % 256 at (0,0)
  EXPECT_EQ(a.pixels[1], 30);     // checker
  EXPECT_EQ(a.pixels[3 * 5], 20);  // red at x=5
  const auto pgm = file_bytes("gray.pgm");
  const hi::Image8 g = hi::decode_image(pgm.data(), pgm.size());
  EXPECT_EQ(g.width, 29);
  EXPECT_EQ(g.height, 31);
  EXPECT_EQ(g.channels, 1);
  const auto ppm = file_bytes("color.ppm");
  EXPECT_EQ(hi::decode_image(ppm.data(), ppm.size()).channels, 3);
  const auto jpg = file_bytes("small.jpg");
  const hi::Image8 j = hi::decode_image(jpg.data(), jpg.size());
  EXPECT_EQ(j.width, 40);
  EXPECT_EQ(j.height, 30);
  EXPECT_EQ(j.channels, 3);
}

TEST(ImageRead, RefusesBadInputWithAClearError) {
  const auto expect_error = [](const std::string& name, const std::string& words) {
    const auto bytes = file_bytes(name);
    try {
      hi::decode_image(bytes.data(), bytes.size(), name);
      ADD_FAILURE() << name << " was accepted";
    } catch (const hi::ImageError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expect_error("empty.png", "empty file");
  expect_error("unsupported.bmp", "unsupported image format");
  expect_error("corrupt.png", "corrupt");
  expect_error("truncated.png", "truncated PNG (chunk 'IDAT' at byte 33 claims 897 bytes, 436 are left)");
  expect_error("zero.pgm", "");
  expect_error("huge.pgm", "too large");
  EXPECT_THROW(hi::read_image("/nonexistent/image.png"), hi::ImageError);
}

// The message of decode_image on `bytes` ("" when it decodes).
std::string decode_error(const std::vector<std::uint8_t>& bytes) {
  try {
    (void)hi::decode_image(bytes.data(), bytes.size(), "x");
  } catch (const hi::ImageError& e) {
    return e.what();
  }
  return "";
}

// Issue 13: these headers all said "unsupported image format".
TEST(ImageRead, SizeMessagesSayWhatIsWrongWithTheLimits) {
  const auto header_only = [](std::uint32_t w, std::uint32_t h) {
    ti::PngSpec spec;
    spec.width = w;
    spec.height = h;
    spec.pixels = false;
    return ti::png(spec);
  };
  EXPECT_EQ(decode_error(header_only(100000, 100000)),
            "x: image 100000x100000 is too large (at most 65535 pixels a side and 268435456 pixels in all)");
  EXPECT_EQ(decode_error(header_only(65535, 65535)),
            "x: image 65535x65535 is too large (at most 65535 pixels a side and 268435456 pixels in all)");
  EXPECT_EQ(decode_error(header_only(0, 0)), "x: zero-sized image (PNG header says 0x0)");
  EXPECT_EQ(decode_error(header_only(0, 10)), "x: zero-sized image (PNG header says 0x10)");
  EXPECT_EQ(decode_error(header_only(64, 64)), "x: truncated or corrupt PNG (no pixel data: no IDAT chunk before the end)");
  EXPECT_EQ(decode_error(ti::jpeg_header(640, 0, 3)), "x: zero-sized image (JPEG header says 640x0)");
  EXPECT_EQ(decode_error(ti::pnm('6', 3000000000ull, 2, 255, 0)),
            "x: image 3000000000x2 is too large (at most 65535 pixels a side and 268435456 pixels in all)");
  // A PNG that cannot hold the pixels its header states: refused before anything is allocated.
  ti::PngSpec small;
  small.width = small.height = 4;
  auto bytes = ti::png(small);
  bytes[16 + 3] = 0x40;  // width 64 with the pixel data of 4: the CRC is wrong too, libpng says so
  EXPECT_NE(decode_error(bytes).find("corrupt or truncated PNG"), std::string::npos) << decode_error(bytes);
  small.width = small.height = 16384;
  bytes = ti::png(small);
  bytes.resize(bytes.size() - 200);  // most of the compressed pixel data gone
  EXPECT_NE(decode_error(bytes).find("truncated PNG"), std::string::npos) << decode_error(bytes);
}

// Issue 13: a 106-byte PNG whose second IDAT claims 1.7 GB made stb ask realloc for it (the
// fuzzer's out-of-memory); every length field is now held against what the file has left.
TEST(ImageRead, LengthFieldsBeyondTheFileAreRefused) {
  std::ifstream in(std::string(HK_FUZZ_REGRESSIONS) + "/image/png-idat-length-beyond-file.png", std::ios::binary);
  const std::vector<std::uint8_t> png{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_EQ(png.size(), 106u);
  EXPECT_EQ(decode_error(png), "x: truncated PNG (chunk 'IDAT' at byte 64 claims 1711276051 bytes, 34 are left)");
  auto jpeg = ti::jpeg_header(8, 8, 1);
  jpeg.insert(jpeg.begin() + 2, {0xFF, 0xE1, 0x40, 0x00, 'E', 'x'});  // an APP1 segment claiming 16 KiB
  EXPECT_EQ(decode_error(jpeg), "x: truncated JPEG (segment FFE1 at byte 2 claims 16384 bytes, 19 are left)");
  EXPECT_EQ(decode_error(ti::pnm('5', 16, 16, 255, 255)),
            "x: truncated PGM/PPM (16x16 with 1 channel(s) of 8 bits needs 256 bytes of pixels, the file has 255)");
  EXPECT_EQ(decode_error(ti::pnm('6', 4, 4, 65535, 95)),
            "x: truncated PGM/PPM (4x4 with 3 channel(s) of 16 bits needs 96 bytes of pixels, the file has 95)");
  EXPECT_EQ(decode_error(ti::pnm('5', 4, 4, 0, 16)), "x: unsupported PGM/PPM (maximum value 0; 1 to 65535 are read)");
  EXPECT_EQ(decode_error(ti::pnm('5', 4, 4, 70000, 32)),
            "x: unsupported PGM/PPM (maximum value 70000; 1 to 65535 are read)");
  auto lossless = ti::jpeg_header(8, 8, 1);
  lossless[3] = 0xC3;
  EXPECT_NE(decode_error(lossless).find("unsupported JPEG (SOF3"), std::string::npos) << decode_error(lossless);
  EXPECT_EQ(hi::read_header(png.data(), png.size()).width, 3);
}

// Every PNG sample layout decodes as stb_image did: 16-bit samples keep their high byte,
// palettes become RGB, alpha is dropped, gray + alpha is gray.
TEST(ImageRead, PngOfEveryColourTypeAndDepth) {
  for (const auto colour : {ti::Colour::gray, ti::Colour::rgb, ti::Colour::palette, ti::Colour::gray_alpha, ti::Colour::rgba})
    for (const int depth : {8, 16}) {
      if (colour == ti::Colour::palette && depth == 16) continue;
      ti::PngSpec spec;
      spec.width = 37;
      spec.height = 5;
      spec.depth = depth;
      spec.colour = colour;
      const auto bytes = ti::png(spec);
      const hi::Image8 image = hi::decode_image(bytes.data(), bytes.size());
      const int channels = (colour == ti::Colour::gray || colour == ti::Colour::gray_alpha) ? 1 : 3;
      ASSERT_EQ(image.channels, channels);
      ASSERT_EQ(image.width, 37);
      ASSERT_EQ(image.height, 5);
      for (std::uint32_t y = 0; y < spec.height; ++y)
        for (std::uint32_t x = 0; x < spec.width; ++x)
          for (int c = 0; c < channels; ++c)
            ASSERT_EQ(image.pixels[(y * spec.width + x) * channels + c], ti::expected_sample(spec, x, c))
                << "colour type " << static_cast<int>(colour) << ", " << depth << " bits, pixel " << x << "," << y;
    }
}

TEST(ImageFiles, SameFileThroughLinksAndOutputsThatCannotBeFiles) {
  const std::string dir = testing::TempDir() + "hk_same_file_" + std::to_string(getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  const std::string file = dir + "/a.png", sym = dir + "/sym.png", hard = dir + "/hard.png", other = dir + "/b.png";
  ti::write_file(file, {1, 2, 3});
  ti::write_file(other, {1, 2, 3});
  ASSERT_EQ(::symlink(file.c_str(), sym.c_str()), 0);
  ASSERT_EQ(::link(file.c_str(), hard.c_str()), 0);
  EXPECT_TRUE(hi::same_file(file, file));
  EXPECT_TRUE(hi::same_file(file, sym));
  EXPECT_TRUE(hi::same_file(hard, sym));
  EXPECT_FALSE(hi::same_file(file, other));
  EXPECT_FALSE(hi::same_file(file, dir + "/missing.png"));
  const std::string fifo = dir + "/fifo.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_EQ(hi::output_writable(fifo), "is a FIFO (named pipe), not a file");
  EXPECT_EQ(hi::output_writable(dir), "is a directory");
  const std::string dangling = dir + "/dangling.png";
  ASSERT_EQ(::symlink((dir + "/target.png").c_str(), dangling.c_str()), 0);
  EXPECT_EQ(hi::output_writable(dangling), "");
  struct stat info {};
  EXPECT_EQ(::lstat(dangling.c_str(), &info), 0) << "the check removed the user's link";
  for (const std::string& path : {file, sym, hard, other, fifo, dangling, dir + "/target.png"}) ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

// Hostile bytes: every prefix of valid files and byte-flipped variants either decode or throw
// ImageError; nothing crashes (run under HK_SANITIZE for the strict version).
TEST(ImageRead, NeverCrashesOnPrefixesAndFlippedBytes) {
  for (const char* name : {"photo.png", "small.jpg", "gray.pgm", "color.ppm"}) {
    const auto bytes = file_bytes(name);
    for (std::size_t n = 0; n < bytes.size(); n += 1 + n / 64) {
      try {
        (void)hi::decode_image(bytes.data(), n);
      } catch (const hi::ImageError&) {
      }
    }
    std::mt19937 gen(5);
    for (int trial = 0; trial < 200; ++trial) {
      auto copy = bytes;
      for (int flips = 0; flips < 4; ++flips) copy[gen() % copy.size()] ^= static_cast<std::uint8_t>(1u << (gen() % 8));
      try {
        const auto image = hi::decode_image(copy.data(), copy.size());
        EXPECT_EQ(image.pixels.size(), static_cast<std::size_t>(image.width) * image.height * image.channels);
      } catch (const hi::ImageError&) {
      }
    }
  }
}

TEST(ImageWrite, RoundTripsPngPgmPpmAndRoundsToNearest) {
  EXPECT_EQ(hi::to_8bit(0.49f), 0);
  EXPECT_EQ(hi::to_8bit(0.5f), 1);
  EXPECT_EQ(hi::to_8bit(1.4999999f), 1);
  EXPECT_EQ(hi::to_8bit(254.5f), 255);
  EXPECT_EQ(hi::to_8bit(-3.0f), 0);
  EXPECT_EQ(hi::to_8bit(1000.0f), 255);
  EXPECT_EQ(hi::to_8bit(std::nanf("")), 0);
  for (const auto& [ext, channels] : std::vector<std::pair<std::string, int>>{{".png", 3}, {".png", 1}, {".pgm", 1}, {".ppm", 3}}) {
    hi::Image8 image{7, 5, channels, {}};
    for (int i = 0; i < 7 * 5 * channels; ++i) image.pixels.push_back(static_cast<std::uint8_t>(i * 7));
    const std::string path = testing::TempDir() + "hk_filter_roundtrip" + ext;
    hi::write_image(path, image);
    const hi::Image8 back = hi::read_image(path);
    EXPECT_EQ(back.width, 7);
    EXPECT_EQ(back.height, 5);
    EXPECT_EQ(back.channels, channels);
    EXPECT_EQ(back.pixels, image.pixels) << ext;
    std::remove(path.c_str());
  }
  EXPECT_THROW(hi::output_format("out.tif"), hi::ImageError);
  EXPECT_THROW(hi::check_output_channels("x.pgm", hi::OutputFormat::pgm, 3), hi::ImageError);
}
