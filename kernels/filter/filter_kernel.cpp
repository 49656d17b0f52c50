// Image-filter kernel: Gaussian, box and Sobel filters on a 2-D grid of ranks (MPI_Cart_create),
// halo width = filter radius, halos exchanged with up to 8 neighbours through subarray
// datatypes, threads splitting each rank's rows. Every mix and variant is bitwise identical to
// the serial reference (filter_reference.cpp).
#include <omp.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <optional>
#include <vector>

#include "filter_core.hpp"
#include "hk/cli.hpp"
#include "hk/decomposition.hpp"
#include "hk/errors.hpp"
#include "hk/kernel.hpp"
#include "hk/mpi_env.hpp"
#include "hk/record.hpp"
#include "image_io.hpp"

namespace hk::filter {

namespace {

constexpr std::int64_t kMaxSide = 1 << 20;
constexpr std::int64_t kMaxSyntheticPixels = std::int64_t{1} << 30;
constexpr std::int64_t kAutoVerifyPixels = 4'000'000;  // --verify auto: full comparison up to 4 megapixels
constexpr double kSpotCheckBudget = 2e7;                // reference operations per spot-checked pixel

// The eight neighbours, as (row, column) steps; direction 7 - d is the opposite of d.
constexpr std::array<std::array<int, 2>, 8> kDirections = {
    {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 1}, {1, -1}, {1, 0}, {1, 1}}};

struct Grid {
  int rows = 0, cols = 0;  // ranks along y and along x
};

// A grid is usable when every block has at least one pixel, and at least `halo` rows (columns)
// where it has a neighbour above or below (left or right): halos come from the next block only.
bool grid_fits(std::int64_t width, std::int64_t height, int halo, int rows, int cols) {
  const std::int64_t min_h = height / rows, min_w = width / cols;
  if (min_h < 1 || min_w < 1) return false;
  if (rows > 1 && min_h < halo) return false;
  if (cols > 1 && min_w < halo) return false;
  return true;
}

// The usable grid with the least halo traffic (ties: more rows, whose halos are contiguous);
// MPI_Dims_create completes the factorisation for each candidate row count.
std::optional<Grid> choose_grid(std::int64_t width, std::int64_t height, int halo, int ranks) {
  std::optional<Grid> best;
  double best_cost = 0;
  for (int rows = ranks; rows >= 1; --rows) {
    if (ranks % rows) continue;
    int dims[2] = {rows, 0};
    HK_MPI_CHECK(MPI_Dims_create(ranks, 2, dims));
    if (!grid_fits(width, height, halo, dims[0], dims[1])) continue;
    const double cost = static_cast<double>(dims[0] - 1) * width + static_cast<double>(dims[1] - 1) * height;
    if (!best || cost < best_cost) {
      best = Grid{dims[0], dims[1]};
      best_cost = cost;
    }
  }
  return best;
}

std::string grid_error(std::int64_t width, std::int64_t height, int halo, int ranks) {
  int most = 1;
  for (int n = ranks - 1; n >= 1; --n)
    if (choose_grid(width, height, halo, n)) {
      most = n;
      break;
    }
  int dims[2] = {0, 0};
  HK_MPI_CHECK(MPI_Dims_create(ranks, 2, dims));
  return fmt::format(
      "image {}x{} cannot be split over {} ranks: with halo width {} (the filter radius) every block needs at least "
      "{} row(s) and {} column(s) towards each neighbour, but e.g. a {}x{} grid gives blocks of {}x{} pixels; use at "
      "most {} rank(s) or a larger image",
      width, height, ranks, halo, std::max(halo, 1), std::max(halo, 1), dims[0], dims[1], width / dims[1],
      height / dims[0], most);
}

class FilterKernel final : public Kernel {
 public:
  void add_options(CLI::App& app) override {
    app.add_option("--filter", filter_, "gaussian (separable, radius ceil(3 sigma)), box (separable), sobel (3x3 gradient magnitude)")
        ->check(CLI::IsMember({"gaussian", "box", "sobel"}))
        ->capture_default_str();
    sigma_option_ = add_real_option(app, "--sigma", sigma_, 0, 300, true, "gaussian: standard deviation (pixels)");
    radius_option_ = add_int_option(app, "--radius", radius_, 0, 1000, "box: radius K (2K+1 taps)");
    add_int_option(app, "--iterations", iterations_, 1, 10000, "times the filter is applied (halos exchanged each time)");
    input_option_ = app.add_option("--input", input_, "image file: PNG, JPEG, binary PGM (P5) or PPM (P6)");
    size_option_ = app.add_option_function<std::string>(
        "--size",
        [this](const std::string& text) {
          long long w = 0, h = 0;
          char x = 0, extra = 0;
          if (std::sscanf(text.c_str(), "%lld%c%lld%c", &w, &x, &h, &extra) != 3 || (x != 'x' && x != 'X') ||
              text.find_first_not_of("0123456789xX") != std::string::npos || w < 1 || h < 1 || w > kMaxSide ||
              h > kMaxSide || w * h > kMaxSyntheticPixels)
            throw CLI::ValidationError("--size", fmt::format("must be WxH with W and H integers from 1 to {} and W*H at "
                                                             "most {} (got '{}')", kMaxSide, kMaxSyntheticPixels, text));
          width_ = w;
          height_ = h;
        },
        "synthetic image generated in place by every rank, WxH pixels");
    size_option_->default_str(fmt::format("{}x{}", width_, height_))->type_name("WxH");
    input_option_->excludes(size_option_);
    channels_option_ = app.add_option("--channels", channels_, "synthetic image: 1 (gray) or 3 (RGB)")
                           ->check(CLI::IsMember({1, 3}))
                           ->capture_default_str();
    input_option_->excludes(channels_option_);
    app.add_option("--output", output_, "write the result: .png, .pgm (gray) or .ppm (RGB), 8-bit, rounded and clamped");
    app.add_option("--variant", variant_, "blocking: exchange, then compute; overlap: post exchange, interior, wait, rim")
        ->check(CLI::IsMember({"blocking", "overlap"}))
        ->capture_default_str();
    app.add_option("--verify", verify_, "auto: bitwise against the serial reference up to 4 megapixels, spot checks "
                                        "above; full: always the whole image; off: finite values only")
        ->check(CLI::IsMember({"auto", "full", "off"}))
        ->capture_default_str();
  }

