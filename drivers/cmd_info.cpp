// hk info: the machine as hybridkit sees it (hwloc topology, build provenance).
// `hk info --cores` prints only the number of physical cores (for scripts); `hk info --node-json`
// prints one line {"hostname", "topology"} (what hk sweep gathers from every host it runs on).
#include <iostream>
#include <memory>

#include "command.hpp"
#include "hk/build_info.hpp"
#include "hk/errors.hpp"
#include "hk/simd.hpp"
#include "hk/system.hpp"
#include "topology.hpp"

namespace {
// The SIMD paths this binary has for this CPU, the one a run would take (HK_ISA applied) and
// the CPU flags they depend on (docs/simd.md).
nlohmann::json simd_json() {
  nlohmann::json paths = nlohmann::json::array();
  for (hk::simd::Path p : hk::simd::available_paths()) paths.push_back(hk::simd::path_name(p));
  return {{"path", hk::simd::path_name(hk::simd::apply_isa_environment())},
          {"available", paths},
          {"cpu_flags", hk::simd::cpu_flags()}};
}

std::function<int()> setup_info(CLI::App& app) {
  auto cores_only = std::make_shared<bool>(false);
  auto node_json = std::make_shared<bool>(false);
  app.add_flag("--cores", *cores_only, "print only the number of physical cores");
  app.add_flag("--node-json", *node_json, "print one JSON line: this host's name and topology summary")
      ->excludes("--cores");
  return [cores_only, node_json] {
    const hk::Topology topology = hk::read_topology();
    if (*cores_only) {
      std::cout << topology.cores << "\n";
      return hk::kExitOk;
    }
    if (*node_json) {
      // One write of one line: several hosts print at once through one launcher.
      const nlohmann::json line = {{"hostname", hk::host_name()}, {"topology", hk::topology_json(topology)}};
      std::cout << line.dump() + "\n" << std::flush;
      return hk::kExitOk;
    }
    nlohmann::json info = {{"topology", hk::topology_json(topology)},
                           {"build",
                            {{"version", hk::build::version},
                             {"git_sha", hk::build::git_sha},
                             {"compiler", hk::build::compiler},
                             {"flags", hk::build::flags},
                             {"build_type", hk::build::build_type}}},
                           {"simd", simd_json()}};
    std::cout << info.dump(2) << "\n";
    return hk::kExitOk;
  };
}
HK_REGISTER_COMMAND("info", "show the machine's topology (hwloc) and the build's provenance", setup_info);
}  // namespace
