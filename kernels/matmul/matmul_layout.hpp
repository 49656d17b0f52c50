#pragma once
// matmul's data layouts behind one interface, one file each (rowblock.cpp, summa.cpp,
// shared.cpp): which blocks of A, B and C a rank owns, what it allocates for B, how B is set up
// and how one repetition forms C += A·B. The kernel (matmul.cpp) keeps what every layout shares:
// the blocks of A and C, the memory estimate, the checks and the record.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gemm.hpp"
#include "hk/decomposition.hpp"
#include "hk/kernel.hpp"
#include "matmul.hpp"

namespace hk::matmul {

// The options a layout depends on.
struct LayoutOptions {
  std::int64_t n = 2048;
  std::string variant = "rowblock";
  std::int64_t block = 256;  // summa: k-panel width
  std::string grid;          // summa: "PxQ", empty for MPI_Dims_create
};

// What a rank owns: rows x k_a of A, rows x cols of C, and k_b x cols of B as the Freivalds check
// accounts for it (rowblock and shared hold all of B; each rank accounts for its row block).
struct Blocks {
  Range rows, cols, k_a, k_b;
};

class Layout {
 public:
  virtual ~Layout() = default;
  const Blocks& blocks() const { return blocks_; }
  // The rows and columns of C rank `rank` of `size` owns (rank 0 gathers C for --verify full).
  virtual Blocks blocks_of(int rank, int size) const = 0;
  // Bytes this rank allocates for B and its buffers, and bytes allocated once per node (both
  // known from the plan, before setup).
  virtual double b_bytes() const = 0;
  virtual double node_once_bytes() const { return 0; }
  // Collective. Allocates and fills B (first touch by the computing threads). `node_comm`: the
  // ranks of this node (MPI_COMM_TYPE_SHARED), owned by the kernel.
  virtual void setup(const Context& ctx, MPI_Comm node_comm, std::uint64_t seed) = 0;
  // Collective: C += A·B for one repetition (C zeroed by the caller), compute and comm timed.
  virtual void multiply(const RowMatrix& a, RowMatrix& c, PhaseTimer& phases) = 0;
  // B as the check reads it: global element (i, j) at (i - b_first_row(), j - blocks().cols.begin).
  virtual ConstView b_view() const = 0;
  virtual std::int64_t b_first_row() const { return 0; }
  // Elements of B this rank holds (a node's shared window counted once, on its first rank).
  virtual double b_elements_held() const = 0;
  // Layout-specific figures for the record's metrics (summa: grid, panels).
  virtual void add_metrics(nlohmann::json& metrics) const { (void)metrics; }
  // Collective: frees communicators and windows.
  virtual void teardown() {}
  // Bytes this rank sent or received in setup, and in the last repetition.
  double setup_comm_bytes() const { return setup_comm_bytes_; }
  double comm_bytes() const { return comm_bytes_; }

 protected:
  Blocks blocks_;
  double setup_comm_bytes_ = 0, comm_bytes_ = 0;
};

// The layouts by name: the --variant choices with their help, and what each holds (named by a
// memory refusal). `make` plans the blocks for the run's ranks; it allocates and communicates
// nothing, and throws UsageError for a decomposition that cannot be formed (the same on every rank).
struct LayoutInfo {
  const char* name;
  const char* help;
  const char* holds;
  bool panels;  // takes --block and --grid (summa)
  std::unique_ptr<Layout> (*make)(const LayoutOptions&, const Context&);
};
const std::vector<LayoutInfo>& layouts();
const LayoutInfo& layout_info(const std::string& name);  // name must be one of layouts()
std::unique_ptr<Layout> make_layout(const LayoutOptions& options, const Context& ctx);

std::unique_ptr<Layout> make_rowblock(const LayoutOptions& options, const Context& ctx);
std::unique_ptr<Layout> make_summa(const LayoutOptions& options, const Context& ctx);
std::unique_ptr<Layout> make_shared(const LayoutOptions& options, const Context& ctx);

// Shared by the layouts and the kernel (matmul_layout.cpp).
// Row blocks of A and C over the ranks, all of k (rowblock, shared): rank `rank`'s of `size`, and
// this rank's (UsageError when n < ranks).
Blocks row_block_of(std::int64_t n, int rank, int size);
Blocks row_blocks(std::int64_t n, const Context& ctx);
// Fills rows x cols of matrix `stream` (global offsets rows.begin, cols.begin) into row-major
// `out` of leading dimension `ld`; the OpenMP threads that will compute on the rows write them first.
void generate(double* out, std::int64_t ld, Range rows, Range cols, Stream stream, std::uint64_t seed);
// Broadcast of any number of doubles (MPI counts are int).
void bcast_doubles(double* data, std::int64_t count, int root, MPI_Comm comm);

}  // namespace hk::matmul
