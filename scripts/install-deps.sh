#!/usr/bin/env bash
# Installs what hybridkit needs on Debian 12 / Ubuntu 22.04+ (apt-get; uses sudo when not root).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  openmpi-bin libopenmpi-dev            # MPI (the default mpirun/mpicxx)
  mpich libmpich-dev                    # MPICH: Hydra dialect tests, scripts/run-mpich.sh (Open MPI stays the default)
  libeigen3-dev                         # local dense linear algebra
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and micro-benchmarks
  libcli11-dev nlohmann-json3-dev libfmt-dev libstb-dev libhwloc-dev hwloc
  libhwy-dev                            # Google Highway: the kernels' SIMD paths, chosen at run time
  qemu-user                             # tests: the portable binary on CPU models without AVX-512/AVX2
  python3-matplotlib python3-pandas     # hk plot, hk export (Debian's /usr/bin/python3)
  libpng-dev zlib1g-dev                 # PNG decoding (libpng); test images (zlib)
  libopenblas-dev libopencv-dev         # side-by-side baselines in the benchmarks only
  clang libclang-rt-14-dev libomp-dev   # libFuzzer targets; ThreadSanitizer run (Archer)
  slurm-wlm munge                       # the Slurm tests start a single-node cluster
  iproute2 procps                       # scripts/sim-cluster.sh: namespaces, bridge, tc; the tests' pgrep
  libssl-dev jq                         # hk run --exec: SHA-256 of the program; the exec tests read JSON
  libre2-dev                            # hk run --exec: --success/--fom patterns in linear time, no recursion
)
if [ "${HK_SKIP_APT:-0}" = 1 ]; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
