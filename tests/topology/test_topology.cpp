// The planner on the shipped node descriptions (tests/topologies/): what hwloc reads from them,
// which mixes are aligned, the map each one gets, and the per-dialect binding. HK_TOPOLOGIES is
// that folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "binding.hpp"
#include "hk/domains.hpp"
#include "hk/errors.hpp"
#include "layout.hpp"
#include "node.hpp"

namespace topo = hk::topology;
using topo::CpuUnit;
using topo::Level;

namespace {

const topo::Node& node(const std::string& name) {
  static std::map<std::string, topo::Node> cache;
  auto found = cache.find(name);
  if (found == cache.end()) found = cache.emplace(name, topo::read_node_xml(std::string(HK_TOPOLOGIES) + "/" + name + ".xml")).first;
  return found->second;
}

std::string labels(const std::vector<topo::Layout>& layouts) {
  std::string text;
  for (const auto& layout : layouts) {
    if (!text.empty()) text += ',';
    text += layout.label();
  }
  return text;
}

std::string map_by(const topo::Node& n, int ranks, int threads, CpuUnit unit = CpuUnit::cores) {
  return topo::openmpi_binding(topo::plan_layout(n, ranks, threads, unit)).map_by;
}

std::string usage_error(const std::function<void()>& call) {
  try {
    call();
  } catch (const hk::UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

}  // namespace

TEST(TopologyRead, ShippedNodesHaveTheirShapes) {
  struct Shape {
    const char* name;
    std::size_t packages, numa, l3;
    int cores, pus;
  };
  for (const Shape& s : {Shape{"epyc7763-2s-nps4", 2, 8, 16, 128, 256}, Shape{"epyc7742-2s-nps4", 2, 8, 32, 128, 256},
                         Shape{"xeon8480-2s-snc4", 2, 8, 2, 112, 224}, Shape{"epyc9654-1s-nps1", 1, 1, 12, 96, 192},
                         Shape{"laptop-i7-1165g7", 1, 1, 1, 4, 8}}) {
    const topo::Node& n = node(s.name);
    EXPECT_EQ(n.domains(Level::package).size(), s.packages) << s.name;
    EXPECT_EQ(n.domains(Level::numa).size(), s.numa) << s.name;
    EXPECT_EQ(n.domains(Level::l3).size(), s.l3) << s.name;
    EXPECT_EQ(n.core_count(), s.cores) << s.name;
    EXPECT_EQ(n.pu_count(), s.pus) << s.name;
    EXPECT_TRUE(n.has_smt()) << s.name;
  }
}

TEST(TopologyRead, CoresKnowTheirDomainsAndOsCpuNumbers) {
  const topo::Node& n = node("epyc7763-2s-nps4");
  // Linux numbers the second hardware thread of core c as c + 128.
  EXPECT_EQ(n.cores[0].pus, (std::vector<int>{0, 128}));
  EXPECT_EQ(n.cores[127].pus, (std::vector<int>{127, 255}));
  // Core 100: package 1, NUMA domain 6 (16 cores each), L3 group 12 (8 cores each).
  EXPECT_EQ(n.cores[100].in(Level::package), 1);
  EXPECT_EQ(n.cores[100].in(Level::numa), 6);
  EXPECT_EQ(n.cores[100].in(Level::l3), 12);
  EXPECT_EQ(n.domains(Level::numa)[6].cores.front(), 96);
  EXPECT_EQ(topo::node_summary(n), "2 packages, 8 NUMA domains, 16 L3 groups, 128 cores, 256 hardware threads");
  EXPECT_EQ(topo::node_summary(node("epyc9654-1s-nps1")),
            "1 package, 1 NUMA domain, 12 L3 groups, 96 cores, 192 hardware threads");
}

TEST(TopologyRead, ThisMachineHasCores) {
  const topo::Node n = topo::read_node();
  EXPECT_GE(n.core_count(), 1);
  EXPECT_GE(n.pu_count(), n.core_count());
  EXPECT_EQ(n.source, "this machine");
}

TEST(TopologyRead, BadFilesAreOneClearUsageError) {
  const std::string dir = std::string(HK_TOPOLOGIES) + "/invalid/";
  const std::string missing = usage_error([&] { topo::read_node_xml(dir + "missing.xml"); });
  EXPECT_NE(missing.find("--topology " + dir + "missing.xml: no such file"), std::string::npos) << missing;
  for (const std::string& file : {dir + "truncated.xml", std::string(HK_TOPOLOGIES) + "/README.md"}) {
    const std::string message = usage_error([&] { topo::read_node_xml(file); });
    EXPECT_NE(message.find("--topology " + file + ": hwloc cannot read it as a topology"), std::string::npos)
        << message;
  }
  const std::string message = usage_error([&] { topo::read_node_xml(dir + "no-cores.xml"); });
  EXPECT_NE(message.find("no-cores.xml: the topology has no cores (4 hardware threads"), std::string::npos) << message;
}

TEST(TopologyMixes, EpycMilanNps4EveryDivisorMixIsAligned) {
  const topo::Node& n = node("epyc7763-2s-nps4");
  EXPECT_EQ(labels(topo::budget_layouts(n, 128, CpuUnit::cores)), "128x1,64x2,32x4,16x8,8x16,4x32,2x64,1x128");
  EXPECT_EQ(labels(topo::aligned_layouts(n, 128, CpuUnit::cores)), "128x1,64x2,32x4,16x8,8x16,4x32,2x64,1x128");
  EXPECT_EQ(map_by(n, 128, 1), "ppr:8:l3cache:PE=1");
  EXPECT_EQ(map_by(n, 32, 4), "ppr:2:l3cache:PE=4");
  EXPECT_EQ(map_by(n, 16, 8), "ppr:1:l3cache:PE=8");
  EXPECT_EQ(map_by(n, 8, 16), "ppr:1:numa:PE=16");
  EXPECT_EQ(map_by(n, 4, 32), "ppr:2:socket:PE=32");
  EXPECT_EQ(map_by(n, 1, 128), "ppr:1:node:PE=128");
  EXPECT_EQ(labels(topo::aligned_layouts(n, 256, CpuUnit::hwthreads)),
            "256x1,128x2,64x4,32x8,16x16,8x32,4x64,2x128,1x256");
  EXPECT_EQ(map_by(n, 32, 8, CpuUnit::hwthreads), "ppr:2:l3cache:PE=8");
}

TEST(TopologyMixes, XeonSncStraddlesNumaWhenFourteenCoresDoNotDivide) {
  const topo::Node& n = node("xeon8480-2s-snc4");
  EXPECT_EQ(labels(topo::budget_layouts(n, 112, CpuUnit::cores)), "112x1,56x2,28x4,16x7,14x8,8x14,7x16,4x28,2x56,1x112");
  EXPECT_EQ(labels(topo::aligned_layouts(n, 112, CpuUnit::cores)), "112x1,56x2,16x7,8x14,4x28,2x56,1x112");
  // The L3 spans the package: mapped as the package. NUMA first: its 14-core domains are smaller.
  EXPECT_EQ(map_by(n, 16, 7), "ppr:2:numa:PE=7");
  EXPECT_EQ(map_by(n, 4, 28), "ppr:2:socket:PE=28");
  const topo::Layout four = topo::plan_layout(n, 28, 4, CpuUnit::cores);
  EXPECT_EQ(topo::openmpi_binding(four).map_by, "ppr:14:socket:PE=4");  // inside a package, across NUMA domains
  EXPECT_FALSE(four.aligned);
  EXPECT_EQ(four.straddled, std::vector<Level>{Level::numa});
  EXPECT_EQ(topo::straddle_warning(n, four),
            "mix 28x4 cores: its ranks straddle NUMA domains of " + n.source +
                " (no per-domain map keeps every rank inside one); e.g. rank 3 has cores 12-15 in NUMA domains 0-1");
  const topo::Layout sixteen = topo::plan_layout(n, 7, 16, CpuUnit::cores);
  EXPECT_EQ(topo::openmpi_binding(sixteen).map_by, "ppr:7:node:PE=16");  // 4 x 16 > 56: no package holds them
  // The L3 is the package: reported once, as the package.
  EXPECT_EQ(sixteen.straddled, (std::vector<Level>{Level::numa, Level::package}));
  EXPECT_NE(topo::straddle_warning(n, sixteen).find("straddle NUMA domains and packages of"), std::string::npos);
  EXPECT_EQ(topo::straddle_warning(n, topo::plan_layout(n, 16, 7, CpuUnit::cores)), "");
}

TEST(TopologyMixes, GenoaOneSocketAlignsToItsL3Groups) {
  const topo::Node& n = node("epyc9654-1s-nps1");
  EXPECT_EQ(labels(topo::aligned_layouts(n, 96, CpuUnit::cores)), "96x1,48x2,24x4,12x8,6x16,4x24,3x32,2x48,1x96");
  const topo::Layout twelve = topo::plan_layout(n, 8, 12, CpuUnit::cores);
  EXPECT_FALSE(twelve.aligned);  // inside the one package, but 12 cores span 1.5 L3 groups
  EXPECT_EQ(twelve.straddled, std::vector<Level>{Level::l3});
  EXPECT_EQ(map_by(n, 6, 16), "ppr:6:node:PE=16");  // two whole L3 groups per rank
  EXPECT_TRUE(topo::plan_layout(n, 6, 16, CpuUnit::cores).aligned);
  // Hardware threads: 3 per rank split cores between ranks.
  const topo::Layout split = topo::plan_layout(n, 64, 3, CpuUnit::hwthreads);
  EXPECT_TRUE(split.splits_cores);
  EXPECT_NE(topo::straddle_warning(n, split).find("straddle L3 groups and cores (one core's hardware threads in two ranks)"),
            std::string::npos);
  EXPECT_FALSE(split.aligned);
  EXPECT_TRUE(topo::plan_layout(n, 192, 1, CpuUnit::hwthreads).aligned);  // one hardware thread: inside one core
}

TEST(TopologyMixes, LaptopHasOneDomainSoEveryMixIsAligned) {
  const topo::Node& n = node("laptop-i7-1165g7");
  EXPECT_EQ(labels(topo::aligned_layouts(n, 4, CpuUnit::cores)), "4x1,2x2,1x4");
  EXPECT_EQ(labels(topo::aligned_layouts(n, 8, CpuUnit::hwthreads)), "8x1,4x2,2x4,1x8");
  EXPECT_EQ(map_by(n, 2, 2), "ppr:2:node:PE=2");
  EXPECT_EQ(topo::plan_layout(n, 2, 2, CpuUnit::cores).rank_cpus[1], (std::vector<int>{2, 3, 6, 7}));
  EXPECT_EQ(topo::plan_layout(n, 2, 2, CpuUnit::hwthreads).rank_cpus[1], (std::vector<int>{1, 5}));
}

TEST(TopologyMixes, MixesBeyondTheNodeAndUnalignableMixesAreRefused) {
  const topo::Node& n = node("epyc9654-1s-nps1");
  EXPECT_NE(usage_error([&] { topo::plan_layout(n, 100, 1, CpuUnit::cores); })
                .find("mix 100x1: 100 ranks x 1 threads need 100 cores, the node has 96"),
            std::string::npos);
  EXPECT_NE(usage_error([&] { topo::require_aligned(n, topo::plan_layout(n, 8, 12, CpuUnit::cores)); })
                .find("mix 8x12 cannot be aligned to"),
            std::string::npos);
  const std::string message = usage_error([&] { topo::require_aligned(n, topo::plan_layout(n, 8, 12, CpuUnit::cores)); });
  EXPECT_NE(message.find("its ranks would straddle L3 groups; aligned mixes of 96 cores: 96x1,48x2,24x4,12x8,6x16"),
            std::string::npos)
      << message;
  EXPECT_NO_THROW(topo::require_aligned(n, topo::plan_layout(n, 12, 8, CpuUnit::cores)));
  EXPECT_NE(usage_error([] { topo::parse_cpu_unit("threads"); }).find("--cpus: must be cores or hwthreads"),
            std::string::npos);
}

TEST(TopologyMixes, MixesThatLeaveCoresIdleStayInsideTheirDomains) {
  const topo::Node& n = node("xeon8480-2s-snc4");
  // 24 x 4 = 96 of 112 cores: three ranks in each 14-core NUMA domain, two cores idle there.
  const topo::Layout layout = topo::plan_layout(n, 24, 4, CpuUnit::cores);
  EXPECT_EQ(topo::openmpi_binding(layout).map_by, "ppr:3:numa:PE=4");
  EXPECT_TRUE(layout.aligned);
  EXPECT_FALSE(layout.packed);
  EXPECT_EQ(layout.rank_cores[3], (std::vector<int>{14, 15, 16, 17}));
  // Slurm cannot say "3 per NUMA domain": explicit masks, OS CPU numbers (core c has CPUs c and c + 112).
  const topo::SrunBinding srun = topo::srun_binding(layout);
  EXPECT_EQ(srun.cpu_bind.rfind("mask_cpu:0xf" + std::string(27, '0') + "f,0xf" + std::string(27, '0') + "f0,", 0), 0u)
      << srun.cpu_bind;
}

TEST(TopologyBinding, DialectsGetTheSameLayout) {
  const topo::Node& n = node("epyc7763-2s-nps4");
  const topo::Layout cores = topo::plan_layout(n, 32, 4, CpuUnit::cores);
  EXPECT_EQ(topo::openmpi_binding(cores).args(),
            (std::vector<std::string>{"--map-by", "ppr:2:l3cache:PE=4", "--bind-to", "core"}));
  EXPECT_EQ(topo::srun_binding(cores).args(),
            (std::vector<std::string>{"--cpus-per-task=4", "--threads-per-core=1", "--distribution=block:block",
                                      "--cpu-bind=cores"}));
  EXPECT_EQ(topo::openmp_binding_env(cores),
            (std::vector<std::pair<std::string, std::string>>{{"OMP_PLACES", "cores"}, {"OMP_PROC_BIND", "close"}}));
  const topo::Layout threads = topo::plan_layout(n, 32, 8, CpuUnit::hwthreads);
  EXPECT_EQ(topo::openmpi_binding(threads).args(),
            (std::vector<std::string>{"--map-by", "ppr:2:l3cache:PE=8", "--bind-to", "hwthread", "--use-hwthread-cpus"}));
  EXPECT_EQ(topo::srun_binding(threads).cpu_bind, "threads");
  EXPECT_EQ(topo::srun_binding(threads).args(),
            (std::vector<std::string>{"--cpus-per-task=8", "--distribution=block:block", "--cpu-bind=threads"}));
  EXPECT_EQ(topo::openmp_binding_env(threads).front().second, "threads");
}

TEST(TopologyBinding, LayoutJsonListsEveryRanksDomains) {
  const topo::Node& n = node("epyc7763-2s-nps4");
  const nlohmann::json j = topo::layout_json(n, topo::plan_layout(n, 8, 16, CpuUnit::cores));
  EXPECT_EQ(j["map_level"], "numa");
  EXPECT_EQ(j["aligned"], true);
  EXPECT_EQ(j["cpus"], "cores");
  ASSERT_EQ(j["rank_layout"].size(), 8u);
  const auto& rank5 = j["rank_layout"][5];
  EXPECT_EQ(rank5["cores"], "80-95");
  EXPECT_EQ(rank5["cpus"], "80-95,208-223");
  EXPECT_EQ(rank5["l3"], (std::vector<int>{10, 11}));
  EXPECT_EQ(rank5["numa"], std::vector<int>{5});
  EXPECT_EQ(rank5["packages"], std::vector<int>{1});
}

TEST(RankDomains, ThreadCpusNameTheirDomains) {
  const std::string xml = std::string(HK_TOPOLOGIES) + "/epyc7763-2s-nps4.xml";
  // CPUs 0 and 128 are the two hardware threads of core 0; CPU 8 is core 8, the next L3 group.
  const hk::RankDomains inside = hk::rank_domains("n1", 3, {0, 128, 8, 8}, xml);
  EXPECT_EQ(inside.cpus, (std::vector<int>{0, 8, 128}));
  EXPECT_EQ(inside.packages, std::vector<int>{0});
  EXPECT_EQ(inside.numa, std::vector<int>{0});
  EXPECT_EQ(inside.l3, (std::vector<int>{0, 1}));
  EXPECT_EQ(inside.cores, 2);
  const hk::RankDomains across = hk::rank_domains("n1", 0, {63, 64, -1}, xml);  // -1: sched_getcpu failed
  EXPECT_EQ(across.packages, (std::vector<int>{0, 1}));
  EXPECT_EQ(across.numa, (std::vector<int>{3, 4}));
  EXPECT_EQ(across.l3, (std::vector<int>{7, 8}));
  const nlohmann::json j = hk::rank_domains_json(inside);
  EXPECT_EQ(j["cpus"], "0,8,128");
  EXPECT_EQ(j["host"], "n1");
  EXPECT_EQ(j["rank"], 3);
  EXPECT_EQ(j["cores"], 2);
}
