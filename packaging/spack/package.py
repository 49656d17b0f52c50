# Copyright hybridkit contributors. Spack recipe of hybridkit (issue 17).
#
# hybridkit has no published release or public URL yet, so the recipe builds a checkout:
#   spack repo create ~/hk-repo && mkdir -p ~/hk-repo/packages/hybridkit &&
#   cp packaging/spack/package.py ~/hk-repo/packages/hybridkit/ && spack repo add ~/hk-repo
#   cd /path/to/hybridkit && spack dev-build hybridkit@0.1.0 ^mpich   (or ^openmpi, or the site's MPI)
# See docs/install.md ("Installing on a cluster").

from spack.package import *


class Hybridkit(CMakePackage):
    """MPI/OpenMP hybrid HPC workloads (Monte Carlo, dense matmul, image filter) and the `hk`
    front end that sweeps rank x thread mixes, checks the placement and records every run."""

    # The version of project() in CMakeLists.txt; sources come from the checkout (dev-build).
    version("0.1.0")

    variant("tests", default=False, description="Build the GoogleTest unit tests and the CTest MPI tests")
    variant("benchmarks", default=False, description="Build the Google Benchmark programs")
    variant("native", default=False,
            description="-march=native: only when building on the node type that runs the kit "
                        "(leave off on a login node whose CPU differs from the compute nodes)")

    depends_on("cxx", type="build")
    depends_on("c", type="build")
    depends_on("cmake@3.20:", type="build")
    depends_on("pkgconfig", type="build")

    # Any MPI implementing MPI 3 (MPI_THREAD_FUNNELED at least): Open MPI, MPICH, Intel MPI, ...
    depends_on("mpi@3:")
    depends_on("hwloc@2:")
    depends_on("eigen@3.3:")
    depends_on("nlohmann-json@3.9:")
    depends_on("cli11")
    depends_on("fmt")
    depends_on("highway")  # SIMD paths chosen at run time
    depends_on("openssl")  # hk run --exec: SHA-256 of the program
    depends_on("re2")      # hk run --exec: --success / --fom patterns
    # hk plot / hk export run share/hybridkit/hk_plot.py under a Python with matplotlib and pandas.
    depends_on("python@3.9:", type="run")
    depends_on("py-matplotlib", type="run")
    depends_on("py-pandas", type="run")

    depends_on("googletest", type=("build", "test"), when="+tests")
    depends_on("benchmark", type="build", when="+benchmarks")

    # OpenMP comes with the compiler (GCC's libgomp, LLVM's libomp).
    requires("%gcc@11:", "%clang@14:", policy="one_of", msg="hybridkit needs C++20 and OpenMP")

    def cmake_args(self):
        spec = self.spec
        return [
            self.define_from_variant("HK_BUILD_TESTS", "tests"),
            self.define_from_variant("HK_BUILD_BENCHMARKS", "benchmarks"),
            self.define_from_variant("HK_NATIVE", "native"),
            self.define("MPI_CXX_COMPILER", spec["mpi"].mpicxx),
            self.define("MPI_C_COMPILER", spec["mpi"].mpicc),
            # hk plot's default interpreter: the Python this package runs with.
            self.define("HK_PLOT_PYTHON", spec["python"].command.path),
            self.define("HK_PROBE_PYTHON", spec["python"].command.path),
        ]

    def setup_run_environment(self, env):
        # hk finds hk-kernel, its helpers and share/hybridkit from its own location; the batch
        # scripts look for hk and hk-kernel on PATH (HK_BIN overrides).
        env.set("HK_BIN", self.prefix.bin)
