#pragma once
// The filter arithmetic shared by the kernel and the benchmark, and the serial reference (oracle).
//
// Exact definition of one filter pass (every operation rounded to float32, no fused multiply-add;
// the sources are compiled with -ffp-contract=off so the compiler cannot fuse either):
//   separable (gaussian, box), weights w[0..r] with w[k] the weight of offsets +k and -k:
//     t(x,y)   = w[0]*I(x,y);   for k = 1..r: t   = t   + w[k]*(I(x-k,y) + I(x+k,y))
//     out(x,y) = w[0]*t(x,y);   for k = 1..r: out = out + w[k]*(t(x,y-k) + t(x,y+k))
//   sobel: gx  = ((I(x+1,y-1) + 2*I(x+1,y)) + I(x+1,y+1)) - ((I(x-1,y-1) + 2*I(x-1,y)) + I(x-1,y+1))
//          gy  = ((I(x-1,y+1) + 2*I(x,y+1)) + I(x+1,y+1)) - ((I(x-1,y-1) + 2*I(x,y-1)) + I(x+1,y-1))
//          out = sqrt(gx*gx + gy*gy)
// I(x,y) outside the image is the nearest edge pixel (clamp to edge). Channels are independent.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hk::filter {

enum class FilterKind { gaussian, box, sobel };
const char* kind_name(FilterKind kind);

struct FilterSpec {
  FilterKind kind = FilterKind::gaussian;
  double sigma = 0;            // gaussian only
  int radius = 0;              // halo width
  std::vector<float> weights;  // separable filters: w[0..radius]
};
// radius ceil(3*sigma); w[k] = float(g(k) / (g(0) + 2*sum_{j=1..r} g(j))), g(k) = exp(-k^2 / (2 sigma^2)) in double.
FilterSpec make_gaussian(double sigma);
// w[k] = float(1 / (2*radius + 1)).
FilterSpec make_box(int radius);
FilterSpec make_sobel();
// Floating-point operations per pixel and channel of one pass (multiplies + adds + sqrt).
double flops_per_pixel(const FilterSpec& spec);

// A rank's block of a planar image with `halo` extra pixels on every side. The storage is left
// uninitialised so that the thread that computes on a row is the first to touch it.
class Block {
 public:
  Block() = default;
  Block(int width, int height, int halo, int channels);
  int width() const { return width_; }
  int height() const { return height_; }
  int halo() const { return halo_; }
  int channels() const { return channels_; }
  std::size_t stride() const { return stride_; }           // floats per padded row
  std::size_t plane_size() const { return plane_; }        // floats per padded channel plane
  std::size_t size() const { return plane_ * channels_; }  // floats in all
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  // Pixel (0, y) of channel c; y and x may go `halo` beyond the block on either side.
  float* row(int c, int y) { return data_.get() + c * plane_ + (y + halo_) * stride_ + halo_; }
  const float* row(int c, int y) const { return data_.get() + c * plane_ + (y + halo_) * stride_ + halo_; }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  int width_ = 0, height_ = 0, halo_ = 0, channels_ = 0;
  std::size_t stride_ = 0, plane_ = 0;
  std::unique_ptr<float[], Free> data_;
};

// Clamp to edge inside a block: copy column 0 / width-1 into the left / right halo for rows
// [y_begin, y_end), and row 0 / height-1 (full padded width) into the top / bottom halo.
void clamp_columns(Block& block, bool left, bool right, int y_begin, int y_end);
void clamp_rows(Block& block, bool top, bool bottom);

// Per-thread scratch space of filter_region: a ring of ring_slots(radius) horizontally filtered
// rows (at least 2r+4, a multiple of 4) of kFilterSlotStride floats each: ring_floats(radius).
inline constexpr int kFilterStripWidth = 8192;
inline constexpr std::size_t kFilterSlotStride = kFilterStripWidth + 16;  // + one 64-byte line
inline constexpr int kFilterRowsPerStep = 4;
inline constexpr int ring_slots(int radius) {
  return (2 * radius + 2 * kFilterRowsPerStep - 1) / kFilterRowsPerStep * kFilterRowsPerStep;
}
inline std::size_t ring_floats(int radius) { return static_cast<std::size_t>(ring_slots(radius)) * kFilterSlotStride; }
struct Scratch {
  std::vector<float> ring;
};

// dst(x, y) for x in [x_begin, x_end), y in [y_begin, y_end), all channels. src must hold valid
// pixels for rows [y_begin - r, y_end + r) and columns [x_begin - r, x_end + r).
// `progress`, when given, is called after every 64 output rows (the overlap variant lets the
// main thread drive MPI progress there).
void filter_region(const FilterSpec& spec, const Block& src, Block& dst, int x_begin, int x_end, int y_begin,
                   int y_end, Scratch& scratch, const std::function<void()>& progress = {});

// filter_region writes outputs of at least `bytes` (default 32 MiB, about a last-level cache)
// with streaming stores, which skip reading each line before writing it; the tests lower it to
// cover that code on small images. Not while filter_region runs.
void set_streaming_threshold(double bytes);

// The SIMD path filter_region runs now ("avx512", "avx2", "generic"; see hk/simd.hpp). Every
// path gives the same bits.
const char* filter_isa();

// A whole image on one rank: clamps the borders of src, then filters it with the calling
// OpenMP team (rows split with block_range). Used by the benchmark and by the unit tests.
void filter_image(const FilterSpec& spec, Block& src, Block& dst);

// The oracle: a plain serial loop over the whole image with clamped indices, written apart from
// the blocked code above. `image` is planar, channels x height x width.
std::vector<float> reference_filter(const FilterSpec& spec, std::vector<float> image, int width, int height,
                                    int channels, int iterations);

// Synthetic input: an integer value 0..255 that depends only on (x, y, c, seed): a diagonal ramp,
// a 64-pixel checkerboard (edges) and 4 bits of hashed noise.
float synthetic_value(std::int64_t x, std::int64_t y, int c, std::uint64_t seed);

// Position-weighted checksum terms, summed modulo 2^64 (so any order and any split give the
// same bits): fixed = llround(v * 2^16) * (1 + (x + 2y + 3c) mod 17); hash = bits(v) * mix64(index).
struct Checksum {
  std::uint64_t fixed = 0;
  std::uint64_t hash = 0;
  void add(const Checksum& other) {
    fixed += other.fixed;
    hash += other.hash;
  }
  // The weighted sum of pixel values: signed fixed / 2^16.
  double value() const { return static_cast<double>(static_cast<std::int64_t>(fixed)) / 65536.0; }
};
// Checksum of the block interior at global offset (x0, y0) in an image of the given size.
Checksum block_checksum(const Block& block, std::int64_t x0, std::int64_t y0, std::int64_t width,
                        std::int64_t height);
Checksum plane_checksum(const std::vector<float>& image, std::int64_t width, std::int64_t height, int channels);

std::uint64_t mix64(std::uint64_t x);

}  // namespace hk::filter
