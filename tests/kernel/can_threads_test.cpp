// The CAN echo with several threads running one io_context, on a real
// kernel: the raw link's receive must then wait in a way no other thread's
// epoll_wait can take a frame's readiness from (see raw_link.hpp). A request
// whose readiness is lost is never answered: at one frame in flight the next
// request is never sent, so every reply here must come.
#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstring>
#include <thread>
#include <vector>

#include "anysock/builtin_transports.hpp"
#include "anysock/executor_threads.hpp"
#include "anysock/registry.hpp"
#include "anysock/server.hpp"
#include "anysock/uri.hpp"
#include "kernel_env.hpp"

using namespace anysock;
using namespace anysock::test;

namespace {

class CanThreads : public kernel_test {
 protected:
  void SetUp() override {
    require({"ANYSOCK_CAN_IF0"});
    can0 = kernel_env("ANYSOCK_CAN_IF0");
  }
  std::string can0;
};

// A plain SocketCAN client: sends 321#<counter> and waits for 654#<counter>.
class can_client {
 public:
  explicit can_client(const std::string& ifc) : fd_(socket(PF_CAN, SOCK_RAW, CAN_RAW)) {
    can_filter f{0x654, CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_SFF_MASK};
    sockaddr_can addr{};
    addr.can_family = AF_CAN;
    addr.can_ifindex = static_cast<int>(if_nametoindex(ifc.c_str()));
    ok_ = fd_ >= 0 && addr.can_ifindex != 0 && setsockopt(fd_, SOL_CAN_RAW, CAN_RAW_FILTER, &f, sizeof f) == 0 &&
          bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~can_client() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return ok_; }
  // True when the reply to request `i` came within `ms`.
  bool round_trip(std::uint32_t i, int ms) {
    can_frame out{};
    out.can_id = 0x321;
    out.len = 4;
    std::memcpy(out.data, &i, 4);
    if (write(fd_, &out, sizeof out) != static_cast<ssize_t>(sizeof out)) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, ms) != 1) return false;
    can_frame in{};
    return read(fd_, &in, sizeof in) == static_cast<ssize_t>(sizeof in) && in.can_id == 0x654 && in.len == 4 &&
           std::memcmp(in.data, &i, 4) == 0;
  }

 private:
  int fd_;
  bool ok_ = false;
};

TEST_F(CanThreads, FourThreadsOnOneIoContextAnswerEveryFrameAtOneInFlight) {
  registry reg;
  add_builtin_transports(reg);
  boost::asio::io_context io;  // no hint: any number of threads may run it
  ASSERT_FALSE(runs_on_one_thread(io.get_executor()));
  server srv(io, server_options{});
  auto u = parse_uri("can://" + can0 + "?rx=321&tx=654");
  ASSERT_TRUE(u) << u.err().message;
  auto t = reg.resolve(*u);
  ASSERT_TRUE(t) << t.err().message;
  auto ls = (*t)->listen(*u, io);
  ASSERT_TRUE(ls) << ls.err().message;
  for (auto& l : ls.value()) srv.add(std::move(l));
  srv.start();
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i) runners.emplace_back([&] { io.run(); });

  can_client client(can0);
  ASSERT_TRUE(client.ok()) << std::strerror(errno);
  // One at a time: each request is sent only once its reply came, so the
  // responder's socket goes empty and its wait is exercised every frame.
  constexpr std::uint32_t frames = 3000;
  std::uint32_t answered = 0;
  while (answered < frames && client.round_trip(answered, 30'000)) ++answered;
  EXPECT_EQ(answered, frames) << "request " << answered << " got no reply within 30 s";

  srv.shutdown([&] { io.stop(); });  // bounded by the drain timeout
  for (auto& r : runners) r.join();
}

}  // namespace