  void check_options() const override {
    if (filter_ != "gaussian" && sigma_option_->count() > 0)
      throw UsageError(fmt::format("--sigma: applies to --filter gaussian only (got --filter {})", filter_));
    if (filter_ != "box" && radius_option_->count() > 0)
      throw UsageError(fmt::format("--radius: applies to --filter box only (gaussian uses ceil(3*sigma), sobel 1; got "
                                   "--filter {})", filter_));
    if (!output_.empty()) {
      try {
        const auto format = image::output_format(output_);
        if (input_.empty()) image::check_output_channels(output_, format, channels_);
      } catch (const image::ImageError& e) {
        throw UsageError(e.what());
      }
      // Writing the result over the input (also through a symbolic or hard link) would destroy it,
      // and a sweep's runs would read each other's results.
      if (!input_.empty() && (output_ == input_ || image::same_file(input_, output_)))
        throw UsageError(fmt::format("--output {}: is the same file as --input {}; write the result elsewhere",
                                     output_, input_));
    }
  }

  // Per rank: its blocks (2, or 3 with more than one iteration), the threads' rings, the decoded
  // file (every rank holds it; rank 0 also decodes it), and on rank 0 the whole image for
  // --verify full (gathered result, input, the reference's two work images) or --output.
  std::uint64_t memory_estimate_bytes(const Context& ctx) const override {
    std::int64_t width = width_, height = height_;
    int channels = channels_;
    double bytes = 0;
    if (!input_.empty()) {
      try {
        const image::ImageHeader header = image::read_file_header(input_);
        width = std::clamp<std::int64_t>(header.width, 1, image::kMaxSide);
        height = std::clamp<std::int64_t>(header.height, 1, image::kMaxSide);
        channels = header.channels();
        bytes += static_cast<double>(width) * static_cast<double>(height) * channels;
        if (ctx.is_root()) bytes += static_cast<double>(image::decode_bytes_estimate(header, file_size(input_)));
      } catch (const image::ImageError&) {
        return 0;  // setup reads the file and says what is wrong with it
      }
    }
    const int r = make_spec().radius;
    const auto grid = choose_grid(width, height, r, ctx.size);
    if (!grid) return static_cast<std::uint64_t>(bytes);  // setup refuses the split
    const Range rows = block_range(height, grid->rows, ctx.rank / grid->cols);
    const Range cols = block_range(width, grid->cols, ctx.rank % grid->cols);
    const double stride = static_cast<double>((cols.size() + 2 * r + 15) / 16 * 16);
    const double block = stride * static_cast<double>(rows.size() + 2 * r) * channels * sizeof(float);
    bytes += block * (iterations_ > 1 ? 3 : 2);
    bytes += static_cast<double>(ctx.threads) * static_cast<double>(ring_floats(r)) * sizeof(float);
    if (ctx.is_root()) {
      const double image_floats = static_cast<double>(width) * static_cast<double>(height) * channels;
      const bool full = verify_ == "full" || (verify_ == "auto" && width * height <= kAutoVerifyPixels);
      if (full) bytes += 4 * image_floats * sizeof(float);
      else if (!output_.empty()) bytes += image_floats * sizeof(float);
      if (!output_.empty()) bytes += 2 * image_floats;  // 8-bit copy and its encoding
    }
    return static_cast<std::uint64_t>(bytes);
  }

