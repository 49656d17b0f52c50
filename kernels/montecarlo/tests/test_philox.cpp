#include <gtest/gtest.h>

#include "philox.hpp"

using hk::rng::Counter;
using hk::rng::Key;

// Known-answer vectors published with Random123 (kat_vectors): counter, key -> output.
TEST(Philox4x32, KnownAnswerZeros) {
  EXPECT_EQ(hk::rng::philox4x32({0, 0, 0, 0}, {0, 0}), (Counter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
}

TEST(Philox4x32, KnownAnswerOnes) {
  EXPECT_EQ(hk::rng::philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (Counter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
}

TEST(Philox4x32, KnownAnswerPiDigits) {
  const Counter counter{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
  const Key key{0xa4093822, 0x299f31d0};
  EXPECT_EQ(hk::rng::philox4x32(counter, key), (Counter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
  // The 7-round variant of the same vector checks the round structure independently.
  EXPECT_EQ(hk::rng::philox4x32(counter, key, 7), (Counter{0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a}));
}

TEST(Philox4x32, IsUsableAtCompileTime) {
  static_assert(hk::rng::philox4x32({0, 0, 0, 0}, {0, 0})[0] == 0x6627e8d5u);
  SUCCEED();
}

TEST(Philox4x32, UniformsStayInTheirIntervals) {
  EXPECT_EQ(hk::rng::uniform_co(0, 0), 0.0);
  EXPECT_LT(hk::rng::uniform_co(0xffffffff, 0xffffffff), 1.0);
  EXPECT_GT(hk::rng::uniform_oc(0, 0), 0.0);
  EXPECT_EQ(hk::rng::uniform_oc(0xffffffff, 0xffffffff), 1.0);
}

TEST(Philox4x32, SampleCounterAndSeedKeyLayout) {
  EXPECT_EQ(hk::rng::counter_for(0x0000000500000007ull), (Counter{7, 5, 0, 0}));
  EXPECT_EQ(hk::rng::key_from_seed(0x0000000300000009ull), (Key{9, 3}));
}
