// `anysock socketcand` on a real kernel, raw mode beyond classic data
// frames: CAN FD in every form clients write, remote and error frames, each
// carried only when the server was told (--fd, --rtr, --err) or the client
// sent one itself. The client is a plain Python socket speaking the
// protocol; the bus side is can-utils.
#include <linux/can.h>

#include <string>
#include <vector>

#include "bridge_support.hpp"
#include "kernel_env.hpp"
#include "socketcand_support.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

// Prints what the client receives in raw mode, the time stamps replaced by T.
const std::string py_raw = socketcand_py_client + R"(
print("rawmode:", c.ask("rawmode"), flush=True)
time.sleep(0.3)  # the server holds frames 100 ms after the < ok >
def received(tag, quiet=3.0):
    while True:
        m = c.message(quiet)
        if m is None:
            return
        print(tag, re.sub(r' \d+\.\d{6}(?= |$)', ' T', m), flush=True)
)";

std::vector<std::string> tagged(const std::string& out, const std::string& tag) {
  std::vector<std::string> v;
  for (const auto& l : lines_of(out))
    if (l.rfind(tag + " ", 0) == 0) v.push_back(l.substr(tag.size() + 1));
  return v;
}

const std::string hex12 = "000102030405060708090A0B";

class SocketcandFrames : public can_buses_test {};

