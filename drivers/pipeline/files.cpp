#include "files.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "hk/errors.hpp"
#include "hk/system.hpp"

namespace hk {

namespace fs = std::filesystem;

void write_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = fmt::format("{}.tmp{}", path, getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw RuntimeError(fmt::format("cannot write '{}'", temporary));
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) {
    fs::remove(temporary, error);
    throw RuntimeError(fmt::format("cannot replace '{}': {}", path, error.message()));
  }
}

int capture(const std::vector<std::string>& argv, std::string& output, bool with_stderr) {
  std::string line = join_quoted(argv) + (with_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* pipe = popen(line.c_str(), "r");
  if (!pipe) throw RuntimeError(fmt::format("cannot run '{}'", argv.front()));
  output.clear();
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  if (status == -1) return kExitRuntime;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string read_file_tail(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  in.seekg(size > max_bytes ? static_cast<std::streamoff>(size - max_bytes) : 0);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string last_lines(const std::string& text, int lines) {
  std::vector<std::string> kept;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r-") == std::string::npos) continue;  // blank or a rule of dashes
    if (line.back() == '\r') line.pop_back();
    kept.push_back(line);
    if (static_cast<int>(kept.size()) > lines) kept.erase(kept.begin());
  }
  std::string joined;
  for (const auto& l : kept) {
    if (!joined.empty()) joined += '\n';
    joined += l;
  }
  return joined;
}

std::string tail_lines(const std::string& path, int lines) { return last_lines(read_file_tail(path, 65536), lines); }

std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> words;
  std::string word;
  while (std::getline(in, word, '\0')) words.push_back(word);
  return words;
}

std::string join_quoted(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& w : words) {
    if (!line.empty()) line += ' ';
    line += shell_quote(w);
  }
  return line;
}

std::string safe_name(const std::string& text) {
  std::string name = text;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return name;
}

}  // namespace hk
