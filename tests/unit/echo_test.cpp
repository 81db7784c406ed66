// The echo service (core/include/anysock/echo.hpp) on a scripted link: the
// turns a socket can take that loopback tests cannot force (a send the
// kernel takes in part, a read that fills the small buffer, an error met
// while draining, a burst that would starve other links, a close while a
// send waits).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "anysock/echo.hpp"
#include "scripted_link.hpp"

namespace {

using namespace anysock;
using anysock::test::link_script;
using anysock::test::scripted_link;

// One echo on a scripted link of its own, with how it ended.
template <bool Stream>
struct echo_run {
  asio::io_context io;
  std::shared_ptr<link_script> script = std::make_shared<link_script>();
  session s{std::make_shared<const std::string>("test"), "script", io.get_executor(), true};
  std::optional<error_code> ended;
  std::optional<scripted_link<Stream>> handle;  // the test's copy, to feed it and release sends

  // Runs what is ready; a waiting receive or send holds no work, so the
  // io_context stops between steps and is restarted here.
  void step() {
    io.restart();
    io.poll();
  }
  void start() {
    scripted_link<Stream> l(io.get_executor(), script);
    handle.emplace(l);
    start_echo(std::move(l), s, [this](error_code why) { ended = why; });
  }
};

std::string pattern(std::size_t n, char first = 'a') {
  std::string out(n, ' ');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(first + i % 26);
  return out;
}

TEST(Echo, WhatTheKernelDidNotTakeIsSentByTheAsyncSend) {
  echo_run<true> r;
  r.script->arrivals = {link_script::later("hello, world"), link_script::failure(asio::error::eof)};
  r.script->try_send_takes = 5;
  r.start();
  r.io.run();
  EXPECT_EQ(r.script->sent, "hello, world");
  EXPECT_EQ(r.script->sent_messages, (std::vector<std::string>{"hello", ", world"}));
  EXPECT_EQ(r.script->async_sends, 1);
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(*r.ended, asio::error::eof);
  EXPECT_TRUE(r.script->closed);
  EXPECT_EQ(r.s.messages(), 1u);
  EXPECT_FALSE(r.s.busy());
}

TEST(Echo, ReadThatFillsTheSmallBufferIsDrainedAndSentInOneWrite) {
  echo_run<true> r;
  const auto first = pattern(1000), second = pattern(3000, 'A');
  r.script->arrivals = {link_script::later(first), link_script::queued(second), link_script::failure(asio::error::eof)};
  r.start();
  r.io.run();
  EXPECT_EQ(r.script->sent, first + second);
  EXPECT_EQ(r.script->try_sends, 1) << "the drained bytes go back in one write";
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(*r.ended, asio::error::eof);
}

TEST(Echo, ErrorMetWhileDrainingEchoesWhatCameFirstThenEnds) {
  echo_run<true> r;
  const auto first = pattern(128);  // exactly the small buffer: the echo drains, and meets the reset
  r.script->arrivals = {link_script::later(first), link_script::failure(asio::error::connection_reset, true)};
  r.start();
  r.io.run();
  EXPECT_EQ(r.script->sent, first);
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(*r.ended, asio::error::connection_reset);
}

TEST(Echo, SendErrorEndsTheLinkWithIt) {
  echo_run<true> r;
  r.script->arrivals = {link_script::later("data")};
  r.script->send_error = asio::error::broken_pipe;
  r.start();
  r.io.run();
  EXPECT_EQ(r.script->sent, "");
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(*r.ended, asio::error::broken_pipe);
  EXPECT_TRUE(r.script->closed);
}

TEST(Echo, FramesKeepTheirBoundariesAndHeaders) {
  echo_run<false> r;
  r.script->arrivals = {link_script::later("one", {0x123, 0}), link_script::later("two!", {0x7E0, 1}),
                        link_script::failure(asio::error::eof)};
  r.start();
  r.io.run();
  EXPECT_EQ(r.script->sent_messages, (std::vector<std::string>{"one", "two!"}));
  ASSERT_EQ(r.script->sent_headers.size(), 2u);
  EXPECT_EQ(r.script->sent_headers[0].id, 0x123u);  // the request being answered, for the link to map
  EXPECT_EQ(r.script->sent_headers[1].id, 0x7E0u);
  EXPECT_EQ(r.script->sent_headers[1].flags, 1u);
}

// A link that completes receives inside the call (a CAN batch) would run a
// burst to its end before any other link's handler; the echo posts its next
// receive every 64 messages.
TEST(Echo, BurstOfQueuedMessagesGivesOtherWorkItsTurn) {
  echo_run<false> r;
  for (int i = 0; i < 200; ++i) r.script->arrivals.push_back(link_script::queued(std::to_string(i)));
  r.script->arrivals.push_back(link_script::failure(asio::error::eof, true));
  r.start();
  std::size_t seen_by_other = 0;
  asio::post(r.io, [&] { seen_by_other = r.script->sent_messages.size(); });
  r.io.run();
  EXPECT_EQ(r.script->sent_messages.size(), 200u);
  EXPECT_GT(seen_by_other, 0u);
  EXPECT_LT(seen_by_other, 200u) << "the burst ran to its end before anything else";
  EXPECT_EQ(seen_by_other % 64, 0u) << seen_by_other;
}

// Closing the link (the idle sweep, the drain timeout) while a send waits
// for the peer ends the echo: the send is cancelled, done is called once.
TEST(Echo, CloseWhileASendWaitsEndsTheEcho) {
  echo_run<true> r;
  r.script->arrivals = {link_script::later("stuck")};
  r.script->try_send_blocks = true;
  r.script->hold_async_send = true;
  r.start();
  r.step();
  EXPECT_EQ(r.script->async_sends, 1);
  EXPECT_TRUE(r.s.busy());
  EXPECT_FALSE(r.ended);
  ASSERT_TRUE(r.s.close_link);
  r.s.close_link();
  r.step();
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(*r.ended, asio::error::operation_aborted);
  EXPECT_FALSE(r.s.busy());
  EXPECT_EQ(r.script->sent, "");
}

// A drain (SIGTERM) lets the message in hand be echoed whole, then ends.
TEST(Echo, DrainingEchoesTheMessageInHandThenStops) {
  echo_run<true> r;
  r.start();
  r.step();  // the echo waits for a message
  r.s.start_draining();
  r.script->feed(link_script::later("last words"));
  r.step();
  EXPECT_EQ(r.script->sent, "last words");
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(*r.ended, asio::error::operation_aborted);
}

// A link held by a send the peer does not take reads nothing more: what
// arrives meanwhile stays in the socket (backpressure).
TEST(Echo, NothingIsReadWhileASendWaits) {
  echo_run<true> r;
  r.script->arrivals = {link_script::later("first")};
  r.script->try_send_blocks = true;
  r.script->hold_async_send = true;
  r.start();
  r.step();
  r.script->feed(link_script::queued("more"));
  r.step();
  ASSERT_EQ(r.script->arrivals.size(), 1u) << "read past a pending send";
  r.script->hold_async_send = false;
  r.script->try_send_blocks = false;
  r.handle->release_send();
  r.step();
  EXPECT_EQ(r.script->sent, "firstmore");
  EXPECT_TRUE(r.script->arrivals.empty());
  EXPECT_FALSE(r.ended);
  r.handle->close();
  r.step();
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(*r.ended, asio::error::operation_aborted);
}

}  // namespace
