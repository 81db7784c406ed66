// run_busy_polling: io.run() with a spin before each sleep. What must hold
// whatever the spin: every handler runs, timers fire after a sleep, stop()
// ends it, and it returns once there is no work left.
#include "anysock/busy_poll.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <functional>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using anysock::run_busy_polling;

namespace {

class BusyPoll : public ::testing::TestWithParam<std::chrono::microseconds> {};

}  // namespace

TEST_P(BusyPoll, ReturnsAtOnceWithNoWork) {
  asio::io_context io(1);
  run_busy_polling(io, GetParam());
  EXPECT_TRUE(io.stopped());
}

TEST_P(BusyPoll, RunsEveryHandlerOfAChainThenReturns) {
  asio::io_context io(1);
  int ran = 0;
  std::function<void()> next = [&] {
    if (++ran < 10000) asio::post(io, next);
  };
  asio::post(io, next);
  run_busy_polling(io, GetParam());
  EXPECT_EQ(ran, 10000);
}

// Spins shorter than the timers: they fire while it sleeps; longer: while it spins.
TEST_P(BusyPoll, TimersFireNeitherEarlyNorLost) {
  asio::io_context io(1);
  // Before the timers: the first one's 30 ms run from its construction.
  const auto start = std::chrono::steady_clock::now();
  asio::steady_timer first(io, 30ms), second(io);
  int fired = 0;
  first.async_wait([&](boost::system::error_code ec) {
    fired += !ec;
    second.expires_after(20ms);
    second.async_wait([&](boost::system::error_code ec2) { fired += !ec2; });
  });
  run_busy_polling(io, GetParam());
  EXPECT_EQ(fired, 2);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms) << "no timer fired early";
}

TEST_P(BusyPoll, WorkPostedFromAnotherThreadRunsAndStopEndsIt) {
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  std::atomic<int> ran{0};
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) {
      asio::post(io, [&] { ++ran; });
      // With spins shorter than these pauses, some posts find it asleep.
      std::this_thread::sleep_for(i % 2 ? 0ms : 3ms);
    }
    asio::post(io, [&] { io.stop(); });
  });
  run_busy_polling(io, GetParam());
  poster.join();
  EXPECT_EQ(ran.load(), 100);
  EXPECT_TRUE(io.stopped());
}

INSTANTIATE_TEST_SUITE_P(Spins, BusyPoll, ::testing::Values(0us, 1us, 1000us, 100000us),
                         [](const auto& p) { return std::to_string(p.param.count()) + "us"; });
