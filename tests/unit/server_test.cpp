// The server's books (core/src/server.cpp) on scripted links: the limit on
// open links, the idle sweep, the drain on shutdown, and a bus link whose
// end is the end of serving.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "anysock/server.hpp"
#include "scripted_link.hpp"

namespace {

using namespace anysock;
using namespace std::chrono_literals;
using anysock::test::link_script;
using anysock::test::scripted_acceptor;

// Runs the io_context until pred() holds or `limit` passes; whether it held.
template <class Pred>
bool run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(5ms);
  }
  return true;
}

template <bool OneLink = false>
scripted_acceptor<OneLink>& add_listener(server& srv, asio::io_context& io, std::string name) {
  auto l = std::make_unique<basic_listener<scripted_acceptor<OneLink>>>(
      scripted_acceptor<OneLink>(io.get_executor(), std::move(name)));
  auto& a = l->get();
  srv.add(std::move(l));
  return a;
}

std::shared_ptr<link_script> idle_peer() { return std::make_shared<link_script>(); }

TEST(Server, RefusesLinksBeyondMaxLinksAndAdmitsAgainOnceOneLeft) {
  asio::io_context io;
  server srv(io, server_options{2, 0ms, 1000ms});
  auto& a = add_listener(srv, io, "script://one");
  srv.start();
  auto first = idle_peer(), second = idle_peer(), third = idle_peer();
  a.push(first);
  a.push(second);
  a.push(third);
  ASSERT_TRUE(run_until(io, [&] { return third->closed; })) << "the third link was not refused";
  EXPECT_EQ(srv.open_links(), 2u);
  EXPECT_FALSE(first->closed);
  EXPECT_FALSE(second->closed);

  first->feed(link_script::failure(asio::error::eof));  // one peer leaves
  ASSERT_TRUE(run_until(io, [&] { return srv.open_links() == 1u; }));
  auto fourth = idle_peer();
  a.push(fourth);
  ASSERT_TRUE(run_until(io, [&] { return srv.open_links() == 2u; }));
  EXPECT_FALSE(fourth->closed);
  bool stopped = false;
  srv.shutdown([&] { stopped = true; });
  EXPECT_TRUE(run_until(io, [&] { return stopped; }));
}

// A peer's link that goes quiet is closed; a bus link never is: it is the
// endpoint itself, and a quiet bus is a healthy one.
TEST(Server, IdleSweepClosesAQuietPeerButNeverTheBusLink) {
  asio::io_context io;
  server srv(io, server_options{0, 100ms, 1000ms});
  auto& peers = add_listener(srv, io, "script://peers");
  auto& bus = add_listener<true>(srv, io, "script://bus");
  srv.start();
  auto peer = idle_peer(), bus_link = idle_peer();
  peers.push(peer);
  bus.push(bus_link);
  ASSERT_TRUE(run_until(io, [&] { return peer->closed; })) << "the quiet peer was not closed";
  // Four sweeps more: the bus link stays.
  io.restart();
  io.run_for(400ms);
  EXPECT_FALSE(bus_link->closed);
  EXPECT_EQ(srv.open_links(), 1u);
  EXPECT_TRUE(srv.failure().empty()) << srv.failure();
  bool stopped = false;
  srv.shutdown([&] { stopped = true; });
  EXPECT_TRUE(run_until(io, [&] { return stopped; }));
  EXPECT_TRUE(bus_link->closed);
}

// Shutdown closes a link that is between messages at once, and one stuck
// in a send (its peer does not read) when the drain time is up.
TEST(Server, ShutdownClosesIdleLinksAtOnceAndCutsStuckOnesAtTheDrainTimeout) {
  asio::io_context io;
  server srv(io, server_options{0, 0ms, 1000ms});
  auto& a = add_listener(srv, io, "script://drain");
  srv.start();
  auto idle = idle_peer(), stuck = idle_peer();
  stuck->arrivals.push_back(link_script::later("never read"));
  stuck->try_send_blocks = true;
  stuck->hold_async_send = true;
  a.push(idle);
  a.push(stuck);
  ASSERT_TRUE(run_until(io, [&] { return srv.open_links() == 2u && stuck->async_sends == 1; }));
  bool stopped = false;
  srv.shutdown([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return idle->closed; }));
  EXPECT_FALSE(stuck->closed) << "a link busy echoing gets the drain time";
  EXPECT_FALSE(stopped);
  ASSERT_TRUE(run_until(io, [&] { return stopped; })) << "the drain timeout did not end it";
  EXPECT_TRUE(stuck->closed);
  EXPECT_EQ(srv.open_links(), 0u);
  EXPECT_TRUE(srv.failure().empty()) << "shutting down as asked is no failure";
}

// A bus link that ends with an error (its interface was removed) leaves
// nothing to serve there: the server says why and stops.
TEST(Server, BusLinkEndingWithAnErrorStopsTheServerAndSaysWhy) {
  asio::io_context io;
  server srv(io, server_options{});
  auto& bus = add_listener<true>(srv, io, "script://bus");
  auto& peers = add_listener(srv, io, "script://peers");
  bool stopped = false;
  srv.when_stopped([&] { stopped = true; });
  srv.start();
  auto peer = idle_peer(), bus_link = idle_peer();
  peers.push(peer);
  bus_link->arrivals.push_back(link_script::failure(asio::error::no_such_device));
  bus.push(bus_link);
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  EXPECT_NE(srv.failure().find("nothing is served there any more"), std::string::npos) << srv.failure();
  EXPECT_NE(srv.failure().find("script://bus"), std::string::npos) << srv.failure();
  EXPECT_TRUE(peer->closed);
  EXPECT_EQ(srv.open_links(), 0u);
}

}  // namespace