  // Both variants call MPI only from the main thread: blocking outside parallel regions, overlap
  // also from inside them (MPI_Testall by thread 0 to drive progress), which FUNNELED allows.
  int thread_level() const override { return MPI_THREAD_FUNNELED; }
  std::string variant() const override { return variant_; }

  nlohmann::json params() const override {
    nlohmann::json p = {{"filter", filter_}, {"iterations", iterations_}, {"verify", verify_}};
    const FilterSpec spec = make_spec();
    if (filter_ == "gaussian") p["sigma"] = sigma_;
    p["radius"] = spec.radius;
    p["taps"] = filter_ == "sobel" ? 9 : 2 * spec.radius + 1;
    if (input_.empty()) {
      p["size"] = fmt::format("{}x{}", width_, height_);
      p["channels"] = channels_;
    } else {
      p["input"] = input_;
    }
    if (!output_.empty()) p["output"] = output_;
    return p;
  }

  Work work() const override {
    const double pixels = static_cast<double>(width_) * static_cast<double>(height_) * iterations_;
    Work w;
    w.items = pixels;  // for --input known after setup; the rate is computed after it
    w.bytes = pixels * channels_ * 2 * sizeof(float);  // each value read once and written once per pass
    w.flops = pixels * channels_ * flops_per_pixel(make_spec());
    w.rate_unit = "Mpixel/s";
    return w;
  }

  std::vector<std::vector<std::string>> smoke_configs() const override {
    std::vector<std::vector<std::string>> configs;
    for (const char* variant : {"blocking", "overlap"}) {
      configs.push_back({"--filter", "gaussian", "--sigma", "1.5", "--size", "131x67", "--iterations", "2", "--variant",
                         variant});
      configs.push_back({"--filter", "sobel", "--size", "64x61", "--variant", variant});
    }
    return configs;
  }

  std::vector<std::string> weak_scaling_args(double factor) const override {
    if (!input_.empty()) return {};
    const double side = std::sqrt(factor);
    const auto scaled = [&](std::int64_t n) { return std::max<std::int64_t>(1, std::llround(static_cast<double>(n) * side)); };
    return {"--size", fmt::format("{}x{}", scaled(width_), scaled(height_))};
  }

  void setup(Context& ctx) override {
    if (ctx.thread_level_provided < thread_level())
      throw RuntimeError(fmt::format("filter --variant {} needs MPI_THREAD_FUNNELED, the library provides {}", variant_,
                                     thread_level_name(ctx.thread_level_provided)));
    spec_ = make_spec();
    load_input(ctx);  // may throw UsageError on every rank, after an agreed outcome
    const int r = spec_.radius;
    const auto grid = choose_grid(width_, height_, r, ctx.size);
    if (!grid) throw UsageError(grid_error(width_, height_, r, ctx.size));
    grid_ = *grid;

    // No UsageError from here on: collectives follow.
    int dims[2] = {grid_.rows, grid_.cols}, periods[2] = {0, 0}, coords[2] = {0, 0};
    HK_MPI_CHECK(MPI_Cart_create(ctx.comm, 2, dims, periods, /*reorder=*/0, &cart_));
    HK_MPI_CHECK(MPI_Cart_coords(cart_, ctx.rank, 2, coords));
    rows_ = block_range(height_, grid_.rows, coords[0]);
    cols_ = block_range(width_, grid_.cols, coords[1]);
    for (int d = 0; d < 8; ++d) {
      const int ny = coords[0] + kDirections[d][0], nx = coords[1] + kDirections[d][1];
      neighbour_[d] = MPI_PROC_NULL;
      if (ny >= 0 && ny < grid_.rows && nx >= 0 && nx < grid_.cols) {
        const int where[2] = {ny, nx};
        HK_MPI_CHECK(MPI_Cart_rank(cart_, where, &neighbour_[d]));
      }
    }
    const int h = static_cast<int>(rows_.size()), w = static_cast<int>(cols_.size());
    source_ = Block(w, h, r, channels_);
    work_[0] = Block(w, h, r, channels_);
    if (iterations_ > 1) work_[1] = Block(w, h, r, channels_);
    make_datatypes();

    // First touch: each thread writes the rows it will compute on (and the halo rows next to them).
    scratch_.assign(static_cast<std::size_t>(ctx.threads), Scratch{});
    const std::uint64_t seed = ctx.common->seed;
#pragma omp parallel
    {
      const int t = omp_get_thread_num(), team = omp_get_num_threads();
      const Range band = block_range(h, team, t);
      const int y0 = static_cast<int>(band.begin) - (t == 0 ? r : 0);
      const int y1 = static_cast<int>(band.end) + (t == team - 1 ? r : 0);
      for (int c = 0; c < channels_; ++c)
        for (int y = y0; y < y1; ++y) {
          float* row = source_.row(c, y);
          std::fill(row - r, row + w + r, 0.0f);
          if (y >= 0 && y < h)
            for (int x = 0; x < w; ++x) row[x] = input_value(cols_.begin + x, rows_.begin + y, c, seed);
          for (Block* b : {&work_[0], &work_[1]})
            if (b->data() != nullptr) std::fill(b->row(c, y) - r, b->row(c, y) + w + r, 0.0f);
        }
      if (t < static_cast<int>(scratch_.size())) {
        scratch_[t].ring.assign(ring_floats(r), 0.0f);
      }
    }
    // The file's bytes are needed later only by the checks that rebuild the input.
    const bool full = full_verification();
    const bool keep = !input_.empty() && ((full && ctx.is_root()) || (!full && verify_ != "off"));
    if (!keep) std::vector<std::uint8_t>().swap(file_.pixels);
    final_ = &source_;
  }

