#pragma once
// The front end's small file and process helpers, in one place (hk run, hk sweep and hk slurm
// share them; the record appenders and readers are the runtime's: hk/record.hpp).
#include <cstddef>
#include <string>
#include <vector>

namespace hk {

// Replaces `path` with `text` at once: written to a temporary file beside it, then renamed, so a
// reader sees the old or the new content, never a part. RuntimeError naming the file on failure.
void write_atomically(const std::string& path, const std::string& text);

// Runs argv (no shell: every word passed as it is) and returns its exit status (128 + signal when
// killed) with its standard output, and its standard error too when `with_stderr`.
int capture(const std::vector<std::string>& argv, std::string& output, bool with_stderr = true);
// The first line of a text, without its line end.
std::string first_line(const std::string& text);

// The last `max_bytes` of a file (all of a smaller one); "" when it cannot be read.
std::string read_file_tail(const std::string& path, std::size_t max_bytes);
// The last `lines` lines of a text that are neither blank nor a rule of dashes, '\n'-joined.
std::string last_lines(const std::string& text, int lines);
// The same for the end of a file (for error records: a launch's stderr).
std::string tail_lines(const std::string& path, int lines);

// This process's command line as typed (/proc/self/cmdline).
std::vector<std::string> own_command_line();
// Words joined by spaces, each quoted for a POSIX shell when it needs it.
std::string join_quoted(const std::vector<std::string>& words);
// `text` with every character other than letters, digits, '-', '_' and '.' replaced by '_'.
std::string safe_name(const std::string& text);

}  // namespace hk
