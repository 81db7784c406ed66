// runs_on_one_thread: how the CAN raw link chooses how to wait.
#include "anysock/executor_threads.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

namespace asio = boost::asio;
using anysock::runs_on_one_thread;

TEST(RunsOnOneThread, OnlyAnIoContextToldItHasOneThread) {
  asio::io_context one(1), unsaid, two(2);
  EXPECT_TRUE(runs_on_one_thread(one.get_executor()));
  EXPECT_FALSE(runs_on_one_thread(unsaid.get_executor()));
  EXPECT_FALSE(runs_on_one_thread(two.get_executor()));
}

TEST(RunsOnOneThread, UnsafeHintMeansOneThreadToo) {
  asio::io_context unlocked(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE);
  EXPECT_TRUE(runs_on_one_thread(unlocked.get_executor()));
}

TEST(RunsOnOneThread, AStrandAsksItsContext) {
  asio::io_context one(1), unsaid;
  EXPECT_TRUE(runs_on_one_thread(asio::make_strand(one)));
  EXPECT_FALSE(runs_on_one_thread(asio::make_strand(unsaid)));
}

TEST(RunsOnOneThread, AThreadPoolOfOneIsOneThread) {
  asio::thread_pool one(1), two(2);
  EXPECT_TRUE(runs_on_one_thread(one.get_executor()));
  EXPECT_FALSE(runs_on_one_thread(two.get_executor()));
  one.join();
  two.join();
}

TEST(RunsOnOneThread, NoExecutorIsNotAssumedSingleThreaded) {
  EXPECT_FALSE(runs_on_one_thread(asio::any_io_executor()));
}

TEST(LinkExecutor, AStrandOnlyWhereSeveralThreadsMayRunTheContext) {
  asio::io_context one(1), unsaid;
  using io_ex = asio::io_context::executor_type;
  auto plain = anysock::link_executor(one);
  EXPECT_NE(plain.target<io_ex>(), nullptr);
  auto guarded = anysock::link_executor(unsaid);
  EXPECT_EQ(guarded.target<io_ex>(), nullptr);
  EXPECT_NE(guarded.target<asio::strand<io_ex>>(), nullptr);
}
