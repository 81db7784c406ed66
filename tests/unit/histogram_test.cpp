#include <gtest/gtest.h>

#include <random>

#include "anysock/histogram.hpp"

using anysock::histogram;

TEST(Histogram, SmallValuesAreExact) {
  histogram h;
  for (std::uint64_t v = 0; v < 64; ++v) h.record(v);
  EXPECT_EQ(h.count(), 64u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 63u);
  EXPECT_EQ(h.quantile(0.5), 31u);
  EXPECT_EQ(h.quantile(1.0), 63u);
}

TEST(Histogram, LargeValuesWithinTwoPercent) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    std::uint64_t v = rng() >> (rng() % 60);
    auto r = histogram::representative(histogram::index(v));
    double err = v ? std::abs(static_cast<double>(r) - static_cast<double>(v)) / static_cast<double>(v) : 0;
    ASSERT_LT(err, 0.02) << v << " reported as " << r;
    ASSERT_LT(histogram::index(v), histogram::bucket_count);
  }
  EXPECT_LT(histogram::index(~std::uint64_t{0}), histogram::bucket_count);
}

TEST(Histogram, QuantilesOfAUniformSpread) {
  histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms
  auto near = [](std::uint64_t got, double want) { return std::abs(static_cast<double>(got) - want) / want < 0.02; };
  EXPECT_TRUE(near(h.quantile(0.5), 50e6)) << h.quantile(0.5);
  EXPECT_TRUE(near(h.quantile(0.99), 99e6)) << h.quantile(0.99);
  EXPECT_TRUE(near(h.quantile(0.999), 99.9e6)) << h.quantile(0.999);
  EXPECT_EQ(h.max(), 100000000u);
}

TEST(Histogram, MergeAddsCounts) {
  histogram a, b;
  a.record(10);
  b.record(1000000);
  a.merge(b);
  EXPECT_EQ(a.count(), 2u);
  EXPECT_EQ(a.max(), 1000000u);
  EXPECT_EQ(a.min(), 10u);
}
