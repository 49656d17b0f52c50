#pragma once
// hk sweep's progress on stderr: a redrawn bar on a terminal, one plain line per finished
// configuration otherwise. Every line goes out in one write.
#include <string>

namespace hk::pipeline {

class Progress {
 public:
  Progress(int total, int already_done);
  // The running configuration, `elapsed_s` into it (redrawn at most every 0.2 s, terminals only).
  void running(const std::string& what, double elapsed_s);
  // "hk sweep: [k/N] LINE", counted as done.
  void finished(const std::string& line, double wall_s);
  // A line of its own (warnings, the summary).
  void message(const std::string& line);

 private:
  int total_, done_, finished_here_ = 0;
  double spent_ = 0, last_draw_ = 0;
  bool tty_;
};

// "1:05", "1:02:03"
std::string clock_text(double seconds);

}  // namespace hk::pipeline
