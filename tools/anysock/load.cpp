#include "load.hpp"

#include <barrier>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <random>
#include <thread>

#include "anysock/client.hpp"

namespace anysock::cli {
namespace {

using clock = std::chrono::steady_clock;
enum phase_t : int { warming = 0, measuring = 1, stopping = 2 };

// Each message: [link id: u32][sequence: u32][fixed random pattern...]. The
// header catches reordering and links' bytes crossing; comparing the rest
// with one pattern block (memcmp) catches corruption without costing the
// client more CPU than the server it measures.
constexpr std::size_t header_size = 8;

struct shared_state {
  const load_options& o;
  load_progress& progress;
  std::atomic<int> phase{warming};
  std::atomic<std::uint64_t> measured{0};
  std::vector<std::byte> pattern;
  std::atomic<std::uint64_t> connected{0};
  std::atomic<std::uint64_t> open_links{0};  // once none is, the run ends: nothing is left to measure
};

void put_header(std::byte* out, std::uint32_t id, std::uint32_t seq, std::size_t size) {
  std::byte h[header_size];
  std::memcpy(h, &id, 4);
  std::memcpy(h + 4, &seq, 4);
  std::memcpy(out, h, std::min(size, header_size));
}

struct link_run {
  link_run(std::unique_ptr<any_link> l, std::uint32_t id_, const shared_state& st)
      : link(std::move(l)), id(id_), sent_at(std::max<std::size_t>(st.o.pipeline, 1)),
        tx(st.pattern), wake(link->get_executor(), clock::time_point::max()),
        rx(link->is_stream() ? std::clamp<std::size_t>(st.o.size * st.o.pipeline, 4096, 65536)
                             : std::max(link->receive_size(), st.o.size)) {}

  std::unique_ptr<any_link> link;
  std::uint32_t id;
  std::uint32_t next_send = 0, next_recv = 0;
  std::size_t credits = 0, outstanding = 0;
  std::vector<clock::time_point> sent_at;
  std::vector<std::byte> tx;
  asio::steady_timer wake;  // the writer waits here for credit
  std::vector<std::byte> rx;
  clock::time_point last_progress = clock::now();
  bool closed = false, done = false;
  bool sending = false;  // the writer's awaited send holds `tx`
};

struct worker {
  worker(shared_state& s, const registry& r, std::size_t first, std::size_t n)
      : st(s), reg(r), first_id(first), count(n) {}
  shared_state& st;
  const registry& reg;
  std::size_t first_id, count;
  asio::io_context io{1};
  load_totals totals;
  std::vector<std::unique_ptr<link_run>> links;
  std::size_t next_connect = 0;
  std::size_t connectors = 0;  // running

  void fail(link_run& l, std::string why, bool mismatch) {
    if (l.closed) return;
    (mismatch ? totals.mismatches : totals.errors)++;
    (mismatch ? st.progress.mismatches : st.progress.errors)++;
    if (totals.first_error.empty()) totals.first_error = std::move(why);
    end(l);
    l.wake.cancel();
  }

  void end(link_run& l) {
    if (!std::exchange(l.closed, true)) st.open_links.fetch_sub(1);
    l.link->close();
  }

  asio::awaitable<void> connector() {
    while (next_connect < count) {
      auto id = static_cast<std::uint32_t>(first_id + next_connect++);
      auto r = co_await connect(reg, st.o.uri, st.o.timeout);
      if (!r) {
        totals.connect_failures++;
        if (totals.first_error.empty()) totals.first_error = r.err().message;
        continue;
      }
      links.push_back(std::make_unique<link_run>(std::move(r).value(), id, st));
      st.open_links++;
    }
    // A link may keep work of its own going (an MQTT client's keepalive), so
    // the connect phase ends with the last connector, not with the work.
    if (--connectors == 0) io.stop();
  }

  bool verify(link_run& l, const std::byte* p, std::size_t off, std::size_t n) {
    std::byte h[header_size];
    put_header(h, l.id, l.next_recv, header_size);
    std::size_t i = 0;
    for (; i < n && off + i < header_size; ++i)
      if (p[i] != h[off + i]) return false;
    return std::memcmp(p + i, st.pattern.data() + off + i, n - i) == 0;
  }

  void completed(link_run& l, clock::time_point now) {
    auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - l.sent_at[l.next_recv % l.sent_at.size()])
            .count());
    l.next_recv++;
    l.outstanding--;
    l.credits++;
    if (st.phase.load(std::memory_order_relaxed) != measuring) return;
    totals.latency_ns.record(ns);
    totals.round_trips++;
    totals.bytes += st.o.size;
    st.progress.round_trips.fetch_add(1, std::memory_order_relaxed);
    st.progress.latency[histogram::index(ns)].fetch_add(1, std::memory_order_relaxed);
    if (st.o.count && st.measured.fetch_add(1, std::memory_order_relaxed) + 1 >= st.o.count)
      st.phase.store(stopping);
  }

