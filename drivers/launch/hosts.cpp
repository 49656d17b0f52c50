#include "hosts.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "hk/errors.hpp"

namespace hk {

std::string HostList::names() const {
  std::string text;
  for (const auto& host : hosts) text += (text.empty() ? "" : ", ") + host.name;
  return text;
}

namespace {

// A host name or IPv4 address as a launcher takes it: letters, digits, '.', '-', '_', not
// starting with '-' or '.' (an option or a typo), at most 253 characters.
bool valid_host_name(const std::string& name) {
  if (name.empty() || name.size() > 253 || name[0] == '-' || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

// A slot count in [1, kMaxSlots]; -1 when `text` is not one.
int parse_count(const std::string& text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxSlots) return -1;
  return value;
}

// Adds `host` to `list`: a host already there adds its slots (Open MPI's rule for hostfiles).
void add_host(std::vector<HostSlots>& list, const HostSlots& host) {
  for (auto& known : list) {
    if (known.name != host.name) continue;
    known.slots = known.slots > 0 && host.slots > 0 ? std::min(known.slots + host.slots, kMaxSlots) : 0;
    return;
  }
  list.push_back(host);
}

// One hostfile line without its comment: "host [slots=N] [max_slots=M]"; empty name: no host.
HostSlots parse_hostfile_line(const std::string& line, const std::string& where) {
  std::istringstream words(line);
  HostSlots host;
  if (!(words >> host.name)) return host;
  if (!valid_host_name(host.name))
    throw UsageError(fmt::format("{}: '{}' is not a host name (letters, digits, '.', '-', '_')", where, host.name));
  int max_slots = 0;
  for (std::string word; words >> word;) {
    const std::size_t equals = word.find('=');
    const std::string key = word.substr(0, equals);
    const int value = equals == std::string::npos ? -1 : parse_count(word.substr(equals + 1));
    if ((key != "slots" && key != "max_slots") || value < 0)
      throw UsageError(fmt::format("{}: '{}' is not understood; allowed after the host: slots=N, max_slots=N (N from "
                                   "1 to {})",
                                   where, word, kMaxSlots));
    (key == "slots" ? host.slots : max_slots) = value;
  }
  if (max_slots > 0 && host.slots > max_slots)
    throw UsageError(fmt::format("{}: slots={} is more than max_slots={}", where, host.slots, max_slots));
  return host;
}

}  // namespace

HostList parse_hosts_option(const std::string& text) {
  HostList list{{}, "hosts", "--hosts"};
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const std::size_t colon = item.find(':');
    HostSlots host{item.substr(0, colon), 0};
    if (!valid_host_name(host.name))
      throw UsageError(fmt::format("--hosts: '{}' is not HOST or HOST:SLOTS (a host name: letters, digits, '.', '-', "
                                   "'_'; e.g. --hosts node1:4,node2:4)",
                                   item));
    if (colon != std::string::npos && (host.slots = parse_count(item.substr(colon + 1))) < 0)
      throw UsageError(fmt::format("--hosts: '{}': the slots after ':' must be a whole number from 1 to {}", item,
                                   kMaxSlots));
    for (const auto& known : list.hosts)
      if (known.name == host.name) throw UsageError(fmt::format("--hosts: '{}' is named twice", host.name));
    list.hosts.push_back(host);
    start = comma + 1;
  }
  return list;
}

HostList parse_hostfile_text(const std::string& text, const std::string& path) {
  HostList list{{}, "hostfile", "--hostfile " + path};
  std::istringstream lines(text);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    const HostSlots host = parse_hostfile_line(line.substr(0, line.find('#')), fmt::format("--hostfile {}:{}", path, number));
    if (!host.name.empty()) add_host(list.hosts, host);
  }
  if (list.hosts.empty())
    throw UsageError(fmt::format("--hostfile {}: names no host (expected lines like 'node1 slots=4')", path));
  return list;
}

HostList read_hostfile(const std::string& path) {
  std::error_code error;
  if (std::filesystem::exists(path, error) && !std::filesystem::is_regular_file(path, error))
    throw UsageError(fmt::format("--hostfile: '{}' is not a regular file", path));
  std::ifstream file(path);
  if (!file) throw UsageError(fmt::format("--hostfile: cannot read '{}': {}", path, std::strerror(errno)));
  // A hostfile is a few lines; a huge file is a mistake (a binary, a log), not hosts: refused
  // before it is read, and never more than the limit read.
  constexpr std::size_t kMaxBytes = 1 << 20;
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  std::string text(kMaxBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if ((!error && size > kMaxBytes) || text.size() > kMaxBytes)
    throw UsageError(fmt::format("--hostfile {}: larger than 1 MiB; is it a hostfile?", path));
  return parse_hostfile_text(text, path);
}

NodeHosts choose_hosts(const HostList& list, int nodes, int cores_option) {
  const int available = static_cast<int>(list.hosts.size());
  if (nodes > available)
    throw UsageError(fmt::format("--nodes {}: {} names only {} host(s) ({}); allowed: --nodes 1 to {}", nodes,
                                 list.origin, available, list.names(), available));
  NodeHosts chosen;
  chosen.hosts.assign(list.hosts.begin(), list.hosts.begin() + nodes);
  if (cores_option > 0) {
    chosen.cores_per_node = cores_option;
    chosen.cores_source = "--cores";
  } else {
    for (const auto& host : chosen.hosts) {
      if (host.slots == 0)
        throw UsageError(fmt::format("{}: host '{}' gives no slots, so its cores are not known; give them "
                                     "({}) or pass --cores N",
                                     list.origin, host.name,
                                     list.source == "hostfile" ? host.name + " slots=N" : host.name + ":N"));
      chosen.cores_per_node = chosen.cores_per_node == 0 ? host.slots : std::min(chosen.cores_per_node, host.slots);
    }
    chosen.cores_source = list.source == "hostfile" ? "hostfile slots" : "--hosts slots";
  }
  for (auto& host : chosen.hosts)
    if (host.slots == 0) host.slots = chosen.cores_per_node;
  return chosen;
}

std::vector<std::string> split_launcher_args(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote == '\'') {
      if (c == '\'') quote = 0; else word += c;
    } else if (quote == '"') {
      if (c == '"') quote = 0;
      else if (c == '\\' && i + 1 < text.size() && std::strchr("\"\\$`", text[i + 1])) word += text[++i];
      else word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) throw UsageError(fmt::format("--launcher-args: the quote {} is not closed", quote));
  if (in_word) words.push_back(word);
  return words;
}

}  // namespace hk
