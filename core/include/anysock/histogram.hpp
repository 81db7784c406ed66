// A log-linear latency histogram in the spirit of HdrHistogram: 64 linear
// sub-buckets per power of two, so any recorded value is reported within
// ~1.6%, in a fixed 15 KiB whatever the range (1 ns .. centuries).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace anysock {

class histogram {
 public:
  static constexpr unsigned sub_bits = 6;
  static constexpr std::uint64_t sub_count = 1u << sub_bits;  // 64
  static constexpr std::size_t bucket_count = sub_count + (64 - sub_bits) * (sub_count / 2);

  void record(std::uint64_t v) {
    ++counts_[index(v)];
    ++total_;
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
    sum_ += v;
  }
  void merge(const histogram& o) {
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
    min_ = std::min(min_, o.min_);
    sum_ += o.sum_;
  }
  void reset() { *this = histogram{}; }

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return total_ ? max_ : 0; }
  std::uint64_t min() const { return total_ ? min_ : 0; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }

  // The value at quantile q in [0, 1] (q = 0.99 for p99); 0 when empty.
  std::uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_) + 0.5);
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(representative(i), max_);
    }
    return max_;
  }

  static std::size_t index(std::uint64_t v) {
    if (v < sub_count) return static_cast<std::size_t>(v);
    const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - sub_bits;  // >= 1
    const std::uint64_t top = v >> shift;  // in [sub_count/2, sub_count)
    return static_cast<std::size_t>(sub_count + (shift - 1) * (sub_count / 2) + (top - sub_count / 2));
  }
  // The middle of the values that land in bucket i.
  static std::uint64_t representative(std::size_t i) {
    if (i < sub_count) return i;
    const std::uint64_t k = i - sub_count;
    const unsigned shift = static_cast<unsigned>(k / (sub_count / 2)) + 1;
    const std::uint64_t top = k % (sub_count / 2) + sub_count / 2;
    const std::uint64_t lo = top << shift;
    return lo + ((std::uint64_t{1} << shift) - 1) / 2;
  }

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t total_ = 0, max_ = 0, min_ = ~std::uint64_t{0}, sum_ = 0;
};

}  // namespace anysock