  asio::awaitable<void> reader(link_run& l) {
    const std::size_t size = st.o.size;
    std::size_t off = 0;  // bytes of the current echo seen so far (streams)
    unsigned inline_run = 0;  // frames handled since the thread last ran other work
    for (;;) {
      message_header h{};
      auto [ec, n] = co_await l.link->receive(asio::buffer(l.rx), h);
      if (ec) {
        if (!l.closed && !(st.phase == stopping && l.outstanding == 0))
          fail(l, fmt::format("link {}: {}", l.id, ec.message()), false);
        break;
      }
      if (!l.link->is_stream() && n >= 4) {
        // On a bus every client hears every reply on the reply ID: a frame
        // another link sent is not ours to count (the header names its link).
        std::uint32_t from = 0;
        std::memcpy(&from, l.rx.data(), 4);
        if (from != l.id) continue;
      }
      auto now = clock::now();
      l.last_progress = now;
      if (l.outstanding == 0) {
        fail(l, fmt::format("link {}: {} bytes arrived that were never sent", l.id, n), true);
        break;
      }
      if (!l.link->is_stream()) {
        if (n != size || !verify(l, l.rx.data(), 0, n)) {
          fail(l, fmt::format("link {}: echo {} differs from what was sent", l.id, l.next_recv), true);
          break;
        }
        completed(l, now);
        after_reply(l);
        // A CAN link completes a receive inside the call when a frame is
        // queued, and in Boost 1.81 the coroutine then resumes inside it:
        // with replies sending the next request at once the socket need
        // never empty, so without a pause now and then the stack would
        // only grow (and the watchdog and other links never run).
        if (++inline_run >= 64) {
          inline_run = 0;
          co_await asio::post(l.link->get_executor(), asio::use_awaitable);
        }
        continue;
      }
      const std::byte* p = l.rx.data();
      bool bad = false;
      while (n > 0) {
        if (l.outstanding == 0) {
          bad = true;
          break;
        }
        std::size_t take = std::min(n, size - off);
        if (!verify(l, p, off, take)) {
          bad = true;
          break;
        }
        off += take;
        p += take;
        n -= take;
        if (off == size) {
          off = 0;
          completed(l, now);
          after_reply(l);
        }
      }
      if (bad) {
        fail(l, fmt::format("link {}: echo {} differs from what was sent (or came out of order)", l.id,
                            l.next_recv),
             true);
        break;
      }
    }
    l.done = true;
    end(l);
    l.wake.cancel();
  }

  // May the next request go now? With --hold a link sends one, then idles.
  bool may_send(const link_run& l) const {
    if (l.credits == 0 || l.closed || st.phase == stopping) return false;
    return !(st.o.hold.count() > 0 && l.next_send == 1);
  }

  void stamp_next(link_run& l) {
    put_header(l.tx.data(), l.id, l.next_send, l.tx.size());
    l.sent_at[l.next_send % l.sent_at.size()] = clock::now();
  }

  // Frame links: sends the requests the credit allows without blocking, so
  // a reply sends the next request at once, without waking the writer (a
  // timer, a coroutine switch and an Asio send op per message made the
  // client, not the responder, the limit at 32 CAN frames in flight). A
  // frame goes whole or not at all; a stream may take part of a message,
  // so streams always send from the writer. False when the link would
  // block: the writer's awaited send takes over.
  bool send_inline(link_run& l) {
    if (l.link->is_stream()) return false;
    while (may_send(l)) {
      stamp_next(l);
      error_code ec;
      l.link->try_send(asio::buffer(l.tx), st.o.header, ec);
      if (ec == asio::error::would_block) return false;
      if (ec) {
        fail(l, fmt::format("link {}: sending failed: {}", l.id, ec.message()), false);
        return true;
      }
      l.credits--;
      l.outstanding++;
      l.next_send++;
    }
    return true;
  }

  // A reply returned a credit: a frame link spends it here; the writer does
  // for streams, or when it is busy with an awaited send, or the link would
  // block.
  void after_reply(link_run& l) {
    if (l.sending || !send_inline(l)) l.wake.cancel_one();
  }

