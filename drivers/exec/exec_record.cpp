#include "exec_record.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

#include "hk/errors.hpp"
#include "hk/placement.hpp"
#include "hk/stats.hpp"
#include "hk/system.hpp"
#include "thread_sampler.hpp"

namespace hk::exec {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

double number_or(const json& object, const char* key, double fallback) {
  const auto at = object.find(key);
  return at != object.end() && at->is_number() ? at->get<double>() : fallback;
}
int integer_or(const json& object, const char* key, int fallback) {
  const auto at = object.find(key);
  return at != object.end() && at->is_number_integer() ? at->get<int>() : fallback;
}
std::string text_or_empty(const json& object, const char* key) {
  const auto at = object.find(key);
  return at != object.end() && at->is_string() ? at->get<std::string>() : "";
}

// CPUs a thread was seen on (the keys of cpu_samples).
std::vector<int> cpus_seen(const json& thread) {
  std::vector<int> cpus;
  if (const auto at = thread.find("cpu_samples"); at != thread.end() && at->is_object())
    for (const auto& [cpu, count] : at->items()) cpus.push_back(std::atoi(cpu.c_str()));
  std::sort(cpus.begin(), cpus.end());
  return cpus;
}

const json& threads_of(const json& rank) {
  static const json none = json::array();
  const auto at = rank.find("threads");
  return at != rank.end() && at->is_array() ? *at : none;
}

bool is_helper(const json& thread, const std::vector<int>& rank_cpus, double busiest_s) {
  const std::vector<int> seen = cpus_seen(thread);
  const bool on_rank_cpu = std::any_of(seen.begin(), seen.end(), [&](int cpu) {
    return std::find(rank_cpus.begin(), rank_cpus.end(), cpu) != rank_cpus.end();
  });
  return !on_rank_cpu || number_or(thread, "cpu_time_s", 0) < kHelperCpuShare * busiest_s;
}

double busiest_thread_s(const json& rank) {
  double busiest = 0;
  for (const auto& thread : threads_of(rank)) busiest = std::max(busiest, number_or(thread, "cpu_time_s", 0));
  return busiest;
}

// The working (non-helper) threads of every rank, as the runtime's placement checks take them.
std::vector<ThreadPlacement> working_threads(const json& placement, const std::vector<json>& ranks) {
  std::map<int, int> host_cpus;  // rank -> CPUs of its host
  for (const auto& rank : ranks) host_cpus[integer_or(rank, "rank", -1)] = integer_or(rank, "host_cpus", 0);
  std::vector<ThreadPlacement> working;
  for (const auto& entry : placement) {
    if (entry.value("helper", false)) continue;
    ThreadPlacement p;
    p.host = text_or_empty(entry, "host");
    p.rank = integer_or(entry, "rank", -1);
    p.thread = integer_or(entry, "thread", 0);
    p.cpu = integer_or(entry, "cpu", -1);
    p.allowed_cpus = parse_cpu_list(text_or_empty(entry, "allowed_cpus"));
    p.host_cpus = host_cpus[p.rank];
    working.push_back(std::move(p));
  }
  return working;
}

std::vector<std::string> world_warnings(const std::vector<json>& ranks, int expected_ranks) {
  std::vector<std::string> warnings;
  if (static_cast<int>(ranks.size()) != expected_ranks)
    warnings.push_back(fmt::format("exec: {} of {} ranks were observed (a wrapper that wrote nothing was killed "
                                   "or never started)", ranks.size(), expected_ranks));
  std::set<int> worlds;
  for (const auto& rank : ranks)
    if (const int size = integer_or(rank, "world_size", -1); size >= 0) worlds.insert(size);
  for (const int size : worlds)
    if (size != expected_ranks)
      warnings.push_back(fmt::format("exec: the launcher started a world of {} ranks; {} were asked for", size,
                                     expected_ranks));
  return warnings;
}

std::vector<std::string> thread_warnings(const json& placement, int expected_threads) {
  std::vector<std::string> warnings;
  std::map<int, int> working;  // rank -> working threads
  for (const auto& entry : placement) {
    const int rank = integer_or(entry, "rank", -1);
    working.try_emplace(rank, 0);
    if (entry.value("helper", false)) continue;
    ++working[rank];
    const std::vector<int> allowed = parse_cpu_list(text_or_empty(entry, "allowed_cpus"));
    const int cpu = integer_or(entry, "cpu", -1);
    if (std::find(allowed.begin(), allowed.end(), cpu) == allowed.end())
      warnings.push_back(fmt::format("exec: rank {} thread {} ran on CPU {} outside its allowed CPUs {}", rank,
                                     integer_or(entry, "thread", 0), cpu, text_or_empty(entry, "allowed_cpus")));
  }
  for (const auto& [rank, count] : working) {
    if (count > expected_threads)
      warnings.push_back(fmt::format("exec: rank {} had {} working threads; {} per rank were asked for", rank, count,
                                     expected_threads));
    else if (count < expected_threads)
      warnings.push_back(fmt::format("exec: only {} of the {} threads asked for did measurable work on rank {} (does "
                                     "the program take its thread count from {{threads}} or OMP_NUM_THREADS?)",
                                     count, expected_threads, rank));
  }
  return warnings;
}

// phases_s and imbalance from the PMPI figures of every rank.
void record_phases(json& record, const std::vector<json>& ranks) {
  const bool all_pmpi = !ranks.empty() && std::all_of(ranks.begin(), ranks.end(), [](const json& rank) {
    const auto at = rank.find("mpi");
    return at != rank.end() && at->is_object();
  });
  record["phases_s"]["source"] = all_pmpi ? "pmpi" : "unknown";
  if (!all_pmpi) return;
  std::vector<double> compute;
  double comm = 0, other = 0;
  for (const auto& rank : ranks) {
    const json& mpi = rank["mpi"];
    const double inside = number_or(mpi, "in_mpi_s", 0), span = number_or(mpi, "between_init_and_finalize_s", 0);
    comm = std::max(comm, inside);
    compute.push_back(std::max(0.0, span - inside));
    other = std::max(other, std::max(0.0, number_or(rank, "wall_s", 0) - span));
  }
  const Summary s = summarize(compute);
  double mean = 0;
  for (const double c : compute) mean += c / static_cast<double>(compute.size());
  record["phases_s"]["compute"] = s.max;
  record["phases_s"]["comm"] = comm;
  record["phases_s"]["other"] = other;
  record["imbalance"] = mean > 0 ? (s.max - s.min) / mean : 0.0;
}

void record_memory(json& record, const std::vector<json>& ranks) {
  if (ranks.empty()) return;
  std::uint64_t peak = 0, total = 0;
  for (const auto& rank : ranks) {
    const auto bytes = static_cast<std::uint64_t>(number_or(rank, "rss_peak_bytes", 0));
    peak = std::max(peak, bytes);
    total += bytes;
  }
  record["memory"]["rss_max_bytes"] = peak;
  record["memory"]["rss_total_bytes"] = total;
}

// Per-rank figures a person may want beside the record's maxima.
json per_rank_metrics(const std::vector<json>& ranks) {
  json per_rank = json::array();
  for (const auto& rank : ranks) {
    const json mpi = rank.value("mpi", json());
    per_rank.push_back({{"rank", rank.value("rank", json())},
                        {"host", rank.value("host", json())},
                        {"wall_s", rank.value("wall_s", json())},
                        {"rss_peak_bytes", rank.value("rss_peak_bytes", json())},
                        {"user_cpu_s", rank.value("user_cpu_s", json())},
                        {"system_cpu_s", rank.value("system_cpu_s", json())},
                        {"in_mpi_s", mpi.is_object() ? mpi.value("in_mpi_s", json()) : json()},
                        {"mpi_families", mpi.is_object() ? mpi.value("families", json()) : json()},
                        {"exit_status", rank.value("exit_status", json())},
                        {"signal", rank.value("signal", json())},
                        {"samples", rank.value("samples", json())}});
  }
  return per_rank;
}

}  // namespace

