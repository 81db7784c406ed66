// `anysock bridge` over TCP loopback as a user runs it, with peers nobody
// here wrote on either side (nc, socat, Python) as well as anysock serve and
// send: bytes both ways, half-close, a slow reader holding back its sender,
// a far end that restarts, --once, SIGTERM mid-transfer, bad input.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <sstream>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "bridge_process.hpp"
#include "serve_process.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr const char* system_python = "/usr/bin/python3";

// The bridge with its log on stdout too (merged), or apart in err.
bridge_process start_bridge(const std::vector<std::string>& args, bool merged = true) {
  return bridge_process::start(args, 1, merged);
}

// A port nothing listens on: one our echo had, now closed.
std::string free_port() {
  auto s = serve_process::start({"tcp://[::1]:0"});
  auto p = std::to_string(s.port());
  s.stop();
  return p;
}

std::size_t lines_starting(const std::string& text, const std::string& prefix) {
  std::size_t n = 0;
  for (std::size_t at = 0; at < text.size();) {
    auto nl = text.find('\n', at);
    if (text.compare(at, prefix.size(), prefix) == 0) ++n;
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return n;
}

TEST(BridgeTcp, EchoThroughAndEndsWithTheLinksCounts) {
  auto far = serve_process::start({"tcp://[::1]:0"});
  auto br = start_bridge({"tcp://[::1]:0", "tcp://[::1]:" + std::to_string(far.port())});
  ASSERT_TRUE(br.started);
  auto r = run_anysock({"send", "tcp://[::1]:" + std::to_string(br.port()), "--timeout", "30"}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
  // 1 MiB in one message, both ways at once (send bounds what is in flight).
  auto big = run_anysock({"send", "tcp://[::1]:" + std::to_string(br.port()), "-", "-q", "--timeout", "30"}, 120s,
                         std::string(1 << 20, 'b') + "\n");
  EXPECT_EQ(big.exit_code, 0) << big.err;
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
  EXPECT_NE(b.out.find("dropped"), std::string::npos) << "each link's end says what it dropped: " << b.out;
}

// The far end is killed and started again on the same port while a client
// stays connected: the client's link outlives it and its next messages come
// back once the bridge has reconnected.
TEST(BridgeTcp, ReconnectsToAFarEndStartedAgainOnTheSamePort) {
  auto far = serve_process::start({"tcp://[::1]:0"});
  const std::string port = std::to_string(far.port());
  auto br = start_bridge({"tcp://[::1]:0", "tcp://[::1]:" + port});
  ASSERT_TRUE(br.started);
  // Echo before; then, on SIGUSR1, a marker every 0.5 s until one comes
  // back whole (those sent while the far end was away may be lost).
  const std::string client = R"(
import re, signal, socket, sys, time
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
s = socket.create_connection(("::1", int(sys.argv[1])), timeout=60)
s.sendall(b"before")
got = b""
while len(got) < 6:
    chunk = s.recv(100)
    if not chunk:
        break
    got += chunk
print("before", got.decode(), flush=True)
signal.sigwait({signal.SIGUSR1})
s.settimeout(0.5)
got = b""
start = time.monotonic()
for k in range(1, 121):
    try:
        s.sendall(b"[%d]" % k)
    except OSError as e:
        print("send failed:", e, flush=True)
        sys.exit(1)
    try:
        chunk = s.recv(65536)
        if not chunk:
            print("the bridge closed the client's link", flush=True)
            sys.exit(1)
        got += chunk
    except socket.timeout:
        pass
    m = re.search(rb"\[(\d+)\]", got)
    if m:
        print("after [%s] in %.1f s" % (m.group(1).decode(), time.monotonic() - start), flush=True)
        sys.exit(0)
print("nothing came back in 60 s", flush=True)
sys.exit(1)
)";
  auto c = child::spawn({system_python, "-c", client, std::to_string(br.port())});
  ASSERT_EQ(c.read_line(60s).value_or("<nothing>"), "before before") << c.wait(5s).err;
  {
    auto gone = std::move(far);  // SIGKILL on scope exit: no drain, as a crash
  }
  std::this_thread::sleep_for(1s);
  auto again = serve_process::start({"tcp://[::1]:" + port});
  ASSERT_EQ(again.bound.size(), 1u);
  c.signal(SIGUSR1);
  auto r = c.wait(90s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("after [", 0), 0u) << r.out << r.err;
  std::printf("reconnect: %s", r.out.c_str());
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
}

TEST(BridgeTcp, OnceExitsThreeWhenTheFarEndCannotBeReached) {
  auto br = start_bridge({"--once", "tcp://[::1]:0", "tcp://[::1]:" + free_port()}, false);
  ASSERT_TRUE(br.started);
  // B is connected for a link from A: make one.
  auto c = run_anysock({"send", "tcp://[::1]:" + std::to_string(br.port()), "--timeout", "10"}, 60s);
  EXPECT_NE(c.exit_code, 0);
  auto r = br.finish(60s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(lines_starting(r.err, "anysock: "), 1u) << r.err;
}

TEST(BridgeTcp, OnceExitsThreeWhenTheFarEndGoesAway) {
  auto far = serve_process::start({"tcp://[::1]:0"});
  auto br = start_bridge({"--once", "tcp://[::1]:0", "tcp://[::1]:" + std::to_string(far.port())}, false);
  ASSERT_TRUE(br.started);
  const std::string client = R"(
import socket, sys, time
s = socket.create_connection(("::1", int(sys.argv[1])), timeout=60)
s.sendall(b"ping")
got = b""
while len(got) < 4:
    chunk = s.recv(100)
    if not chunk:
        break
    got += chunk
print(got.decode(), flush=True)
time.sleep(120)
)";
  auto c = child::spawn({system_python, "-c", client, std::to_string(br.port())});
  ASSERT_EQ(c.read_line(60s).value_or("<nothing>"), "ping") << c.wait(5s).err;
  auto f = far.stop();
  EXPECT_EQ(f.exit_code, 0) << f.err;
  auto r = br.finish(60s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(lines_starting(r.err, "anysock: "), 1u) << r.err;
  c.signal(SIGTERM);
  c.wait(10s);
}

TEST(BridgeTcp, BadArgumentsAreOneLineExitTwo) {
  const std::vector<std::vector<std::string>> cases{
      {"bridge"},
      {"bridge", "tcp://[::1]:0"},
      {"bridge", "tcp://[::1]:0", "nosuch://x"},
      {"bridge", "--queue", "x", "tcp://[::1]:0", "tcp://[::1]:1"},
      {"bridge", "tcp://[::1]:0", "tcp://[::1]:1", "tcp://[::1]:2"},
  };
  for (const auto& c : cases) {
    auto r = run_anysock(c, 30s);
    std::string args;
    for (const auto& a : c) args += a + " ";
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("anysock: ", 0), 0u) << args << ": " << r.err;
  }
}

// Waits until something listens on TCP port `port` (IPv6), read from
// /proc/net/tcp6 rather than by connecting: a probe would be the one
// connection a non-forking socat takes.
bool wait_listening(const std::string& port) {
  char hex[8];
  std::snprintf(hex, sizeof hex, ":%04X", static_cast<unsigned>(std::stoi(port)));
  for (int i = 0; i < 200; ++i) {
    std::ifstream in("/proc/net/tcp6");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (state == "0A" && local.size() > 5 && local.compare(local.size() - 5, 5, hex) == 0) return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string text_of(std::size_t n) {
  std::string t;
  for (std::size_t i = 0; t.size() < n; ++i) t += "line " + std::to_string(i) + " of the bridged text\n";
  t.resize(n);
  return t;
}

// nc sends a text and half-closes; socat echoes it (PIPE) and closes once it
// has sent everything back: the bridge passes the half-close on, so every
// byte comes back and both ends close cleanly.
TEST(BridgeTcp, HalfCloseThroughSocatEchoBringsEveryByteBack) {
  const auto port = free_port();
  auto echo = child::spawn({"socat", "TCP6-LISTEN:" + port + ",bind=[::1],reuseaddr,fork", "PIPE"});
  ASSERT_TRUE(wait_listening(port));
  auto br = start_bridge({"tcp://[::1]:0", "tcp://[::1]:" + port});
  ASSERT_TRUE(br.started);
  const auto text = text_of(300 * 1024);
  auto r = run({"nc", "-N", "::1", std::to_string(br.port())}, 60s, text);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), text.size());
  EXPECT_TRUE(r.out == text) << "the text came back changed";
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
  EXPECT_NE(b.out.find("(307200 bytes) to tcp://[::1]:" + port + ", "), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("(307200 bytes) back"), std::string::npos) << b.out;
}

// The far end stops reading (socat writes into a pipe nobody reads): the
// bridge stops reading the client, so the client's writes stall at what the
// kernel's socket buffers hold and the bridge's memory does not grow.
TEST(BridgeTcp, SlowReaderHoldsBackTheSender) {
  const auto port = free_port();
  auto sink = child::spawn({"socat", "-u", "TCP6-LISTEN:" + port + ",bind=[::1],reuseaddr", "SYSTEM:sleep 60"});
  ASSERT_TRUE(wait_listening(port));
  auto br = start_bridge({"tcp://[::1]:0", "tcp://[::1]:" + port});
  ASSERT_TRUE(br.started);
  const long rss_before = br.proc.rss_kib();
  asio::io_context io;
  tcp::socket c(io);
  c.connect(tcp::endpoint(asio::ip::make_address("::1"), static_cast<std::uint16_t>(std::stoi(std::to_string(br.port())))));
  c.non_blocking(true);
  std::vector<char> chunk(64 * 1024, 'x');
  std::size_t accepted = 0;
  auto last_progress = std::chrono::steady_clock::now();
  const auto until = last_progress + 20s;
  // Writes until no byte was taken for 2 s (held back), within 20 s.
  while (std::chrono::steady_clock::now() < until &&
         std::chrono::steady_clock::now() - last_progress < 2s) {
    boost::system::error_code ec;
    auto n = c.write_some(asio::buffer(chunk), ec);
    if (n > 0) {
      accepted += n;
      last_progress = std::chrono::steady_clock::now();
    } else {
      std::this_thread::sleep_for(10ms);
    }
  }
  const long rss_after = br.proc.rss_kib();
  EXPECT_LT(std::chrono::steady_clock::now(), until) << "the sender was never held back: " << accepted << " bytes";
  // Socket buffers along the way (client, bridge both ways, socat, a pipe)
  // hold some tens of MiB on loopback at most; without backpressure it
  // would be everything written in 20 s.
  EXPECT_LT(accepted, 96u << 20) << accepted;
  EXPECT_LT(rss_after - rss_before, 16 * 1024) << "bridge RSS grew from " << rss_before << " to " << rss_after << " KiB";
  c.close();
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
}

// SIGTERM while a client streams into the bridge: what the bridge read is
// written to the far end (a file, through socat) before it exits 0.
TEST(BridgeTcp, SigtermMidTransferWritesWhatWasReadAndExitsZero) {
  const auto port = free_port();
  char dir_template[] = "/tmp/anysock-bridge-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string file = std::string(dir_template) + "/received";
  auto sink = child::spawn({"socat", "-u", "TCP6-LISTEN:" + port + ",bind=[::1],reuseaddr", "CREATE:" + file});
  ASSERT_TRUE(wait_listening(port));
  auto br = start_bridge({"tcp://[::1]:0", "tcp://[::1]:" + port, "--drain-timeout", "10"});
  ASSERT_TRUE(br.started);
  auto sender = child::spawn({"sh", "-c", "head -c 1073741824 /dev/zero | nc -N ::1 " + std::to_string(br.port())});
  std::this_thread::sleep_for(700ms);
  auto b = br.stop(60s);
  EXPECT_EQ(b.exit_code, 0) << b.out;
  auto s = sink.wait(30s);
  EXPECT_FALSE(s.timed_out) << "socat did not see the bridge close";
  sender.wait(10s);
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  const std::string marker = " bytes) to tcp://[::1]:" + port;
  auto at = b.out.find(marker);
  ASSERT_NE(at, std::string::npos) << b.out;
  auto open = b.out.rfind('(', at);
  const auto reported = std::stoull(b.out.substr(open + 1, at - open - 1));
  EXPECT_GT(reported, 0u);
  EXPECT_EQ(size, reported) << "the far end got other than what the bridge says it wrote";
  std::remove(file.c_str());
  rmdir(dir_template);
}

TEST(BridgeTcp, FramesAndBytesCannotBeBridged) {
  for (auto pair : {std::pair{"can://vcan0", "tcp://[::1]:7"}, std::pair{"tcp://[::1]:0", "can://vcan0?rx=100"},
                    std::pair{"can://vcan0", "isotp://vcan1"}}) {
    auto r = run_anysock({"bridge", pair.first, pair.second}, 30s);
    EXPECT_EQ(r.exit_code, 2) << pair.first << " " << pair.second << ": " << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("cannot bridge"), std::string::npos) << r.err;
  }
  // A bridge's can:// takes filters and mappings an echo responder would refuse.
  auto r = run_anysock({"bridge", "can://vcan0?rx=100:700&tx=+1", "can://vcan0?rx=zz"}, 30s);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("rx='zz'"), std::string::npos) << r.err;
}

TEST(BridgeTcp, MaxLinksAndIdleTimeoutApplyToBridgedLinks) {
  auto far = serve_process::start({"tcp://[::1]:0"});
  auto br = start_bridge(
      {"tcp://[::1]:0", "tcp://[::1]:" + std::to_string(far.port()), "--max-links", "1", "--idle-timeout", "1"});
  ASSERT_TRUE(br.started);
  asio::io_context io;
  const tcp::endpoint ep(asio::ip::make_address("::1"), static_cast<std::uint16_t>(std::stoi(std::to_string(br.port()))));
  tcp::socket first(io), second(io);
  first.connect(ep);
  asio::write(first, asio::buffer(std::string("ping")));
  char buf[4];
  asio::read(first, asio::buffer(buf));
  EXPECT_EQ(std::string(buf, 4), "ping");
  second.connect(ep);
  boost::system::error_code ec;
  second.read_some(asio::buffer(buf), ec);  // refused: closed at once
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  // Idle for over a second: the first link is closed too.
  const auto t0 = std::chrono::steady_clock::now();
  first.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
  EXPECT_NE(b.out.find("idle for more than 1000 ms"), std::string::npos) << b.out;
}

}  // namespace