  asio::awaitable<void> writer(link_run& l) {
    l.credits = st.o.hold.count() > 0 ? 1 : std::max<std::size_t>(st.o.pipeline, 1);
    for (;;) {
      while (!may_send(l) && !l.closed && st.phase != stopping)
        co_await l.wake.async_wait(asio::as_tuple(asio::use_awaitable));
      if (l.closed || st.phase == stopping) co_return;
      if (send_inline(l)) continue;
      stamp_next(l);
      l.credits--;
      l.outstanding++;
      l.sending = true;
      auto [ec, n] = co_await l.link->send(asio::buffer(l.tx), st.o.header);
      l.sending = false;
      if (ec) {
        fail(l, fmt::format("link {}: sending failed: {}", l.id, ec.message()), false);
        co_return;
      }
      l.next_send++;
    }
  }

  // Ends links at the stop, and links that stopped making progress.
  asio::awaitable<void> watchdog() {
    asio::steady_timer t(io);
    for (;;) {
      t.expires_after(std::chrono::milliseconds(20));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      const bool stop = st.phase == stopping;
      const auto now = clock::now();
      bool all_done = true;
      for (auto& lp : links) {
        auto& l = *lp;
        if (l.done) continue;
        all_done = false;
        if (stop) l.wake.cancel();
        if (l.closed) continue;
        if (stop && l.outstanding == 0) {
          end(l);
        } else if (now - l.last_progress > st.o.timeout && (l.outstanding > 0 || stop)) {
          if (!l.link->is_stream()) {
            totals.lost += l.outstanding;
            l.outstanding = 0;
            end(l);
          } else {
            fail(l, fmt::format("link {}: no echo for {} ms", l.id, st.o.timeout.count()), false);
          }
        }
      }
      if (all_done) co_return;
    }
  }

  void run(std::barrier<>& connected, std::barrier<>& finished) {
    connectors = std::min(count, st.o.connect_window);
    for (std::size_t i = 0; i < connectors; ++i) asio::co_spawn(io, connector(), asio::detached);
    if (connectors > 0) io.run();
    io.restart();
    totals.connected = links.size();
    st.connected += links.size();
    connected.arrive_and_wait();
    for (auto& l : links) {
      l->last_progress = clock::now();
      asio::co_spawn(io, reader(*l), asio::detached);
      asio::co_spawn(io, writer(*l), asio::detached);
    }
    asio::co_spawn(io, watchdog(), asio::detached);
    io.run();
    links.clear();
    finished.arrive_and_wait();
  }
};

}  // namespace

load_totals run_load(const registry& reg, const load_options& o, load_progress& progress) {
  shared_state st{o, progress, {}, {}, {}, {}};
  st.pattern.resize(std::max(o.size, header_size));
  std::mt19937 rng(12345);
  for (auto& b : st.pattern) b = static_cast<std::byte>(rng());
  st.pattern.resize(o.size);

  const unsigned threads = std::max(1u, std::min<unsigned>(o.threads, static_cast<unsigned>(o.connections)));
  std::barrier<> connected(threads + 1), finished(threads + 1);
  std::vector<std::unique_ptr<worker>> workers;
  std::size_t given = 0;
  for (unsigned t = 0; t < threads; ++t) {
    std::size_t n = o.connections / threads + (t < o.connections % threads ? 1 : 0);
    workers.push_back(std::make_unique<worker>(st, reg, given, n));
    given += n;
  }
  std::vector<std::thread> pool;
  for (auto& w : workers) pool.emplace_back([&, wp = w.get()] { wp->run(connected, finished); });

  connected.arrive_and_wait();
  clock::time_point start{}, end{};
  if (st.connected == 0) {
    // Nothing to measure: every connect failed.
  } else if (o.hold.count() > 0) {
    std::this_thread::sleep_for(o.hold);
  } else {
    std::this_thread::sleep_for(o.warmup);
    start = clock::now();
    st.phase = measuring;
    progress.measuring = true;
    const auto deadline = start + o.duration;
    while (st.phase == measuring && clock::now() < deadline && st.open_links > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  st.phase = stopping;
  end = clock::now();
  progress.measuring = false;
  finished.arrive_and_wait();
  for (auto& t : pool) t.join();

  load_totals all;
  for (auto& w : workers) {
    auto& t = w->totals;
    all.latency_ns.merge(t.latency_ns);
    all.round_trips += t.round_trips;
    all.bytes += t.bytes;
    all.mismatches += t.mismatches;
    all.errors += t.errors;
    all.connect_failures += t.connect_failures;
    all.lost += t.lost;
    all.connected += t.connected;
    if (all.first_error.empty()) all.first_error = t.first_error;
  }
  all.seconds = o.hold.count() > 0 ? 0 : std::chrono::duration<double>(end - start).count();
  return all;
}

}  // namespace anysock::cli