RankFiles read_rank_files(const std::string& dir) {
  RankFiles files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("rank-", 0) != 0 || entry.path().extension() != ".json" || name.find(".mpi.") != std::string::npos)
      continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    json rank = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (rank.is_object()) files.ranks.push_back(std::move(rank));
    else files.problems.push_back(fmt::format("exec: {} is not a JSON object", entry.path().string()));
  }
  std::sort(files.ranks.begin(), files.ranks.end(),
            [](const json& a, const json& b) { return integer_or(a, "rank", -1) < integer_or(b, "rank", -1); });
  return files;
}

json exec_placement(const std::vector<json>& ranks) {
  json placement = json::array();
  for (const auto& rank : ranks) {
    const std::vector<int> rank_cpus = parse_cpu_list(text_or_empty(rank, "rank_cpus"));
    const double busiest = busiest_thread_s(rank);
    int index = 0;
    for (const auto& thread : threads_of(rank)) {
      placement.push_back({{"host", rank.value("host", "")},
                           {"rank", rank.value("rank", json())},
                           {"thread", index++},
                           {"cpu", thread.value("cpu", -1)},
                           {"allowed_cpus", thread.value("allowed_cpus", "")},
                           {"tid", thread.value("tid", json())},
                           {"name", thread.value("name", "")},
                           {"cpus_seen", cpu_list_string(cpus_seen(thread))},
                           {"cpu_time_s", thread.value("cpu_time_s", 0.0)},
                           {"helper", is_helper(thread, rank_cpus, busiest)}});
    }
  }
  return placement;
}

