#pragma once
#include <array>
#include <chrono>

namespace hk {

enum class Phase { compute = 0, comm = 1, other = 2 };

inline double wall_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Wall-clock time a rank spends in each phase of one repetition. Kernels wrap their compute
// and communication in scopes; time outside any scope counts as `other`.
class PhaseTimer {
 public:
  class Scope {
   public:
    Scope(PhaseTimer& owner, Phase phase) : owner_(owner), phase_(phase), start_(wall_seconds()) {}
    ~Scope() { owner_.add(phase_, wall_seconds() - start_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    PhaseTimer& owner_;
    Phase phase_;
    double start_;
  };

  Scope time(Phase phase) { return Scope(*this, phase); }
  void add(Phase phase, double seconds) { seconds_[static_cast<int>(phase)] += seconds; }
  double seconds(Phase phase) const { return seconds_[static_cast<int>(phase)]; }
  void reset() { seconds_ = {0.0, 0.0, 0.0}; }

 private:
  std::array<double, 3> seconds_{0.0, 0.0, 0.0};
};

}  // namespace hk
