#include <algorithm>
#include <stdexcept>

#include "hk/kernel.hpp"

namespace hk {

Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

void Registry::add(KernelInfo info) {
  if (find(info.name) != nullptr) throw std::logic_error("kernel registered twice: " + info.name);
  kernels_.push_back(std::move(info));
  std::sort(kernels_.begin(), kernels_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

const KernelInfo* Registry::find(const std::string& name) const {
  for (const auto& info : kernels_)
    if (info.name == name) return &info;
  return nullptr;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> names;
  for (const auto& info : kernels_) names.push_back(info.name);
  return names;
}

}  // namespace hk
