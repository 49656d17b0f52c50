#pragma once
// Runs a test body once per SIMD path this CPU and build have (hk/simd.hpp: avx512, avx2,
// generic), each forced with restrict_to, then lifts the restriction. The body gets the path.
#include <gtest/gtest.h>

#include <string>

#include "hk/simd.hpp"

template <typename Body>
void for_each_simd_path(Body&& body) {
  const auto paths = hk::simd::available_paths();
  for (hk::simd::Path path : paths) {
    hk::simd::restrict_to(path);
    SCOPED_TRACE(std::string("SIMD path ") + hk::simd::path_name(path));
    body(path);
  }
  hk::simd::restrict_to(paths.front());
}