std::vector<std::string> exec_warnings(const std::vector<json>& ranks, int expected_ranks, int expected_threads) {
  const json placement = exec_placement(ranks);
  std::vector<std::string> warnings = world_warnings(ranks, expected_ranks);
  for (auto& w : thread_warnings(placement, expected_threads)) warnings.push_back(std::move(w));
  for (auto& w : placement_warnings(working_threads(placement, ranks))) warnings.push_back("exec: " + w);
  return warnings;
}

std::optional<double> slowest_wall_s(const std::vector<json>& ranks) {
  std::optional<double> slowest;
  for (const auto& rank : ranks) {
    const double wall = number_or(rank, "wall_s", -1);
    if (wall >= 0 && (!slowest || wall > *slowest)) slowest = wall;
  }
  return slowest;
}

void record_observations(json& record, const std::vector<json>& ranks, int expected_ranks, int expected_threads) {
  record["placement"] = exec_placement(ranks);
  std::vector<ThreadPlacement> all = working_threads(record["placement"], ranks);
  record["ranks_per_node"] = ranks_per_node(all);
  record_memory(record, ranks);
  record_phases(record, ranks);
  if (!ranks.empty()) {
    const json mpi = ranks.front().value("mpi", json());
    if (mpi.is_object()) {
      record["mpi"]["library"] = mpi.value("library", json());
      record["mpi"]["thread_level_requested"] = mpi.value("thread_level_requested", json());
      record["mpi"]["thread_level_provided"] = mpi.value("thread_level_provided", json());
    }
  }
  if (!record["metrics"].is_object()) record["metrics"] = json::object();
  record["metrics"]["ranks"] = per_rank_metrics(ranks);
  for (auto& warning : exec_warnings(ranks, expected_ranks, expected_threads)) record["warnings"].push_back(warning);
}

