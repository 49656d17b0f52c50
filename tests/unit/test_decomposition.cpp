#include <gtest/gtest.h>

#include "hk/decomposition.hpp"

TEST(BlockRange, CoversEverythingOnceWithSizesDifferingByAtMostOne) {
  for (std::int64_t total : {0, 1, 7, 13, 100, 101}) {
    for (std::int64_t parts : {1, 2, 3, 4, 7, 16}) {
      std::int64_t next = 0, smallest = total, largest = 0;
      for (std::int64_t i = 0; i < parts; ++i) {
        const hk::Range r = hk::block_range(total, parts, i);
        EXPECT_EQ(r.begin, next);
        next = r.end;
        smallest = std::min(smallest, r.size());
        largest = std::max(largest, r.size());
      }
      EXPECT_EQ(next, total);
      EXPECT_LE(largest - smallest, 1);
    }
  }
}

TEST(BlockRange, RejectsBadArguments) {
  EXPECT_THROW(hk::block_range(10, 0, 0), std::invalid_argument);
  EXPECT_THROW(hk::block_range(10, 2, 2), std::invalid_argument);
  EXPECT_THROW(hk::block_range(-1, 2, 0), std::invalid_argument);
}