  void run(Context& ctx, PhaseTimer& phases) override {
    (void)ctx;
    Block* current = &source_;
    for (int iteration = 0; iteration < iterations_; ++iteration) {
      Block& next = work_[iteration % 2];
      if (variant_ == "blocking") {
        {
          auto scope = phases.time(Phase::comm);
          post_exchange(*current);
          finish_exchange(*current);
        }
        auto scope = phases.time(Phase::compute);
#pragma omp parallel
        {
          const Range band = my_band();
          filter_region(spec_, *current, next, 0, current->width(), static_cast<int>(band.begin),
                        static_cast<int>(band.end), scratch_[omp_get_thread_num()]);
        }
      } else {
        {
          auto scope = phases.time(Phase::comm);
          post_exchange(*current);
        }
        {
          auto scope = phases.time(Phase::compute);
          compute_interior(*current, next);
        }
        {
          auto scope = phases.time(Phase::comm);
          finish_exchange(*current);
        }
        auto scope = phases.time(Phase::compute);
        compute_rim(*current, next);
      }
      current = &next;
    }
    final_ = current;
  }

  Verification verify(Context& ctx) override {
    Verification v;
    v.tolerance = 0;
    std::int64_t bad = 0;
    double worst = 0;
    if (full_verification()) {
      gather_output(ctx);
      if (ctx.is_root()) {
        const std::vector<float> expected =
            reference_filter(spec_, full_input(ctx.common->seed), static_cast<int>(width_), static_cast<int>(height_),
                             channels_, iterations_);
        for (std::size_t i = 0; i < expected.size(); ++i) {
          if (std::bit_cast<std::uint32_t>(expected[i]) != std::bit_cast<std::uint32_t>(gathered_[i])) {
            ++bad;
            const double diff = std::fabs(static_cast<double>(expected[i]) - gathered_[i]);
            worst = std::isnan(diff) ? std::numeric_limits<double>::infinity() : std::max(worst, diff);
          }
        }
      }
      v.method = fmt::format("bitwise comparison of all {} values with the serial reference (mismatches counted; error "
                             "= largest difference), and every value finite", width_ * height_ * channels_);
    } else {
      std::int64_t checked = 0;
      const bool spot = verify_ != "off" && spot_check_cost() <= kSpotCheckBudget;
      if (spot) spot_check(ctx.common->seed, bad, worst, checked);
      std::int64_t total_checked = 0;
      HK_MPI_CHECK(MPI_Allreduce(&checked, &total_checked, 1, MPI_INT64_T, MPI_SUM, ctx.comm));
      v.method = spot ? fmt::format("{} sampled pixels (block corners and hashed positions) bitwise against the serial "
                                    "reference on their dependency windows, and every value finite", total_checked)
                      : std::string("every value finite (no reference comparison: ") +
                            (verify_ == "off" ? "--verify off)" : "dependency windows too large for spot checks)");
    }
    // In every mode: a non-finite value is a failure, even where the reference overflows the same
    // way (bitwise equal infinities and NaNs are not a filtered image).
    const std::int64_t non_finite = count_non_finite(*final_);
    if (non_finite > 0) worst = std::numeric_limits<double>::infinity();
    std::int64_t counts[2] = {bad, non_finite}, totals[2] = {0, 0};
    double total_worst = 0;
    HK_MPI_CHECK(MPI_Allreduce(counts, totals, 2, MPI_INT64_T, MPI_SUM, ctx.comm));
    HK_MPI_CHECK(MPI_Allreduce(&worst, &total_worst, 1, MPI_DOUBLE, MPI_MAX, ctx.comm));
    mismatches_ = totals[0];
    non_finite_ = totals[1];
    v.error = total_worst;
    v.passed = mismatches_ == 0 && non_finite_ == 0;
    return v;
  }