namespace {
std::shared_ptr<const re2::RE2> compile_pattern(const std::string& option, const std::string& text) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto pattern = std::make_shared<const re2::RE2>(text, options);
  if (!pattern->ok())
    throw UsageError(fmt::format("{}: '{}' is not a valid regular expression ({}); RE2 syntax, e.g. "
                                 "'Performance: ([0-9.]+)'", option, text, pattern->error()));
  return pattern;
}
}  // namespace

std::shared_ptr<const re2::RE2> success_pattern(const std::string& text) { return compile_pattern("--success", text); }

std::shared_ptr<const re2::RE2> fom_pattern(const std::string& text) {
  auto pattern = compile_pattern("--fom", text);
  if (pattern->NumberOfCapturingGroups() < 1)
    throw UsageError(fmt::format("--fom: '{}' has no group; the figure of merit is the first group, e.g. "
                                 "'Performance: ([0-9.eE+-]+)'", text));
  return pattern;
}

std::optional<double> figure_of_merit(const std::string& output, const re2::RE2& pattern) {
  std::string text;
  if (pattern.NumberOfCapturingGroups() < 1 || !re2::RE2::PartialMatch(output, pattern, &text)) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::vector<std::string> substitute_placeholders(const std::vector<std::string>& args, int ranks, int threads,
                                                 int nodes) {
  const std::map<std::string, std::string> values{{"ranks", std::to_string(ranks)},
                                                  {"threads", std::to_string(threads)},
                                                  {"cores", std::to_string(static_cast<long long>(ranks) * threads)},
                                                  {"nodes", std::to_string(nodes)}};
  // A {word} is a placeholder when word is an identifier; other braces are the program's.
  const auto identifier = [](const std::string& word) {
    if (word.empty() || !(std::isalpha(static_cast<unsigned char>(word[0])) || word[0] == '_')) return false;
    return std::all_of(word.begin(), word.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  };
  std::vector<std::string> result;
  for (const auto& arg : args) {
    std::string out;
    std::size_t at = 0;
    while (at < arg.size()) {
      const std::size_t open = arg.find('{', at);
      const std::size_t close = open == std::string::npos ? open : arg.find('}', open + 1);
      if (close == std::string::npos) break;
      const std::string word = arg.substr(open + 1, close - open - 1);
      if (!identifier(word) || word.find('{') != std::string::npos) {
        out.append(arg, at, open + 1 - at);  // not a placeholder: keep the brace, look further
        at = open + 1;
        continue;
      }
      const auto known = values.find(word);
      if (known == values.end())
        throw UsageError(fmt::format("unknown placeholder {{{}}} in '{}'; the program's arguments may use {{ranks}}, "
                                     "{{threads}}, {{cores}} and {{nodes}}", word, arg));
      out.append(arg, at, open - at);
      out += known->second;
      at = close + 1;
    }
    out.append(arg, std::min(at, arg.size()), std::string::npos);
    result.push_back(std::move(out));
  }
  return result;
}

std::string resolve_program(const std::string& program) {
  if (program.empty()) throw UsageError("--exec: no program after '--' (hk run --exec [options] -- PROGRAM ARGS...)");
  const auto usable = [](const fs::path& path) {
    std::error_code error;
    return fs::is_regular_file(path, error) && access(path.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    std::error_code error;
    if (!fs::exists(program, error)) throw UsageError(fmt::format("--exec: program '{}' does not exist", program));
    if (!usable(program)) throw UsageError(fmt::format("--exec: program '{}' is not an executable file", program));
    return fs::absolute(program).lexically_normal().string();
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && usable(fs::path(dir) / program)) return fs::absolute(fs::path(dir) / program).string();
  throw UsageError(fmt::format("--exec: program '{}' is not an executable file in PATH", program));
}

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (context == nullptr || EVP_DigestInit_ex(context, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context);
    return "";
  }
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(context, buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const bool done = EVP_DigestFinal_ex(context, digest, &length) == 1;
  EVP_MD_CTX_free(context);
  if (!done) return "";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace hk::exec
