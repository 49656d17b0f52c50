#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>

#include "hk/timer.hpp"

namespace hk::pipeline {

namespace {
// One write, so that nothing else interleaves inside a line.
void write_stderr(const std::string& text) {
  std::fflush(stderr);
  if (write(STDERR_FILENO, text.data(), text.size()) < 0) { /* stderr is gone: nothing to tell */ }
}
}  // namespace

std::string clock_text(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  return s >= 3600 ? fmt::format("{}:{:02d}:{:02d}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02d}", s / 60, s % 60);
}

Progress::Progress(int total, int already_done)
    : total_(total), done_(already_done), tty_(isatty(STDERR_FILENO) != 0) {}

void Progress::running(const std::string& what, double elapsed_s) {
  if (!tty_) return;
  const double now = wall_seconds();
  if (now - last_draw_ < 0.2) return;
  last_draw_ = now;
  const int width = 24;
  const int filled = total_ > 0 ? done_ * width / total_ : width;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(width, '.');
  std::string eta = "ETA --:--";
  if (finished_here_ > 0) {
    const double per_run = spent_ / finished_here_;
    eta = "ETA " + clock_text(std::max(0.0, per_run * (total_ - done_) - elapsed_s));
  }
  write_stderr(fmt::format("\r\033[K[{}] {}/{} {} ({}) {}", bar, done_, total_, what, clock_text(elapsed_s), eta));
}

void Progress::finished(const std::string& line, double wall_s) {
  ++done_;
  ++finished_here_;
  spent_ += wall_s;
  write_stderr(fmt::format("{}hk sweep: [{}/{}] {}\n", tty_ ? "\r\033[K" : "", done_, total_, line));
  last_draw_ = 0;
}

void Progress::message(const std::string& line) {
  write_stderr(fmt::format("{}{}\n", tty_ ? "\r\033[K" : "", line));
  last_draw_ = 0;
}

}  // namespace hk::pipeline
