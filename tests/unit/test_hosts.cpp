// Host lists of a launch across hosts (issue 14): --hosts, --hostfile (Open MPI's syntax), the
// hosts and cores of N nodes, and the words of --launcher-args.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "hk/errors.hpp"
#include "hosts.hpp"
#include "launch.hpp"
#include "plan.hpp"

namespace {

// The UsageError's text of `action`, or "" when it threw none.
template <typename Action>
std::string usage_error(Action action) {
  try {
    action();
  } catch (const hk::UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Hosts, HostsOptionKeepsOrderAndSlots) {
  const hk::HostList list = hk::parse_hosts_option("node1:4,node2:2,10.77.0.3");
  ASSERT_EQ(list.hosts.size(), 3u);
  EXPECT_EQ(list.hosts[0], (hk::HostSlots{"node1", 4}));
  EXPECT_EQ(list.hosts[1], (hk::HostSlots{"node2", 2}));
  EXPECT_EQ(list.hosts[2], (hk::HostSlots{"10.77.0.3", 0}));
  EXPECT_EQ(list.source, "hosts");
  EXPECT_EQ(list.names(), "node1, node2, 10.77.0.3");
}

TEST(Hosts, HostsOptionRefusesBadItems) {
  EXPECT_NE(usage_error([] { hk::parse_hosts_option("node1:4,,node2:4"); }).find("'' is not HOST or HOST:SLOTS"),
            std::string::npos);
  EXPECT_NE(usage_error([] { hk::parse_hosts_option("node1:0"); }).find("whole number from 1"), std::string::npos);
  EXPECT_NE(usage_error([] { hk::parse_hosts_option("node1:4x"); }).find("whole number"), std::string::npos);
  EXPECT_NE(usage_error([] { hk::parse_hosts_option("node1:99999999999"); }).find("whole number"), std::string::npos);
  EXPECT_NE(usage_error([] { hk::parse_hosts_option("-x:2"); }).find("not HOST"), std::string::npos);
  EXPECT_NE(usage_error([] { hk::parse_hosts_option("a b:2"); }).find("not HOST"), std::string::npos);
  EXPECT_NE(usage_error([] { hk::parse_hosts_option("n1:2,n1:2"); }).find("'n1' is named twice"), std::string::npos);
}

TEST(Hosts, HostfileInOpenMpiSyntax) {
  const hk::HostList list = hk::parse_hostfile_text(
      "# the nodes\n"
      "node1 slots=4 max_slots=8\n"
      "\n"
      "  node2   slots=4   # second\n"
      "node3\n"
      "node1 slots=2\n",
      "hf");
  ASSERT_EQ(list.hosts.size(), 3u);
  EXPECT_EQ(list.hosts[0], (hk::HostSlots{"node1", 6}));  // named twice: slots add up
  EXPECT_EQ(list.hosts[1], (hk::HostSlots{"node2", 4}));
  EXPECT_EQ(list.hosts[2], (hk::HostSlots{"node3", 0}));
  EXPECT_EQ(list.source, "hostfile");
  EXPECT_EQ(list.origin, "--hostfile hf");
}

TEST(Hosts, HostfileBadLinesNameTheLine) {
  EXPECT_EQ(usage_error([] { hk::parse_hostfile_text("node1 slots=4\nnode2 slot=4\n", "hf"); }),
            "--hostfile hf:2: 'slot=4' is not understood; allowed after the host: slots=N, max_slots=N (N from 1 to "
            "1048576)");
  EXPECT_NE(usage_error([] { hk::parse_hostfile_text("node1 slots=-1\n", "hf"); }).find("hf:1: 'slots=-1'"),
            std::string::npos);
  EXPECT_NE(usage_error([] { hk::parse_hostfile_text("node1 slots=4 max_slots=2\n", "hf"); })
                .find("slots=4 is more than max_slots=2"),
            std::string::npos);
  EXPECT_NE(usage_error([] { hk::parse_hostfile_text("no/de slots=1\n", "hf"); }).find("is not a host name"),
            std::string::npos);
  EXPECT_NE(usage_error([] { hk::parse_hostfile_text("# nothing\n\n", "hf"); }).find("names no host"),
            std::string::npos);
}

TEST(Hosts, MissingHostfileIsOneLine) {
  EXPECT_NE(usage_error([] { hk::read_hostfile("/nonexistent/hostfile"); }).find("--hostfile: cannot read"),
            std::string::npos);
  EXPECT_NE(usage_error([] { hk::read_hostfile("/"); }).find("not a regular file"), std::string::npos);
  const std::string path = ::testing::TempDir() + "hk_test_hostfile";
  std::ofstream(path) << "a slots=2\nb slots=2\n";
  EXPECT_EQ(hk::read_hostfile(path).hosts.size(), 2u);
  std::remove(path.c_str());
}

TEST(Hosts, HostfileOverOneMiBIsRefused) {
  const std::string path = ::testing::TempDir() + "hk_test_big_hostfile";
  {
    std::ofstream file(path);
    const std::string line = "node slots=1\n";  // 13 bytes
    for (std::size_t written = 0; written <= (1u << 20); written += line.size()) file << line;
  }
  EXPECT_NE(usage_error([&] { hk::read_hostfile(path); }).find("larger than 1 MiB"), std::string::npos);
  std::remove(path.c_str());
}

TEST(Hosts, ChooseTakesTheFirstNodesAndTheirSlots) {
  const hk::HostList list = hk::parse_hosts_option("a:4,b:2,c:8");
  hk::NodeHosts one = hk::choose_hosts(list, 1, 0);
  EXPECT_EQ(one.hosts, (std::vector<hk::HostSlots>{{"a", 4}}));
  EXPECT_EQ(one.cores_per_node, 4);
  EXPECT_EQ(one.cores_source, "--hosts slots");
  hk::NodeHosts two = hk::choose_hosts(list, 2, 0);
  EXPECT_EQ(two.cores_per_node, 2);  // the smallest host bounds every node of an even spread
  hk::NodeHosts given = hk::choose_hosts(list, 3, 3);
  EXPECT_EQ(given.cores_per_node, 3);
  EXPECT_EQ(given.cores_source, "--cores");
}

TEST(Hosts, ChooseRefusesMoreNodesThanHostsAndUnknownCores) {
  const hk::HostList list = hk::parse_hosts_option("a:1,b:1");
  EXPECT_EQ(usage_error([&] { hk::choose_hosts(list, 3, 0); }),
            "--nodes 3: --hosts names only 2 host(s) (a, b); allowed: --nodes 1 to 2");
  const hk::HostList no_slots = hk::parse_hostfile_text("a slots=2\nb\n", "hf");
  EXPECT_NE(usage_error([&] { hk::choose_hosts(no_slots, 2, 0); }).find("host 'b' gives no slots"), std::string::npos);
  const hk::NodeHosts with_cores = hk::choose_hosts(no_slots, 2, 2);
  EXPECT_EQ(with_cores.hosts[1], (hk::HostSlots{"b", 2}));  // slots filled in for the launcher
  EXPECT_EQ(hk::choose_hosts(no_slots, 1, 0).cores_source, "hostfile slots");
}

TEST(Hosts, LauncherArgsSplitLikeAShell) {
  EXPECT_EQ(hk::split_launcher_args("  --mca plm_rsh_agent /x/agent  --mca btl ^openib "),
            (std::vector<std::string>{"--mca", "plm_rsh_agent", "/x/agent", "--mca", "btl", "^openib"}));
  EXPECT_EQ(hk::split_launcher_args(R"(-x 'A=b c' "--tag=\"q\"" a\ b '' $HOME)"),
            (std::vector<std::string>{"-x", "A=b c", "--tag=\"q\"", "a b", "", "$HOME"}));
  EXPECT_TRUE(hk::split_launcher_args("").empty());
  EXPECT_NE(usage_error([] { hk::split_launcher_args("--mca 'x"); }).find("not closed"), std::string::npos);
}

// The launch across hosts (launch.hpp + the Open MPI dialect): the first N hosts with their
// slots, ranks spread evenly (ppr:R/N:node:PE=T), --launcher-args before the program, all in
// the record's `launch`.
namespace {
hk::LaunchSpec across(int ranks, int threads, int nodes) {
  hk::LaunchSpec s;
  s.ranks = ranks;
  s.threads = threads;
  s.nodes = nodes;
  s.cores_per_node = 2;
  s.hosts = {{"hkn1", 2}, {"hkn2", 2}};
  s.hosts_source = "hostfile";
  s.cores_source = "hostfile slots";
  s.program = {"/bin/hk-kernel", "montecarlo"};
  return s;
}
nlohmann::json launch_info_of(const hk::LaunchCommand& c) {
  for (const auto& [name, value] : c.env)
    if (name == "HK_LAUNCH_INFO") return nlohmann::json::parse(value);
  return {};
}
}  // namespace

TEST(HostsLaunch, RanksSpreadEvenlyOverTheFirstNodes) {
  auto s = across(4, 1, 2);
  s.launcher_args = {"--mca", "plm_rsh_agent", "/x/agent"};
  const hk::LaunchCommand c = hk::compose_launch(s);
  const std::string line = c.display();
  EXPECT_NE(line.find("mpirun -np 4 --host hkn1:2,hkn2:2 --map-by ppr:2:node:PE=1 --bind-to core"), std::string::npos)
      << line;
  EXPECT_NE(line.find("--mca plm_rsh_agent /x/agent /bin/hk-kernel montecarlo"), std::string::npos) << line;
  const nlohmann::json info = launch_info_of(c);
  EXPECT_EQ(info["hosts_source"], "hostfile");
  EXPECT_EQ(info["hosts"], nlohmann::json::array({"hkn1", "hkn2"}));
  EXPECT_EQ(info["cores_per_node"], 2);
  EXPECT_EQ(info["cores_source"], "hostfile slots");
  EXPECT_EQ(info["extra_args"], nlohmann::json::array({"--mca", "plm_rsh_agent", "/x/agent"}));
  EXPECT_EQ(info["map_by"], "ppr:2:node:PE=1");
}

TEST(HostsLaunch, UnboundAcrossHostsStillSpreadsEvenly) {
  auto s = across(6, 1, 2);
  s.oversubscribe = true;
  const std::string line = hk::compose_launch(s).display();
  EXPECT_NE(line.find("--host hkn1:2,hkn2:2 --oversubscribe --map-by ppr:3:node --bind-to none"), std::string::npos)
      << line;
}

TEST(HostsLaunch, RefusesWhatDoesNotFit) {
  EXPECT_NE(usage_error([] { hk::compose_launch(across(3, 1, 2)); }).find("--ranks 3 must be a multiple of --nodes 2"),
            std::string::npos);
  EXPECT_NE(usage_error([] { hk::compose_launch(across(3, 1, 3)); }).find("the host list names only 2 host(s)"),
            std::string::npos);
  auto srun = across(2, 1, 2);
  srun.launcher = "srun";
  EXPECT_NE(usage_error([&] { hk::compose_launch(srun); }).find("srun takes its nodes from the Slurm allocation"),
            std::string::npos);
  auto no_hosts = across(2, 1, 2);
  no_hosts.hosts.clear();
  no_hosts.launcher_path = "/bin/sh";
  no_hosts.program = {"/bin/sh"};
  if (std::getenv("SLURM_JOB_ID") == nullptr) {
    EXPECT_NE(usage_error([&] { hk::check_runnable_here(no_hosts, 2); }).find("give --hosts h1:N,h2:N or --hostfile"),
              std::string::npos);
  }
}

TEST(NodeCounts, ListIsSortedAndChecked) {
  EXPECT_EQ(hk::pipeline::parse_node_counts("2,1"), (std::vector<int>{1, 2}));
  EXPECT_EQ(hk::pipeline::parse_node_counts("4"), (std::vector<int>{4}));
  EXPECT_NE(usage_error([] { hk::pipeline::parse_node_counts("1,,2"); }).find("'' is not one"), std::string::npos);
  EXPECT_NE(usage_error([] { hk::pipeline::parse_node_counts("0"); }).find("--nodes: must be"), std::string::npos);
  EXPECT_NE(usage_error([] { hk::pipeline::parse_node_counts("2,2"); }).find("2 is given twice"), std::string::npos);
}
