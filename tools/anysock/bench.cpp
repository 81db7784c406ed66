// anysock bench: latency and throughput of any echo endpoint, verified.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <thread>

#include "commands.hpp"
#include "load.hpp"

namespace anysock::cli {
namespace {

std::string human_ns(std::uint64_t ns) {
  if (ns < 10'000) return fmt::format("{} ns", ns);
  if (ns < 10'000'000) return fmt::format("{:.1f} us", static_cast<double>(ns) / 1e3);
  return fmt::format("{:.1f} ms", static_cast<double>(ns) / 1e6);
}

// Once a second on a terminal: rate, p99 and errors of the last second.
void show_progress(load_progress& p, std::atomic<bool>& done) {
  std::uint64_t last_rt = 0;
  std::vector<std::uint32_t> last(histogram::bucket_count, 0);
  int second = 0;
  while (!done) {
    for (int i = 0; i < 100 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (done || !p.measuring) continue;
    ++second;
    auto rt = p.round_trips.load();
    histogram interval;  // rebuilt from the live bucket counts' difference
    for (std::size_t i = 0; i < histogram::bucket_count; ++i) {
      auto now = p.latency[i].load(std::memory_order_relaxed);
      for (std::uint32_t k = now - last[i]; k > 0; --k) interval.record(histogram::representative(i));
      last[i] = now;
    }
    fmt::print(stderr, "\r[{:>3}s] {:>10} round trips/s  p99 {:>9}  errors {}  mismatches {}   ", second,
               rt - last_rt, human_ns(interval.quantile(0.99)), p.errors.load(), p.mismatches.load());
    std::fflush(stderr);
    last_rt = rt;
  }
}

}  // namespace

int bench(const registry& reg, const bench_args& a) {
  if (a.size < 8)
    return fail({make_error_code(errc::bad_option),
                 fmt::format("--size {} is too small: a message carries an 8-byte link id and sequence "
                             "number; use --size 8 or more",
                             a.size)});
  load_options o;
  o.uri = a.uri;
  o.connections = a.connections;
  o.size = a.size;
  o.pipeline = a.pipeline;
  auto ms = [](double s) { return std::chrono::milliseconds(static_cast<long long>(std::llround(s * 1000))); };
  o.duration = ms(a.duration_s > 0 ? a.duration_s : (a.count ? 60.0 : 5.0));
  o.warmup = ms(a.warmup_s);
  o.count = a.count;
  o.hold = ms(a.hold_s);
  o.timeout = ms(a.timeout_s);
  o.threads = a.threads;

  // Validate the URI once here, so a typo is one line and not N failures.
  auto u = parse_uri(a.uri);
  if (!u) return fail(u.err());
  auto t = reg.resolve(*u);
  if (!t) return fail(t.err());
  if ((*t)->validate)
    if (auto ok = (*t)->validate(*u); !ok) return fail(ok.err());
  // Frame families send on a request ID: take it from what `send` would send.
  if ((*t)->default_messages)
    if (auto d = (*t)->default_messages(*u); !d.empty()) o.header = d.front().header;

  load_progress progress;
  std::atomic<bool> done{false};
  std::thread live;
  if (!a.json && isatty(2)) live = std::thread([&] { show_progress(progress, done); });
  auto r = run_load(reg, o, progress);
  done = true;
  if (live.joinable()) {
    live.join();
    fmt::print(stderr, "\n");
  }

  const auto& h = r.latency_ns;
  const double rate = r.seconds > 0 ? static_cast<double>(r.round_trips) / r.seconds : 0;
  const double mbps = r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds / 1e6 : 0;
  if (a.json) {
    fmt::print(
        "{{\"uri\":\"{}\",\"connections\":{},\"connected\":{},\"size\":{},\"pipeline\":{},\"seconds\":{:.3f},"
        "\"round_trips\":{},\"round_trips_per_s\":{:.1f},\"mb_per_s\":{:.3f},"
        "\"latency_ns\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{},\"max\":{},\"mean\":{:.0f}}},"
        "\"errors\":{},\"mismatches\":{},\"connect_failures\":{},\"lost\":{}}}\n",
        a.uri, a.connections, r.connected, a.size, a.pipeline, r.seconds, r.round_trips, rate, mbps,
        h.quantile(0.5), h.quantile(0.9), h.quantile(0.99), h.quantile(0.999), h.max(), h.mean(), r.errors,
        r.mismatches, r.connect_failures, r.lost);
  } else {
    fmt::print("anysock bench {}: {} of {} links connected, {} B messages, {} in flight per link\n", a.uri,
               r.connected, a.connections, a.size, a.pipeline);
    if (o.hold.count() > 0) {
      fmt::print("  held the links idle for {:.1f} s\n", a.hold_s);
    } else {
      fmt::print("  {} round trips in {:.2f} s: {:.0f} round trips/s, {:.2f} MB/s each way\n", r.round_trips,
                 r.seconds, rate, mbps);
      fmt::print("  latency p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n", human_ns(h.quantile(0.5)),
                 human_ns(h.quantile(0.9)), human_ns(h.quantile(0.99)), human_ns(h.quantile(0.999)),
                 human_ns(h.max()));
    }
    fmt::print("  errors {}  mismatches {}  connect failures {}  lost {}\n", r.errors, r.mismatches,
               r.connect_failures, r.lost);
  }
  std::fflush(stdout);
  if (!r.first_error.empty()) fmt::print(stderr, "anysock: first problem: {}\n", r.first_error);
  if (r.mismatches) return exit_echo_failed;
  if (r.connected == 0) return exit_network;
  if (r.errors || r.lost || r.connect_failures) return exit_echo_failed;
  if (o.hold.count() == 0 && r.round_trips == 0) return exit_timeout;
  return exit_ok;
}

}  // namespace anysock::cli