  nlohmann::json result(Context& ctx) override {
    const Checksum local = block_checksum(*final_, cols_.begin, rows_.begin, width_, height_);
    std::uint64_t mine[2] = {local.fixed, local.hash}, sum[2] = {0, 0};
    HK_MPI_CHECK(MPI_Allreduce(mine, sum, 2, MPI_UINT64_T, MPI_SUM, ctx.comm));
    Checksum total;
    total.fixed = sum[0];
    total.hash = sum[1];
    return {{"checksum", total.value()},
            {"checksum_bits", double_bits_hex(total.value())},
            {"pixel_hash", fmt::format("0x{:016x}", total.hash)},
            {"width", width_},
            {"height", height_},
            {"channels", channels_},
            {"mismatches", mismatches_},
            {"non_finite", non_finite_},
            {"weights", spec_.weights}};
  }

  // After the record's measurements: a failed write is the run's error, with the reason.
  void write_outputs(Context& ctx) override {
    if (output_.empty()) return;
    if (!gathered_once_) gather_output(ctx);
    if (ctx.is_root()) write_output();
  }

  nlohmann::json metrics(Context& ctx) override {
    // Bytes and messages received in halo exchanges per repetition (all iterations).
    double received[2] = {static_cast<double>(halo_bytes_) * iterations_, static_cast<double>(halo_messages_) * iterations_};
    double most[2] = {0, 0}, least[2] = {0, 0}, total[2] = {0, 0};
    HK_MPI_CHECK(MPI_Reduce(received, most, 2, MPI_DOUBLE, MPI_MAX, 0, ctx.comm));
    HK_MPI_CHECK(MPI_Reduce(received, least, 2, MPI_DOUBLE, MPI_MIN, 0, ctx.comm));
    HK_MPI_CHECK(MPI_Reduce(received, total, 2, MPI_DOUBLE, MPI_SUM, 0, ctx.comm));
    const int block[2] = {static_cast<int>(rows_.size()), static_cast<int>(cols_.size())};
    int block_min[2] = {0, 0}, block_max[2] = {0, 0};
    HK_MPI_CHECK(MPI_Reduce(block, block_min, 2, MPI_INT, MPI_MIN, 0, ctx.comm));
    HK_MPI_CHECK(MPI_Reduce(block, block_max, 2, MPI_INT, MPI_MAX, 0, ctx.comm));
    return {{"grid", {{"rows", grid_.rows}, {"cols", grid_.cols}}},
            {"halo_width", spec_.radius},
            {"block_height_min", block_min[0]},
            {"block_height_max", block_max[0]},
            {"block_width_min", block_min[1]},
            {"block_width_max", block_max[1]},
            {"halo_bytes_per_rank_max", most[0]},
            {"halo_bytes_per_rank_min", least[0]},
            {"halo_bytes_total", total[0]},
            {"halo_messages_per_rank_max", most[1]},
            {"isa", filter_isa()}};
  }

  void teardown(Context&) override {
    for (auto* types : {&send_type_, &recv_type_})
      for (MPI_Datatype& type : *types)
        if (type != MPI_DATATYPE_NULL) MPI_Type_free(&type);
    if (cart_ != MPI_COMM_NULL) MPI_Comm_free(&cart_);
  }

 private:
  FilterSpec make_spec() const {
    if (filter_ == "gaussian") return make_gaussian(sigma_);
    if (filter_ == "box") return make_box(radius_);
    return make_sobel();
  }

  static std::int64_t count_non_finite(const Block& block) {
    std::int64_t count = 0;
    for (int c = 0; c < block.channels(); ++c)
      for (int y = 0; y < block.height(); ++y)
        for (int x = 0; x < block.width(); ++x) count += !std::isfinite(block.row(c, y)[x]);
    return count;
  }

  static std::uint64_t file_size(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
  }

  bool full_verification() const {
    return verify_ == "full" || (verify_ == "auto" && width_ * height_ <= kAutoVerifyPixels);
  }

  // Rank 0 reads the file (and checks that --output can be written); every rank learns the
  // outcome from one broadcast, so a bad file makes every rank throw the same UsageError.
  void load_input(Context& ctx) {
    std::string message;
    if (ctx.is_root()) {
      try {
        if (!input_.empty()) {
          file_ = image::read_image(input_);
          if (!output_.empty()) image::check_output_channels(output_, image::output_format(output_), file_.channels);
        }
        if (!output_.empty()) {
          const std::string why = image::output_writable(output_);
          if (!why.empty()) message = fmt::format("--output {}: cannot be written: {}", output_, why);
        }
      } catch (const image::ImageError& e) {
        message = e.what();
        if (message.rfind("--", 0) != 0) message.insert(0, "--input ");
      }
    }
    int length = static_cast<int>(message.size());
    HK_MPI_CHECK(MPI_Bcast(&length, 1, MPI_INT, 0, ctx.comm));
    if (length > 0) {
      message.resize(static_cast<std::size_t>(length));
      HK_MPI_CHECK(MPI_Bcast(message.data(), length, MPI_CHAR, 0, ctx.comm));
      throw UsageError(message);
    }
    if (input_.empty()) return;
    int shape[3] = {file_.width, file_.height, file_.channels};
    HK_MPI_CHECK(MPI_Bcast(shape, 3, MPI_INT, 0, ctx.comm));
    file_.width = shape[0];
    file_.height = shape[1];
    file_.channels = shape[2];
    file_.pixels.resize(static_cast<std::size_t>(shape[0]) * shape[1] * shape[2]);
    HK_MPI_CHECK(MPI_Bcast(file_.pixels.data(), static_cast<int>(file_.pixels.size()), MPI_UINT8_T, 0, ctx.comm));
    width_ = shape[0];
    height_ = shape[1];
    channels_ = shape[2];
  }