// With --fd: the bus's FD frames reach the client as PR #33's `fdframe`,
// and each FD form a client may write reaches the bus as an FD frame.
TEST_F(SocketcandFrames, FdBothWaysWithFd) {
  auto dump = bus_dump::start(canfd);
  auto srv = socketcand_process::start({canfd, "--fd", "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  const std::string py = py_raw + R"(
cansend(bus, "123##1" + sys.argv[3])
cansend(bus, "124##0" + sys.argv[3][:16])
cansend(bus, "125#01")
received("rx")
c.send("fdsend 456 01 12 0 1 2 3 4 5 6 7 8 9 a b")      # PR #33
c.send("sendfd 457 3 01 02 03")                         # the rawmode-canfd branch
c.send("send 458 12 0 1 2 3 4 5 6 7 8 9 a b")            # PR #72
c.send("send 459 C 0 1 2 3 4 5 6 7 8 9 a b")             # python-can: the length in hex
print("barrier:", c.barrier(), flush=True)
time.sleep(1)
print("done", flush=True)
)";
  auto r = run({system_python, "-c", py, std::to_string(srv.port), canfd, hex12}, 180s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << srv.joined();
  EXPECT_EQ(tagged(r.out, "rx"), (std::vector<std::string>{"fdframe 123 01 T " + hex12,
                                                          "fdframe 124 00 T " + hex12.substr(0, 16), "frame 125 T 01"}))
      << r.out;
  EXPECT_TRUE(has_line(r.out, "barrier: []")) << r.out;
  ASSERT_TRUE(dump.read_until([](const std::vector<frame>& fs) {
    return std::count_if(fs.begin(), fs.end(), [](const frame& f) { return f.id.rfind("45", 0) == 0; }) >= 4;
  }, 60s)) << dump.listing();
  // "ID FLAGS DATA" of the one frame with that ID; FLAGS without CANFD_FDF,
  // which the kernel adds to FD frames sent from a socket (6.x).
  auto one = [&](const std::string& id) {
    auto v = dump.matching([&](const frame& f) { return f.id == id; });
    if (v.size() != 1) return std::string("(") + std::to_string(v.size()) + " frames)";
    return id + " " + std::to_string(v[0].fd_flags & (CANFD_BRS | CANFD_ESI)) + " " + v[0].data;
  };
  EXPECT_EQ(one("456"), "456 1 " + hex12) << dump.listing();
  EXPECT_EQ(one("457"), "457 0 010203") << dump.listing();
  EXPECT_EQ(one("458"), "458 0 " + hex12) << dump.listing();
  EXPECT_EQ(one("459"), "459 0 " + hex12) << dump.listing();
  auto end = srv.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
  dump.stop();
}

// Without --fd a client gets no FD frames until it sends one; then it does.
// On a classic interface an FD send is refused with a line, the visit goes on.
TEST_F(SocketcandFrames, FdOnlyOnceTheClientSendsOne) {
  auto srv = socketcand_process::start({canfd, "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  const std::string py = py_raw + R"(
cansend(bus, "123##1" + sys.argv[3])
cansend(bus, "125#01")
received("before")
c.send("fdsend 456 00 1 AA")
print("barrier:", c.barrier(), flush=True)
cansend(bus, "126##1" + sys.argv[3])
received("after")
)";
  auto r = run({system_python, "-c", py, std::to_string(srv.port), canfd, hex12}, 180s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << srv.joined();
  EXPECT_EQ(tagged(r.out, "before"), (std::vector<std::string>{"frame 125 T 01"})) << r.out;
  EXPECT_EQ(tagged(r.out, "after"), (std::vector<std::string>{"fdframe 126 01 T " + hex12})) << r.out;
  auto end = srv.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
  EXPECT_FALSE(lines_with(end.out, "sends CAN FD frames; it gets the bus's from now on").empty()) << end.out;

  auto classic = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(classic.port, 0);
  const std::string refused = py_raw + R"(
c.send("fdsend 456 00 1 AA")
c.send("send 457 1 BB")
print("barrier:", c.barrier(), flush=True)
time.sleep(1)
)";
  auto dump = bus_dump::start(can0);
  auto q = run({system_python, "-c", refused, std::to_string(classic.port), can0}, 180s);
  ASSERT_EQ(q.exit_code, 0) << q.out << q.err << classic.joined();
  EXPECT_TRUE(has_line(q.out, "barrier: []")) << "raw mode answers no error: " << q.out;
  EXPECT_TRUE(dump.read_until([](const std::vector<frame>& fs) {
    return std::any_of(fs.begin(), fs.end(), [](const frame& f) { return f.id == "457"; });
  }, 60s)) << dump.listing();
  EXPECT_EQ(dump.count([](const frame& f) { return f.id == "456"; }), 0u) << dump.listing();
  auto e = classic.stop();
  EXPECT_FALSE(lines_with(e.out, "not sent: " + can0 + " is no CAN FD interface").empty()) << e.out;
  dump.stop();
}

// --rtr and --err: remote frames both ways, error frames to the client with
// their data; without the flags neither reaches a client until it sends a
// remote frame itself (error frames never do).
TEST_F(SocketcandFrames, RemoteAndErrorFramesWhenAsked) {
  auto dump = bus_dump::start(can0);
  auto srv = socketcand_process::start({can0, "--rtr", "--err", "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  const std::string py = py_raw + R"(
cansend(bus, "123#R")
cansend(bus, "12345678#R3")
cansend(bus, "20000004#0004000000000000")
received("rx")
c.send("sendrtr 126 2")
print("barrier:", c.barrier(), flush=True)
time.sleep(1)
)";
  auto r = run({system_python, "-c", py, std::to_string(srv.port), can0}, 180s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << srv.joined();
  EXPECT_EQ(tagged(r.out, "rx"),
            (std::vector<std::string>{"rtr 123 T", "rtr 12345678 T 3", "error 004 T 0004000000000000"}))
      << r.out;
  EXPECT_TRUE(dump.read_until([](const std::vector<frame>& fs) {
    return std::any_of(fs.begin(), fs.end(), [](const frame& f) { return f.id == "126"; });
  }, 60s)) << dump.listing();
  EXPECT_EQ(dump.matching([](const frame& f) { return f.id == "126"; }).at(0).text, "126#R2");
  EXPECT_EQ(srv.stop().exit_code, 0);

  auto plain = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(plain.port, 0);
  const std::string py2 = py_raw + R"(
cansend(bus, "123#R")
cansend(bus, "20000004#0004000000000000")
cansend(bus, "125#01")
received("before")
c.send("sendrtr 126")
print("barrier:", c.barrier(), flush=True)
cansend(bus, "127#R")
cansend(bus, "20000004#0004000000000000")
received("after")
)";
  auto p = run({system_python, "-c", py2, std::to_string(plain.port), can0}, 180s);
  ASSERT_EQ(p.exit_code, 0) << p.out << p.err << plain.joined();
  EXPECT_EQ(tagged(p.out, "before"), (std::vector<std::string>{"frame 125 T 01"})) << p.out;
  EXPECT_EQ(tagged(p.out, "after"), (std::vector<std::string>{"rtr 127 T"})) << p.out;
  auto end = plain.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
  EXPECT_FALSE(lines_with(end.out, "1 remote frames on " + can0 + " not sent to it (--rtr carries them)").empty())
      << end.out;
  dump.stop();
}

}  // namespace
