// hk-test-image: writes the test images of test_images.hpp, and checks that the reader loads a
// generated PNG (any size within the limits) with the right pixels:
//   hk-test-image png OUT --size WxH [--depth 8|16] [--colour C] [--no-pixels]
//   hk-test-image jpeg-header OUT --size WxH [--components N]
//   hk-test-image pnm OUT --type 5|6 --size WxH [--max M] [--pixel-bytes N]
//   hk-test-image load-png DIR --size WxH [--depth 8|16] [--colour C]   (exit 0: loaded and right)
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <map>

#include "image_io.hpp"
#include "test_images.hpp"

namespace ti = hk::test_images;

namespace {

struct Size {
  std::uint64_t width = 1, height = 1;
};

Size parse_size(const std::string& text) {
  Size size;
  char x = 0;
  if (std::sscanf(text.c_str(), "%lu%c%lu", &size.width, &x, &size.height) != 3 || x != 'x')
    throw CLI::ValidationError("--size", "must be WxH (got '" + text + "')");
  return size;
}

const std::map<std::string, ti::Colour> kColours = {{"gray", ti::Colour::gray},
                                                    {"rgb", ti::Colour::rgb},
                                                    {"palette", ti::Colour::palette},
                                                    {"gray-alpha", ti::Colour::gray_alpha},
                                                    {"rgba", ti::Colour::rgba}};

// Decodes the file with the kit's reader and compares rows 0, the middle one and the last.
int load_png(const std::string& dir, const ti::PngSpec& spec) {
  const std::string path = dir + "/hk-test-image-load.png";
  const std::uint64_t file_bytes = ti::write_png(path, spec);
  const hk::image::Image8 image = hk::image::read_image(path);
  std::remove(path.c_str());
  const int channels = (spec.colour == ti::Colour::gray || spec.colour == ti::Colour::gray_alpha) ? 1 : 3;
  if (image.width != static_cast<int>(spec.width) || image.height != static_cast<int>(spec.height) ||
      image.channels != channels) {
    std::cerr << "FAILED: decoded " << image.width << "x" << image.height << " with " << image.channels
              << " channel(s)\n";
    return 1;
  }
  for (const std::uint32_t y : {0u, spec.height / 2, spec.height - 1})
    for (std::uint32_t x = 0; x < spec.width; ++x)
      for (int c = 0; c < channels; ++c) {
        const std::size_t at = (static_cast<std::size_t>(y) * spec.width + x) * channels + c;
        if (image.pixels[at] != ti::expected_sample(spec, x, c)) {
          std::cerr << "FAILED: pixel (" << x << ", " << y << ") channel " << c << " is " << int{image.pixels[at]}
                    << ", expected " << int{ti::expected_sample(spec, x, c)} << "\n";
          return 1;
        }
      }
  std::cout << "ok: a " << spec.width << "x" << spec.height << " " << spec.depth << "-bit PNG (colour type "
            << static_cast<int>(spec.colour) << ", " << file_bytes << " bytes) loaded as " << channels
            << " channel(s), rows 0, " << spec.height / 2 << " and " << spec.height - 1 << " as written\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("hk-test-image: image files for the tests");
  app.require_subcommand(1);
  std::string out, size_text = "1x1", colour = "gray";
  int depth = 8, components = 3, max_value = 255;
  std::size_t pixel_bytes = 0;
  char type = '5';
  bool no_pixels = false;
  auto* png = app.add_subcommand("png", "a PNG");
  auto* load = app.add_subcommand("load-png", "write a PNG to DIR, read it back, check it");
  for (auto* sub : {png, load}) {
    sub->add_option("path", out)->required();
    sub->add_option("--size", size_text)->required();
    sub->add_option("--depth", depth)->check(CLI::IsMember({8, 16}));
    sub->add_option("--colour", colour)->check(CLI::IsMember({"gray", "rgb", "palette", "gray-alpha", "rgba"}));
  }
  png->add_flag("--no-pixels", no_pixels, "signature, IHDR and IEND only");
  auto* jpeg = app.add_subcommand("jpeg-header", "SOI, SOF0, EOI");
  jpeg->add_option("path", out)->required();
  jpeg->add_option("--size", size_text)->required();
  jpeg->add_option("--components", components);
  auto* pnm = app.add_subcommand("pnm", "a PGM (5) or PPM (6) header and zero bytes");
  pnm->add_option("path", out)->required();
  pnm->add_option("--type", type)->check(CLI::IsMember({'5', '6'}));
  pnm->add_option("--size", size_text)->required();
  pnm->add_option("--max", max_value);
  pnm->add_option("--pixel-bytes", pixel_bytes);
  CLI11_PARSE(app, argc, argv);
  try {
    const Size size = parse_size(size_text);
    ti::PngSpec spec;
    spec.width = static_cast<std::uint32_t>(size.width);
    spec.height = static_cast<std::uint32_t>(size.height);
    spec.depth = depth;
    spec.colour = kColours.at(colour);
    spec.pixels = !no_pixels;
    if (load->parsed()) return load_png(out, spec);
    std::uint64_t bytes = 0;
    if (png->parsed()) bytes = ti::write_png(out, spec);
    if (jpeg->parsed()) bytes = ti::write_file(out, ti::jpeg_header(spec.width, spec.height, components));
    if (pnm->parsed()) bytes = ti::write_file(out, ti::pnm(type, size.width, size.height, max_value, pixel_bytes));
    std::cout << out << ": " << bytes << " bytes\n";
  } catch (const std::exception& e) {
    std::cerr << "hk-test-image: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