  float input_value(std::int64_t x, std::int64_t y, int c, std::uint64_t seed) const {
    if (input_.empty()) return synthetic_value(x, y, c, seed);
    return static_cast<float>(file_.pixels[static_cast<std::size_t>((y * width_ + x) * channels_ + c)]);
  }

  std::vector<float> full_input(std::uint64_t seed) const {
    std::vector<float> image(static_cast<std::size_t>(width_ * height_ * channels_));
    for (int c = 0; c < channels_; ++c)
      for (std::int64_t y = 0; y < height_; ++y)
        for (std::int64_t x = 0; x < width_; ++x)
          image[static_cast<std::size_t>((c * height_ + y) * width_ + x)] = input_value(x, y, c, seed);
    return image;
  }

  Range my_band() const {
    return block_range(final_->height(), omp_get_num_threads(), omp_get_thread_num());
  }

  // Subarrays of the padded block (channels x padded rows x stride): what goes to the neighbour
  // in direction d, and where its pixels land. No packing by hand.
  void make_datatypes() {
    send_type_.fill(MPI_DATATYPE_NULL);
    recv_type_.fill(MPI_DATATYPE_NULL);
    halo_bytes_ = 0;
    halo_messages_ = 0;
    const int r = spec_.radius;
    if (r == 0) return;
    const Block& b = source_;
    const int h = b.height(), w = b.width();
    const int sizes[3] = {channels_, h + 2 * r, static_cast<int>(b.stride())};
    for (int d = 0; d < 8; ++d) {
      if (neighbour_[d] == MPI_PROC_NULL) continue;
      const int dy = kDirections[d][0], dx = kDirections[d][1];
      const int sub[3] = {channels_, dy == 0 ? h : r, dx == 0 ? w : r};
      const int send_at[3] = {0, dy < 0 ? r : (dy == 0 ? r : h), dx < 0 ? r : (dx == 0 ? r : w)};
      const int recv_at[3] = {0, dy < 0 ? 0 : (dy == 0 ? r : r + h), dx < 0 ? 0 : (dx == 0 ? r : r + w)};
      HK_MPI_CHECK(MPI_Type_create_subarray(3, sizes, sub, send_at, MPI_ORDER_C, MPI_FLOAT, &send_type_[d]));
      HK_MPI_CHECK(MPI_Type_commit(&send_type_[d]));
      HK_MPI_CHECK(MPI_Type_create_subarray(3, sizes, sub, recv_at, MPI_ORDER_C, MPI_FLOAT, &recv_type_[d]));
      HK_MPI_CHECK(MPI_Type_commit(&recv_type_[d]));
      halo_bytes_ += static_cast<std::int64_t>(sub[0]) * sub[1] * sub[2] * static_cast<std::int64_t>(sizeof(float));
      ++halo_messages_;
    }
  }

  void post_exchange(Block& block) {
    requests_.clear();
    if (spec_.radius == 0) return;
    for (int d = 0; d < 8; ++d) {
      if (neighbour_[d] == MPI_PROC_NULL) continue;
      requests_.emplace_back();
      HK_MPI_CHECK(MPI_Irecv(block.data(), 1, recv_type_[d], neighbour_[d], 7 - d, cart_, &requests_.back()));
    }
    for (int d = 0; d < 8; ++d) {
      if (neighbour_[d] == MPI_PROC_NULL) continue;
      requests_.emplace_back();
      HK_MPI_CHECK(MPI_Isend(block.data(), 1, send_type_[d], neighbour_[d], d, cart_, &requests_.back()));
    }
  }

  // Wait for the halos, then clamp to edge where the block touches the image border
  // (columns first over the rows that hold data, then whole padded rows, so corners are right).
  void finish_exchange(Block& block) {
    if (spec_.radius == 0) return;
    HK_MPI_CHECK(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE));
    requests_.clear();
    const int r = spec_.radius, h = block.height();
    const bool up = neighbour_[1] != MPI_PROC_NULL, down = neighbour_[6] != MPI_PROC_NULL;
    const bool left = neighbour_[3] != MPI_PROC_NULL, right = neighbour_[4] != MPI_PROC_NULL;
    clamp_columns(block, !left, !right, up ? -r : 0, down ? h + r : h);
    clamp_rows(block, !up, !down);
  }

