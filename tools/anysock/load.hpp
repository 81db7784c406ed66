// The closed-loop load generator behind `anysock bench`: N links over any
// transport, P messages in flight on each, every echoed byte verified.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "anysock/histogram.hpp"
#include "anysock/registry.hpp"

namespace anysock::cli {

struct load_options {
  std::string uri;
  std::size_t connections = 1;
  std::size_t size = 64;
  std::size_t pipeline = 1;
  std::chrono::milliseconds duration{5000};
  std::chrono::milliseconds warmup{1000};
  std::uint64_t count = 0;  // round trips to measure; 0: until duration
  std::chrono::milliseconds hold{0};  // idle mode: one round trip each, then hold the links
  std::chrono::milliseconds timeout{5000};  // a link without progress this long has failed
  unsigned threads = 1;
  std::size_t connect_window = 256;  // connects in flight per thread
  message_header header;  // what each message is sent as (a CAN request ID)
};

// What happened; counters are totals over every thread.
struct load_totals {
  histogram latency_ns;  // measured round trips only
  std::uint64_t round_trips = 0;
  std::uint64_t bytes = 0;  // echoed bytes, one way
  std::uint64_t mismatches = 0;
  std::uint64_t errors = 0;  // links that failed after connecting (I/O error, stall)
  std::uint64_t connect_failures = 0;
  std::uint64_t lost = 0;  // messages never answered (frame transports)
  std::uint64_t connected = 0;
  double seconds = 0;  // length of the measured window
  std::string first_error;
};

// Live counters for the progress line, read once a second from another thread.
struct load_progress {
  std::atomic<std::uint64_t> round_trips{0}, errors{0}, mismatches{0};
  std::array<std::atomic<std::uint32_t>, histogram::bucket_count> latency{};
  std::atomic<bool> measuring{false};
};

load_totals run_load(const registry& reg, const load_options& o, load_progress& progress);

}  // namespace anysock::cli