  // Output pixels whose stencil stays inside the block, while the halos travel.
  void compute_interior(Block& src, Block& dst) {
    const int r = spec_.radius, h = src.height(), w = src.width();
    int progress_error = MPI_SUCCESS;
#pragma omp parallel
    {
      const Range band = my_band();
      const int y0 = std::max<int>(static_cast<int>(band.begin), r);
      const int y1 = std::min<int>(static_cast<int>(band.end), h - r);
      std::function<void()> progress;
      if (omp_get_thread_num() == 0 && !requests_.empty()) {
        progress = [&] {
          int done = 0;
          const int code = MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE);
          if (code != MPI_SUCCESS) progress_error = code;
        };
      }
      filter_region(spec_, src, dst, r, w - r, y0, y1, scratch_[omp_get_thread_num()], progress);
    }
    HK_MPI_CHECK(progress_error);
  }

  // Everything compute_interior left out: the top and bottom r rows, and r columns on each side.
  void compute_rim(Block& src, Block& dst) {
    const int r = spec_.radius, h = src.height(), w = src.width();
    const int top_end = std::min(r, h), bottom_begin = std::max(h - r, top_end);
    const int left_end = std::min(r, w), right_begin = std::max(w - r, left_end);
#pragma omp parallel
    {
      const Range band = my_band();
      Scratch& scratch = scratch_[omp_get_thread_num()];
      const auto rows = [&](int a, int b, int x0, int x1) {
        const int y0 = std::max<int>(a, static_cast<int>(band.begin)), y1 = std::min<int>(b, static_cast<int>(band.end));
        filter_region(spec_, src, dst, x0, x1, y0, y1, scratch);
      };
      rows(0, top_end, 0, w);
      rows(bottom_begin, h, 0, w);
      rows(top_end, bottom_begin, 0, left_end);
      rows(top_end, bottom_begin, right_begin, w);
    }
  }

  // Rank 0 receives every block into the whole planar image (subarray types on both sides).
  void gather_output(Context& ctx) {
    const Block& b = *final_;
    const int r = spec_.radius;
    const int local_sizes[3] = {channels_, b.height() + 2 * r, static_cast<int>(b.stride())};
    const int local_sub[3] = {channels_, b.height(), b.width()};
    const int local_at[3] = {0, r, r};
    MPI_Datatype interior = MPI_DATATYPE_NULL;
    HK_MPI_CHECK(MPI_Type_create_subarray(3, local_sizes, local_sub, local_at, MPI_ORDER_C, MPI_FLOAT, &interior));
    HK_MPI_CHECK(MPI_Type_commit(&interior));
    if (!ctx.is_root()) {
      HK_MPI_CHECK(MPI_Send(b.data(), 1, interior, 0, 100, cart_));
    } else {
      gathered_.assign(static_cast<std::size_t>(width_ * height_ * channels_), 0.0f);
      const int sizes[3] = {channels_, static_cast<int>(height_), static_cast<int>(width_)};
      for (int rank = 0; rank < ctx.size; ++rank) {
        int coords[2] = {0, 0};
        HK_MPI_CHECK(MPI_Cart_coords(cart_, rank, 2, coords));
        const Range ry = block_range(height_, grid_.rows, coords[0]), rx = block_range(width_, grid_.cols, coords[1]);
        const int sub[3] = {channels_, static_cast<int>(ry.size()), static_cast<int>(rx.size())};
        const int at[3] = {0, static_cast<int>(ry.begin), static_cast<int>(rx.begin)};
        MPI_Datatype place = MPI_DATATYPE_NULL;
        HK_MPI_CHECK(MPI_Type_create_subarray(3, sizes, sub, at, MPI_ORDER_C, MPI_FLOAT, &place));
        HK_MPI_CHECK(MPI_Type_commit(&place));
        if (rank == 0) {
          HK_MPI_CHECK(MPI_Sendrecv(b.data(), 1, interior, 0, 101, gathered_.data(), 1, place, 0, 101, MPI_COMM_SELF,
                                    MPI_STATUS_IGNORE));
        } else {
          HK_MPI_CHECK(MPI_Recv(gathered_.data(), 1, place, rank, 100, cart_, MPI_STATUS_IGNORE));
        }
        HK_MPI_CHECK(MPI_Type_free(&place));
      }
    }
    HK_MPI_CHECK(MPI_Type_free(&interior));
    gathered_once_ = true;
  }

  void write_output() const {
    image::Image8 out;
    out.width = static_cast<int>(width_);
    out.height = static_cast<int>(height_);
    out.channels = channels_;
    out.pixels.resize(gathered_.size());
    const std::size_t plane = static_cast<std::size_t>(width_ * height_);
    for (std::size_t i = 0; i < plane; ++i)
      for (int c = 0; c < channels_; ++c)
        out.pixels[i * channels_ + c] = image::to_8bit(gathered_[c * plane + i]);
    try {
      image::write_image(output_, out);
    } catch (const image::ImageError& e) {
      throw RuntimeError(e.what());
    }
  }

  // Reference operations for one sampled pixel: its dependency window, filtered K times.
  double spot_check_cost() const {
    const double side = std::min<double>(2.0 * spec_.radius * iterations_ + 1, static_cast<double>(std::max(width_, height_)));
    return side * side * iterations_ * channels_ * (2.0 * spec_.radius + 10);
  }

  // A pixel after K passes depends only on input within r*K of it; the reference filter on that
  // window (cut at the image border, where clamping is the same) gives its exact value.
  void spot_check(std::uint64_t seed, std::int64_t& bad, double& worst, std::int64_t& checked) const {
    const Block& b = *final_;
    const int h = b.height(), w = b.width();
    std::vector<std::array<int, 2>> samples = {{0, 0}, {0, w - 1}, {h - 1, 0}, {h - 1, w - 1}, {h / 2, w / 2}};
    for (std::uint64_t i = 0; i < 11; ++i) {
      const std::uint64_t hash = mix64(seed + i * 7919 + static_cast<std::uint64_t>(rows_.begin * width_ + cols_.begin));
      samples.push_back({static_cast<int>(hash % static_cast<std::uint64_t>(h)),
                         static_cast<int>((hash >> 32) % static_cast<std::uint64_t>(w))});
    }
    const std::int64_t reach = static_cast<std::int64_t>(spec_.radius) * iterations_;
    for (const auto& [ly, lx] : samples) {
      const std::int64_t gy = rows_.begin + ly, gx = cols_.begin + lx;
      const std::int64_t x0 = std::max<std::int64_t>(0, gx - reach), x1 = std::min<std::int64_t>(width_, gx + reach + 1);
      const std::int64_t y0 = std::max<std::int64_t>(0, gy - reach), y1 = std::min<std::int64_t>(height_, gy + reach + 1);
      const std::int64_t ww = x1 - x0, wh = y1 - y0;
      std::vector<float> window(static_cast<std::size_t>(ww * wh * channels_));
      for (int c = 0; c < channels_; ++c)
        for (std::int64_t y = 0; y < wh; ++y)
          for (std::int64_t x = 0; x < ww; ++x)
            window[static_cast<std::size_t>((c * wh + y) * ww + x)] = input_value(x0 + x, y0 + y, c, seed);
      const std::vector<float> expected =
          reference_filter(spec_, std::move(window), static_cast<int>(ww), static_cast<int>(wh), channels_, iterations_);
      for (int c = 0; c < channels_; ++c) {
        const float want = expected[static_cast<std::size_t>((c * wh + (gy - y0)) * ww + (gx - x0))];
        const float got = b.row(c, ly)[lx];
        ++checked;
        if (std::bit_cast<std::uint32_t>(want) != std::bit_cast<std::uint32_t>(got)) {
          ++bad;
          worst = std::max(worst, std::fabs(static_cast<double>(want) - got));
        }
      }
    }
  }

  // Options.
  std::string filter_ = "gaussian";
  double sigma_ = 2.0;
  int radius_ = 1;
  int iterations_ = 1;
  std::string input_;
  std::int64_t width_ = 8192, height_ = 8192;
  int channels_ = 1;
  std::string output_;
  std::string variant_ = "blocking";
  std::string verify_ = "auto";
  CLI::Option* sigma_option_ = nullptr;
  CLI::Option* radius_option_ = nullptr;
  CLI::Option* input_option_ = nullptr;
  CLI::Option* size_option_ = nullptr;
  CLI::Option* channels_option_ = nullptr;

  // Run state.
  FilterSpec spec_;
  image::Image8 file_;
  Grid grid_;
  MPI_Comm cart_ = MPI_COMM_NULL;
  Range rows_, cols_;  // this rank's block of the image
  std::array<int, 8> neighbour_{};
  std::array<MPI_Datatype, 8> send_type_{}, recv_type_{};
  std::int64_t halo_bytes_ = 0, halo_messages_ = 0;
  std::vector<MPI_Request> requests_;
  Block source_;
  std::array<Block, 2> work_;
  Block* final_ = nullptr;
  std::vector<Scratch> scratch_;
  std::vector<float> gathered_;  // rank 0: the whole result, once gathered
  bool gathered_once_ = false;
  std::int64_t mismatches_ = 0;
  std::int64_t non_finite_ = 0;  // values that are infinite or NaN
};

HK_REGISTER_KERNEL(FilterKernel, "filter",
                   "image filters (gaussian, box, sobel) on a 2-D rank grid with halo exchange; bitwise identical to "
                   "the serial reference on every mix");

}  // namespace
}  // namespace hk::filter
