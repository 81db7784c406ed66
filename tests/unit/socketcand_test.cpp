// The socketcand wire protocol: byte-exact output (other clients split on
// spaces), every input form in use, and a clear line for everything else.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "anysock/can/socketcand.hpp"

using namespace anysock;
using namespace anysock::can;
namespace sc = anysock::can::socketcand;

namespace {

// All complete messages a framer holds, errors as "!" + message.
std::vector<std::string> drain(sc::framer& fr) {
  std::vector<std::string> out;
  while (auto m = fr.next()) out.push_back(*m ? std::string(**m) : "!" + m->err().message);
  return out;
}

// Parses one framed message, e.g. "< send 123 0 >".
result<sc::command> parse_wire(std::string_view wire) {
  sc::framer fr;
  fr.feed(wire);
  auto m = fr.next();
  if (!m || !*m)
    return error{make_error_code(errc::bad_option), "framer gave no message for '" + std::string(wire) + "'"};
  EXPECT_FALSE(fr.next().has_value()) << wire;
  return sc::parse(**m);
}

sc::command parsed(std::string_view wire) {
  auto c = parse_wire(wire);
  EXPECT_TRUE(c) << wire << ": " << c.err().message;
  return c ? *c : sc::command{};
}

// The error for a malformed message; checks it is one line of our kind.
std::string failure(std::string_view message, errc code = errc::bad_option) {
  auto c = sc::parse(message);
  EXPECT_FALSE(c) << "'" << message << "' parsed";
  if (c) return {};
  EXPECT_EQ(c.err().code, make_error_code(code)) << message;
  EXPECT_EQ(c.err().message.find('\n'), std::string::npos) << c.err().message;
  return c.err().message;
}

frame make(canid_t id, std::vector<std::uint8_t> data, bool fd = false, std::uint8_t flags = 0) {
  frame f;
  f.id = id;
  f.fd = fd;
  f.fd_flags = flags;
  f.len = static_cast<std::uint8_t>(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) f.data[i] = data[i];
  return f;
}

std::vector<std::uint8_t> counting(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(0xA0 + i);
  return v;
}

std::string hex_run(const std::vector<std::uint8_t>& v) {
  static constexpr char d[] = "0123456789ABCDEF";
  std::string s;
  for (auto b : v) {
    s += d[b >> 4];
    s += d[b & 0xF];
  }
  return s;
}

std::string spaced(const std::vector<std::uint8_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + hex_run({v[i]});
  return s;
}

void expect_frame(const frame& got, const frame& want, std::string_view where) {
  EXPECT_EQ(got.id, want.id) << where;
  EXPECT_EQ(got.len, want.len) << where;
  EXPECT_EQ(got.fd, want.fd) << where;
  EXPECT_EQ(got.fd_flags, want.fd_flags) << where;
  EXPECT_EQ(got.data, want.data) << where;
}

void expect_same(const sc::command& a, const sc::command& b, std::string_view where) {
  EXPECT_EQ(a.k, b.k) << where;
  expect_frame(a.f, b.f, where);
  EXPECT_EQ(a.time.sec, b.time.sec) << where;
  EXPECT_EQ(a.time.usec, b.time.usec) << where;
  EXPECT_EQ(a.ms, b.ms) << where;
  EXPECT_EQ(a.stats.rx_bytes, b.stats.rx_bytes) << where;
  EXPECT_EQ(a.stats.tx_packets, b.stats.tx_packets) << where;
  EXPECT_EQ(a.stats.dropped, b.stats.dropped) << where;
  EXPECT_EQ(a.text, b.text) << where;
}

}  // namespace

// --- framing -----------------------------------------------------------------

TEST(SocketcandFramer, SplitAtEveryByteBoundary) {
  const std::string stream = "< hi >< ok ><frame 123 1.000000 DEAD>\n<  echo  >< frame 123 1.000000  >";
  const std::vector<std::string> want = {"hi", "ok", "frame 123 1.000000 DEAD", "echo", "frame 123 1.000000"};
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    for (std::size_t j = i; j <= stream.size(); ++j) {
      sc::framer fr;
      std::vector<std::string> got;
      for (auto piece : {stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)}) {
        fr.feed(piece);
        for (auto& m : drain(fr)) got.push_back(m);
      }
      ASSERT_EQ(got, want) << "split at " << i << " and " << j;
      EXPECT_EQ(fr.buffered(), 0u);
    }
  }
  sc::framer one;  // one byte per read
  std::vector<std::string> got;
  for (char c : stream) {
    one.feed(std::string_view(&c, 1));
    for (auto& m : drain(one)) got.push_back(m);
  }
  EXPECT_EQ(got, want);
}

TEST(SocketcandFramer, BytesOutsideMessagesAreIgnored) {
  sc::framer fr;
  fr.feed("xx\r\n>> < hi >garbage>>> \n< ok >zz");
  EXPECT_EQ(drain(fr), (std::vector<std::string>{"hi", "ok"}));
  EXPECT_EQ(fr.buffered(), 0u);
  fr.feed("< open vcan0 >tail<");
  EXPECT_EQ(drain(fr), (std::vector<std::string>{"open vcan0"}));
  EXPECT_EQ(fr.buffered(), 0u);  // the '<' has begun a message with no bytes yet
  fr.feed("echo>");
  EXPECT_EQ(drain(fr), (std::vector<std::string>{"echo"}));
}

TEST(SocketcandFramer, ViewsLastUntilTheNextFeed) {
  sc::framer fr;
  fr.feed("< send 123 0 >< send 456 1 ff >< send 7");
  auto a = fr.next();
  auto b = fr.next();
  ASSERT_TRUE(a && *a && b && *b);
  EXPECT_FALSE(fr.next().has_value());
  EXPECT_EQ(**a, "send 123 0");  // still valid after the second next()
  EXPECT_EQ(**b, "send 456 1 ff");
  EXPECT_EQ(fr.buffered(), 7u);  // " send 7", trimmed later
  fr.feed("89 0 >");
  EXPECT_EQ(drain(fr), (std::vector<std::string>{"send 789 0"}));
}

TEST(SocketcandFramer, MessagesWaitUntilTaken) {
  sc::framer fr;
  fr.feed("< hi >");
  fr.feed("< ok >");  // not drained in between: both are kept, in order
  EXPECT_EQ(fr.buffered(), 8u);  // " hi " and " ok "
  EXPECT_EQ(drain(fr), (std::vector<std::string>{"hi", "ok"}));
  EXPECT_EQ(fr.buffered(), 0u);
}

TEST(SocketcandFramer, EmptyMessageAndInnerBracket) {
  sc::framer fr;
  fr.feed("<>< >< a < b >");
  EXPECT_EQ(drain(fr), (std::vector<std::string>{"", "", "a < b"}));  // a message runs to the next '>'
}

TEST(SocketcandFramer, EndlessGarbageKeepsMemoryBounded) {
  sc::framer fr;
  const std::string junk(4096, 'x');
  for (int i = 0; i < 256; ++i) {  // 1 MiB with no '<'
    fr.feed(junk);
    ASSERT_EQ(fr.buffered(), 0u);
  }
  EXPECT_FALSE(fr.next().has_value());

  fr.feed("<");
  int errors = 0;
  for (int i = 0; i < 256; ++i) {  // 1 MiB inside one message with no '>'
    fr.feed(junk);
    ASSERT_LE(fr.buffered(), sc::max_message);
    for (auto& m : drain(fr)) {
      EXPECT_EQ(m.rfind("!socketcand message longer than 512 bytes", 0), 0u) << m;
      ++errors;
    }
  }
  EXPECT_EQ(errors, 1);  // reported once
  fr.feed("< send 123 0 > < echo >");  // the first '>' ends the overlong message
  EXPECT_EQ(drain(fr), (std::vector<std::string>{"echo"}));
}

TEST(SocketcandFramer, OverlongMessageIsReportedAndSkipped) {
  const std::string stream = "< hi ><" + std::string(600, 'a') + "< echo >< ok >";
  for (std::size_t cut = 0; cut <= stream.size(); cut += 7) {
    sc::framer fr;
    fr.feed(stream.substr(0, cut));
    auto got = drain(fr);
    fr.feed(stream.substr(cut));
    for (auto& m : drain(fr)) got.push_back(m);
    ASSERT_EQ(got.size(), 3u) << cut;
    EXPECT_EQ(got[0], "hi");
    EXPECT_EQ(got[1].rfind("!socketcand message longer than 512 bytes", 0), 0u) << got[1];
    EXPECT_EQ(got[2], "ok");  // `< echo >` was inside the overlong message
  }
  sc::framer fr;
  fr.feed("<" + std::string(600, 'a'));
  auto m = fr.next();
  ASSERT_TRUE(m.has_value());
  ASSERT_FALSE(*m);
  EXPECT_EQ(m->err().code, make_error_code(errc::bad_option));
  EXPECT_EQ(m->err().message.find('\n'), std::string::npos);
}

TEST(SocketcandFramer, LimitIncludesTheBrackets) {
  sc::framer fr(16);
  fr.feed("<" + std::string(14, 'a') + ">");  // 16 bytes: fits
  EXPECT_EQ(drain(fr), (std::vector<std::string>{std::string(14, 'a')}));
  fr.feed("<" + std::string(15, 'b') + "><ok>");  // 17 bytes: too long
  auto got = drain(fr);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].rfind("!socketcand message longer than 16 bytes", 0), 0u) << got[0];
  EXPECT_EQ(got[1], "ok");
  fr.feed("<" + std::string(14, 'c'));  // at the limit across reads, then closed
  fr.feed(">");
  EXPECT_EQ(drain(fr), (std::vector<std::string>{std::string(14, 'c')}));
}

TEST(SocketcandFramer, ResetForgetsEverything) {
  sc::framer fr;
  fr.feed("< hi >< op");
  fr.reset();
  EXPECT_EQ(fr.buffered(), 0u);
  EXPECT_FALSE(fr.next().has_value());
  fr.feed("en vcan0 >< ok >");  // the old half message is gone
  EXPECT_EQ(drain(fr), (std::vector<std::string>{"ok"}));
}

// --- parsing: handshake and modes ----------------------------------------------

TEST(SocketcandParse, HandshakeAndModes) {
  EXPECT_EQ(parsed("< hi >").k, sc::kind::hi);
  EXPECT_EQ(parsed("< ok >").k, sc::kind::ok);
  EXPECT_EQ(parsed("< echo >").k, sc::kind::echo);
  EXPECT_EQ(parsed("< rawmode >").k, sc::kind::rawmode);
  EXPECT_EQ(parsed("< bcmmode >").k, sc::kind::bcmmode);
  EXPECT_EQ(parsed("< controlmode >").k, sc::kind::controlmode);
  EXPECT_EQ(parsed("< isotpmode >").k, sc::kind::isotpmode);
  auto open = parsed("<open vcan0>");
  EXPECT_EQ(open.k, sc::kind::open);
  EXPECT_EQ(open.text, "vcan0");
  auto err = parsed("< error could not start interface vcan9 >");
  EXPECT_EQ(err.k, sc::kind::error);
  EXPECT_EQ(err.text, "could not start interface vcan9");
  EXPECT_EQ(parsed("< error unknown command >").text, "unknown command");
  EXPECT_EQ(parsed("< error >").text, "");
}

TEST(SocketcandParse, BadHandshake) {
  EXPECT_NE(failure("hi there").find("hi: it takes no arguments but got 1; write `< hi >`"), std::string::npos);
  EXPECT_NE(failure("open").find("write `< open BUS >`"), std::string::npos);
  failure("open vcan0 vcan1");
  EXPECT_NE(failure("open 0123456789abcdef").find("not an interface name"), std::string::npos);
  failure("open ../etc");
  failure("open can:0");
  auto unknown = failure("muxfilter 0 0 123 2", errc::unsupported);
  EXPECT_NE(unknown.find("unknown socketcand command 'muxfilter'"), std::string::npos) << unknown;
  failure("isotpconf 123 321 0 0 0 0", errc::unsupported);
  failure("SEND 123 0", errc::unsupported);  // keywords are lower case, as upstream compares them
}

TEST(SocketcandParse, EmptyAndBinaryMessages) {
  EXPECT_NE(failure("").find("empty message"), std::string::npos);
  EXPECT_NE(failure("   ").find("empty message"), std::string::npos);
  auto nul = failure(std::string("send 123 0\0", 11));
  EXPECT_NE(nul.find("byte 0x00 at offset 10"), std::string::npos) << nul;
  EXPECT_NE(nul.find("\\x00"), std::string::npos) << nul;  // quoted, not raw
  auto high = failure("send \xFF\xFE 0");
  EXPECT_NE(high.find("byte 0xFF at offset 5"), std::string::npos) << high;
  failure("send 123 0 \x1b[2J");
  EXPECT_EQ(sc::parse("send\t123\t0\r").ok(), true);  // tabs and CR separate like spaces
}

// --- parsing: frames a client sends ------------------------------------------

TEST(SocketcandParse, SendClassic) {
  auto c = parsed("< send 123 4 de AD be Ef >");
  EXPECT_EQ(c.k, sc::kind::send);
  expect_frame(c.f, make(0x123, {0xDE, 0xAD, 0xBE, 0xEF}), "send 123");
  auto doc = parsed("< send 1AAAAAAA 2 1 f1 >");  // protocol.md's example
  expect_frame(doc.f, make(0x1AAAAAAA | CAN_EFF_FLAG, {0x01, 0xF1}), "send 1AAAAAAA");
  auto empty = parsed("< send 123 0  >");  // python-can's empty send
  expect_frame(empty.f, make(0x123, {}), "send 123 0");
  auto spaces = parsed("<send    7FF   1     0   >");
  expect_frame(spaces.f, make(0x7FF, {0x00}), "spaces");
}

TEST(SocketcandParse, ExtendedIds) {
  // Upstream: 8 digits mean 29-bit. python-can writes {id:X} unpadded, so a
  // value above 7FF is 29-bit too.
  expect_frame(parsed("< send 1ABCD 0 >").f, make(0x1ABCD | CAN_EFF_FLAG, {}), "1ABCD");
  expect_frame(parsed("< send 800 0 >").f, make(0x800 | CAN_EFF_FLAG, {}), "800");
  expect_frame(parsed("< send 7ff 0 >").f, make(0x7FF, {}), "7ff");
  expect_frame(parsed("< send 00000123 0 >").f, make(0x123 | CAN_EFF_FLAG, {}), "00000123");
  expect_frame(parsed("< send 0123 0 >").f, make(0x123, {}), "0123");
  expect_frame(parsed("< send 0 0 >").f, make(0, {}), "0");
  expect_frame(parsed("< send 1FFFFFFF 0 >").f, make(CAN_EFF_MASK | CAN_EFF_FLAG, {}), "1FFFFFFF");
}

TEST(SocketcandParse, BadSend) {
  auto count = failure("send 123 2 1");
  EXPECT_NE(count.find("bad socketcand message '< send 123 2 1 >': send: DLC 2 but 1 data byte; write `< send ID "
                       "DLC B0 ... >` with DLC bytes"),
            std::string::npos)
      << count;
  EXPECT_NE(failure("send 123 1 1 2").find("DLC 1 but 2 data bytes"), std::string::npos);
  EXPECT_NE(failure("send 1FFFFFFFF 0").find("ID '1FFFFFFFF' is not 1-8 hex digits"), std::string::npos);
  EXPECT_NE(failure("send 3FFFFFFF 0").find("ID 3FFFFFFF has more than 29 bits"), std::string::npos);
  EXPECT_NE(failure("send 123 9 1 2 3 4 5 6 7 8 9").find("DLC 9 is not a CAN length"), std::string::npos);
  EXPECT_NE(failure("send zz 0").find("ID 'zz' is not 1-8 hex digits"), std::string::npos);
  EXPECT_NE(failure("send 0x123 0").find("ID '0x123'"), std::string::npos);
  EXPECT_NE(failure("send 123 1 100").find("data byte '100' is not 1-2 hex digits"), std::string::npos);
  EXPECT_NE(failure("send 123 1 g").find("data byte 'g'"), std::string::npos);
  EXPECT_NE(failure("send 123 1 -1").find("data byte '-1'"), std::string::npos);
  EXPECT_NE(failure("send 123 -1").find("DLC '-1' is not a decimal number"), std::string::npos);
  EXPECT_NE(failure("send 123 +1 00").find("DLC '+1'"), std::string::npos);
  // Read as hex (python-can's way) only where that matches the bytes given:
  // 10 bytes is no CAN length either way.
  EXPECT_NE(failure("send 123 A 1 2 3 4 5 6 7 8 9 A").find("DLC 10 is not a CAN length"), std::string::npos);
  EXPECT_NE(failure("send 123 A 1 2").find("DLC 'A'"), std::string::npos);
  EXPECT_NE(failure("send 123 100 00").find("DLC '100'"), std::string::npos);
  EXPECT_NE(failure("send 123").find("1 field where at least 2 are needed"), std::string::npos);
  failure("send");
  failure("send -123 0");
  failure("send 123 65");
  std::string many = "send 123 8";
  for (int i = 0; i < 80; ++i) many += " 00";
  EXPECT_NE(failure(many).find("more than 72 fields"), std::string::npos);
}

TEST(SocketcandParse, RemoteRequests) {
  auto a = parsed("< sendrtr 123 >");
  EXPECT_EQ(a.k, sc::kind::send);
  expect_frame(a.f, make(0x123 | CAN_RTR_FLAG, {}), "sendrtr 123");
  auto b = parsed("< sendrtr 1ABCD 2 >");
  EXPECT_TRUE(b.f.remote());
  EXPECT_TRUE(b.f.extended());
  EXPECT_EQ(b.f.ident(), 0x1ABCDu);
  EXPECT_EQ(b.f.len, 2);
  auto rx = parsed("< rtr 123 5.000006 3 >");
  EXPECT_EQ(rx.k, sc::kind::frame);
  EXPECT_TRUE(rx.f.remote());
  EXPECT_EQ(rx.f.len, 3);
  EXPECT_EQ(rx.time.sec, 5u);
  EXPECT_EQ(rx.time.usec, 6u);
  EXPECT_EQ(parsed("< rtr 123 1.000000 >").f.len, 0);
  EXPECT_NE(failure("sendrtr 123 9").find("DLC 9 is over 8"), std::string::npos);
  failure("sendrtr");
  failure("sendrtr 123 1 2");
  failure("rtr 123");
  failure("rtr 123 now");
}

TEST(SocketcandParse, FdSendForms) {
  auto bytes = counting(12);
  // Hartkopp's rawmode-canfd branch.
  auto h = parsed("< sendfd 123 12 " + spaced(bytes) + " >");
  EXPECT_EQ(h.k, sc::kind::send);
  expect_frame(h.f, make(0x123, bytes, true, 0), "sendfd");
  auto small = parsed("< sendfd 123 2 1 2 >");  // an FD frame may carry 0-8 bytes too
  expect_frame(small.f, make(0x123, {1, 2}, true, 0), "sendfd 2");
  // PR #33, with flags.
  auto p = parsed("< fdsend 12345678 3 12 " + spaced(bytes) + " >");
  expect_frame(p.f, make(0x12345678 | CAN_EFF_FLAG, bytes, true, CANFD_BRS | CANFD_ESI), "fdsend");
  auto p1 = parsed("< fdsend 123 01 0 >");
  expect_frame(p1.f, make(0x123, {}, true, CANFD_BRS), "fdsend empty");
  // PR #72: plain send with more than 8 bytes.
  auto big = counting(64);
  auto s = parsed("< send 123 64 " + spaced(big) + " >");
  expect_frame(s.f, make(0x123, big, true, 0), "send 64");
  // python-can 4.1 writes the length in hex: 40 for 64 bytes, C for 12.
  expect_frame(parsed("< send 123 40 " + spaced(big) + " >").f, make(0x123, big, true, 0), "send 40 (hex)");
  expect_frame(parsed("< send 123 C " + spaced(bytes) + " >").f, make(0x123, bytes, true, 0), "send C (hex)");
  expect_frame(parsed("< send 123 12 " + spaced(bytes) + " >").f, make(0x123, bytes, true, 0), "send 12");

  EXPECT_NE(failure("sendfd 123 9 " + spaced(counting(9))).find("LEN 9 is not a CAN length"), std::string::npos);
  EXPECT_NE(failure("fdsend 123 1 13 " + spaced(counting(13))).find("LEN 13 is not a CAN length"), std::string::npos);
  EXPECT_NE(failure("fdsend 123 100 0").find("FLAGS '100' is not 1-2 hex digits"), std::string::npos);
  EXPECT_NE(failure("fdsend 123 1 12 00").find("LEN 12 but 1 data byte"), std::string::npos);
  failure("fdsend 123 1");
  failure("sendfd 123 68");
}

// --- parsing: frames a server sends ------------------------------------------

TEST(SocketcandParse, ReceivedFrames) {
  auto empty = parsed("< frame 123 1.000000  >");
  EXPECT_EQ(empty.k, sc::kind::frame);
  expect_frame(empty.f, make(0x123, {}), "empty");
  EXPECT_EQ(empty.time.sec, 1u);
  EXPECT_EQ(empty.time.usec, 0u);

  auto raw = parsed("< frame 1ABCDEF0 12.000345 DEADBEEF >");
  expect_frame(raw.f, make(0x1ABCDEF0 | CAN_EFF_FLAG, {0xDE, 0xAD, 0xBE, 0xEF}), "raw");
  EXPECT_EQ(raw.time.sec, 12u);
  EXPECT_EQ(raw.time.usec, 345u);

  auto bcm = parsed("< frame 123 23.424242 11 22 33 44  >");  // protocol.md's BCM example, upstream spacing
  expect_frame(bcm.f, make(0x123, {0x11, 0x22, 0x33, 0x44}), "bcm");
  EXPECT_EQ(bcm.time.usec, 424242u);

  expect_frame(parsed("< frame 123 1.0 A >").f, make(0x123, {0x0A}), "one digit");
  expect_frame(parsed("< frame 123 1.0 ab >").f, make(0x123, {0xAB}), "one byte");
  auto py = parsed("< frame 123 1680000000.5 01020304 >");  // python-can's test timestamp style
  EXPECT_EQ(py.time.sec, 1680000000u);
  EXPECT_EQ(py.time.usec, 500000u);
  expect_frame(parsed("< frame 12345 1.000000 00 >").f, make(0x12345 | CAN_EFF_FLAG, {0}), "unpadded 29-bit");

  EXPECT_NE(failure("frame 123 1.000000 ABC").find("data 'ABC' is not an even number of hex digits"),
            std::string::npos);
  EXPECT_NE(failure("frame 123 1.000000 ZZZZ").find("data 'ZZZZ' is not hexadecimal"), std::string::npos);
  EXPECT_NE(failure("frame 123 1 AB").find("timestamp '1' is not SEC.USEC"), std::string::npos);
  failure("frame 123 1.1234567 AB");
  failure("frame 123 -1.0 AB");
  failure("frame 123 .5 AB");
  failure("frame 123 1. AB");
  failure("frame 123 99999999999999999999.0");  // over 64 bits
  failure("frame 123");
  EXPECT_NE(failure("frame 123 1.0 " + hex_run(counting(9))).find("9 data bytes is not a CAN length"),
            std::string::npos);
  failure("frame 123 1.0 " + hex_run(counting(65)));
}

TEST(SocketcandParse, FdFrameForms) {
  auto bytes = counting(12);
  // Hartkopp: ID SEC.USEC HEX.
  auto h = parsed("< fdframe 03B 1589476062.377071 " + hex_run(bytes) + " >");
  EXPECT_EQ(h.k, sc::kind::frame);
  expect_frame(h.f, make(0x03B, bytes, true, 0), "hartkopp");
  EXPECT_EQ(h.time.sec, 1589476062u);
  EXPECT_EQ(h.time.usec, 377071u);
  expect_frame(parsed("< fdframe 123 1.000000  >").f, make(0x123, {}, true, 0), "hartkopp empty");
  // PR #33: ID FLAGS SEC.USEC HEX, and its BCM form with spaced bytes.
  auto p = parsed("< fdframe 123 01 2.000001 " + hex_run(bytes) + " >");
  expect_frame(p.f, make(0x123, bytes, true, CANFD_BRS), "pr33");
  EXPECT_EQ(p.time.usec, 1u);
  auto pb = parsed("< fdframe 12345678 02 5.000000 11 22  >");
  expect_frame(pb.f, make(0x12345678 | CAN_EFF_FLAG, {0x11, 0x22}, true, CANFD_ESI), "pr33 bcm");
  expect_frame(parsed("< fdframe 123 3 1.000000  >").f, make(0x123, {}, true, 3), "pr33 empty");
  // PR #72: plain frame with more than 8 bytes.
  auto big = counting(64);
  expect_frame(parsed("< frame 123 1.000000 " + hex_run(big) + " >").f, make(0x123, big, true, 0), "pr72");

  EXPECT_NE(failure("fdframe 123 AA").find("no SEC.USEC timestamp as its 2nd or 3rd field"), std::string::npos);
  EXPECT_NE(failure("fdframe 123 zz 1.0 AA").find("FLAGS 'zz'"), std::string::npos);
  EXPECT_NE(failure("fdframe 123 1.0 " + hex_run(counting(10))).find("10 data bytes is not a CAN length"),
            std::string::npos);
  failure("fdframe");
}

TEST(SocketcandParse, ErrorFrames) {
  // Upstream's raw state: class bits only, no data.
  auto raw = parsed("< error 004 1.000000 >");
  EXPECT_EQ(raw.k, sc::kind::frame);
  EXPECT_TRUE(raw.f.error());
  EXPECT_EQ(raw.f.id, CAN_ERR_FLAG | 0x4u);
  EXPECT_EQ(raw.f.len, 0);
  // Ours: the data as one run. Upstream's BCM state: the flag in the ID, bytes spaced.
  auto ours = parsed("< error 004 1.000000 0004000000000000 >");
  auto bcm = parsed("< error 20000004 1.000000 00 04 00 00 00 00 00 00  >");
  frame want = make(CAN_ERR_FLAG | 0x4, {0, 4, 0, 0, 0, 0, 0, 0});
  expect_frame(ours.f, want, "ours");
  expect_frame(bcm.f, want, "bcm");
  // Anything else is the server's text.
  EXPECT_EQ(parsed("< error 004 is not a frame >").k, sc::kind::error);
  EXPECT_NE(failure("error 40000004 1.000000").find("bits above the 29 class bits"), std::string::npos);
  EXPECT_NE(failure("error 004 1.000000 " + hex_run(counting(12))).find("an error frame carries 0-8"),
            std::string::npos);
}

TEST(SocketcandParse, BcmCommands) {
  auto add = parsed("< add 1 0 123 8 11 22 33 44 55 66 77 88 >");
  EXPECT_EQ(add.k, sc::kind::add);
  EXPECT_EQ(add.time.sec, 1u);
  EXPECT_EQ(add.time.usec, 0u);
  expect_frame(add.f, make(0x123, {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}), "add");
  auto every = parsed("< add 0 20000 12345678 4 42 42 42 42 >");
  EXPECT_EQ(every.time.usec, 20000u);
  EXPECT_TRUE(every.f.extended());

  auto update = parsed("< update 123 3 11 22 33 >");
  EXPECT_EQ(update.k, sc::kind::update);
  expect_frame(update.f, make(0x123, {0x11, 0x22, 0x33}), "update");

  auto del = parsed("< delete 123 >");
  EXPECT_EQ(del.k, sc::kind::del);
  EXPECT_EQ(del.f.id, 0x123u);

  auto filter = parsed("< filter 1 500000 123 8 FF 00 F8 00 00 00 00 00 >");
  EXPECT_EQ(filter.k, sc::kind::filter);
  EXPECT_EQ(filter.time.usec, 500000u);
  expect_frame(filter.f, make(0x123, {0xFF, 0, 0xF8, 0, 0, 0, 0, 0}), "filter");

  auto sub = parsed("< subscribe 0 0 1ABCD >");
  EXPECT_EQ(sub.k, sc::kind::subscribe);
  EXPECT_EQ(sub.f.id, 0x1ABCDu | CAN_EFF_FLAG);

  auto unsub = parsed("< unsubscribe 123 >");
  EXPECT_EQ(unsub.k, sc::kind::unsubscribe);
  EXPECT_EQ(unsub.f.id, 0x123u);

  EXPECT_NE(failure("add 0 1000000 123 0").find("USEC '1000000' is not a decimal number below 1000000"),
            std::string::npos);
  EXPECT_NE(failure("add x 0 123 0").find("SEC 'x'"), std::string::npos);
  EXPECT_NE(failure("add 0 0 123 12 " + spaced(counting(12))).find("DLC 12 is over 8"), std::string::npos);
  EXPECT_NE(failure("update 123 2 11").find("DLC 2 but 1 data byte; write `< update ID DLC B0 ... >`"),
            std::string::npos);
  EXPECT_NE(failure("delete").find("0 fields where 1 are needed"), std::string::npos);
  failure("delete 123 1");
  failure("subscribe 0 123");
  failure("unsubscribe zz");
  failure("filter 0");
}

TEST(SocketcandParse, Statistics) {
  auto s = parsed("< statistics 1000 >");
  EXPECT_EQ(s.k, sc::kind::statistics);
  EXPECT_EQ(s.ms, 1000u);
  EXPECT_EQ(parsed("< statistics 0 >").ms, 0u);
  failure("statistics");
  failure("statistics abc");
  failure("statistics 4294967296");  // over 32 bits
  auto st = parsed("< stat 123456 789 18446744073709551615 4 >");
  EXPECT_EQ(st.k, sc::kind::stat);
  EXPECT_EQ(st.stats.rx_bytes, 123456u);
  EXPECT_EQ(st.stats.rx_packets, 789u);
  EXPECT_EQ(st.stats.tx_bytes, 18446744073709551615u);
  EXPECT_EQ(st.stats.tx_packets, 4u);
  EXPECT_FALSE(st.stats.dropped);
  EXPECT_EQ(parsed("< stat 1 2 3 4 5 >").stats.dropped, 5u);
  EXPECT_NE(failure("stat 1 2 3").find("3 fields where 4 or 5 are needed"), std::string::npos);
  failure("stat 1 2 3 4 5 6");
  failure("stat 1 2 3 x");
  failure("stat 1 2 3 18446744073709551616");
}

// --- formatting ----------------------------------------------------------------

TEST(SocketcandFormat, RawFramesByteExact) {
  EXPECT_EQ(sc::format_frame_raw(make(0x123, {}), {1, 0}), "< frame 123 1.000000  >");
  EXPECT_EQ(sc::format_frame_raw(make(0x1ABCDEF0 | CAN_EFF_FLAG, {0xDE, 0xAD, 0xBE, 0xEF}), {12, 345}),
            "< frame 1ABCDEF0 12.000345 DEADBEEF >");
  EXPECT_EQ(sc::format_frame_raw(make(0x5, {0x0A}), {0, 999999}), "< frame 005 0.999999 0A >");
  EXPECT_EQ(sc::format_frame_raw(make(0x5 | CAN_EFF_FLAG, {}), {7, 1}), "< frame 00000005 7.000001  >");
  EXPECT_EQ(sc::format_frame_raw(make(0x123, {}), {1, 2500000}), "< frame 123 3.500000  >");  // usec carried
  EXPECT_EQ(sc::format_frame_raw(make(0x123, {1, 2}, true, CANFD_BRS), {1, 0}), "< fdframe 123 01 1.000000 0102 >");
  EXPECT_EQ(sc::format_frame_raw(make(0x123, {}, true, CANFD_BRS | CANFD_ESI), {1, 0}),
            "< fdframe 123 03 1.000000  >");
  frame rtr = make(0x123 | CAN_RTR_FLAG, {});
  EXPECT_EQ(sc::format_frame_raw(rtr, {1, 0}), "< rtr 123 1.000000 >");
  rtr.len = 3;
  EXPECT_EQ(sc::format_frame_raw(rtr, {1, 0}), "< rtr 123 1.000000 3 >");
  EXPECT_EQ(sc::format_frame_raw(make(CAN_ERR_FLAG | 0x4, {}), {1, 0}), "< error 004 1.000000 >");  // upstream's
  EXPECT_EQ(sc::format_frame_raw(make(CAN_ERR_FLAG | 0x4, {0, 4, 0, 0, 0, 0, 0, 0}), {1, 0}),
            "< error 004 1.000000 0004000000000000 >");
}

TEST(SocketcandFormat, PythonCanCanSplitOurFrames) {
  // python-can 4.x: frame_string = msg[8:-2]; parts = frame_string.split(" ", 3);
  // then parts[0], parts[1] and parts[2] must exist.
  for (const auto& f : {make(0x123, {}), make(0x123, {1, 2, 3}), make(0x1ABCDEF0 | CAN_EFF_FLAG, counting(8))}) {
    auto s = sc::format_frame_raw(f, {1, 0});
    ASSERT_EQ(s.rfind("< frame ", 0), 0u);
    auto body = s.substr(8, s.size() - 10);
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (int i = 0; i < 3; ++i) {
      auto sp = body.find(' ', start);
      if (sp == std::string::npos || i == 2) {
        parts.push_back(body.substr(start));
        break;
      }
      parts.push_back(body.substr(start, sp - start));
      start = sp + 1;
    }
    ASSERT_EQ(parts.size(), 3u) << s;
    EXPECT_EQ(parts[2], hex_run(std::vector<std::uint8_t>(f.data.begin(), f.data.begin() + f.len))) << s;
  }
}

TEST(SocketcandFormat, BcmFramesByteExact) {
  EXPECT_EQ(sc::format_frame_bcm(make(0x123, {0x11, 0x22, 0x33, 0x44}), {23, 424242}),
            "< frame 123 23.424242 11 22 33 44  >");
  EXPECT_EQ(sc::format_frame_bcm(make(0x123, {}), {1, 0}), "< frame 123 1.000000  >");
  EXPECT_EQ(sc::format_frame_bcm(make(0x1FFFFFFF | CAN_EFF_FLAG, {0x0F}), {1, 0}), "< frame 1FFFFFFF 1.000000 0F  >");
  EXPECT_EQ(sc::format_frame_bcm(make(0x123, {1, 2}, true, CANFD_ESI), {1, 0}), "< fdframe 123 02 1.000000 01 02  >");
  EXPECT_EQ(sc::format_frame_bcm(make(CAN_ERR_FLAG | 0x4, {0, 4, 0, 0, 0, 0, 0, 0}), {1, 0}),
            "< error 20000004 1.000000 00 04 00 00 00 00 00 00  >");
}

TEST(SocketcandFormat, SendByteExact) {
  EXPECT_EQ(sc::format_send(make(0x123, {})), "< send 123 0 >");
  EXPECT_EQ(sc::format_send(make(0x1ABCDEF0 | CAN_EFF_FLAG, {0xDE, 0xAD, 0xBE, 0xEF})),
            "< send 1ABCDEF0 4 DE AD BE EF >");
  EXPECT_EQ(sc::format_send(make(0x5 | CAN_EFF_FLAG, {1})), "< send 00000005 1 01 >");  // upstream sees 8 digits
  EXPECT_EQ(sc::format_send(make(0x7FF, counting(8))), "< send 7FF 8 " + spaced(counting(8)) + " >");
  EXPECT_EQ(sc::format_send(make(0x123, counting(12), true, CANFD_BRS | CANFD_ESI)),
            "< fdsend 123 03 12 " + spaced(counting(12)) + " >");
  frame rtr = make(0x123 | CAN_RTR_FLAG, {});
  EXPECT_EQ(sc::format_send(rtr), "< sendrtr 123 >");
  rtr.id |= CAN_EFF_FLAG;
  rtr.len = 2;
  EXPECT_EQ(sc::format_send(rtr), "< sendrtr 00000123 2 >");
  std::string out = "x";
  EXPECT_FALSE(sc::append_send(out, make(CAN_ERR_FLAG | 0x4, {})));  // error frames cannot be sent
  EXPECT_EQ(out, "x");
}

TEST(SocketcandFormat, StatErrorAndConstants) {
  std::string out;
  sc::append_stat(out, {1, 2, 3, 4, std::nullopt});
  EXPECT_EQ(out, "< stat 1 2 3 4 >");
  out.clear();
  sc::append_stat(out, {1, 2, 3, 4, 17});  // ours: the frames dropped for slow clients
  EXPECT_EQ(out, "< stat 1 2 3 4 17 >");
  out.clear();
  sc::append_error(out, "could not start interface vcan9");
  EXPECT_EQ(out, "< error could not start interface vcan9 >");
  out.clear();
  sc::append_error(out, "bad <x>\nnext");  // must not end the message or the line early
  EXPECT_EQ(out, "< error bad ?x??next >");
  // Found by tests/fuzz/socketcand_parse_fuzz: a long text made a message no framer keeps.
  out.clear();
  sc::append_error(out, std::string(2000, 'x'));
  EXPECT_EQ(out.size(), sc::max_message);
  sc::framer f;
  f.feed(out);
  auto m = f.next();
  ASSERT_TRUE(m && m->ok());
  EXPECT_EQ(sc::hi_message, "< hi >");
  EXPECT_EQ(sc::ok_message, "< ok >");
  EXPECT_EQ(sc::echo_message, "< echo >");
  EXPECT_EQ(sc::unknown_command_message, "< error unknown command >");
  EXPECT_EQ(parsed(sc::unknown_command_message).text, "unknown command");
}

TEST(SocketcandFormat, LengthsAreCutToWhatTheFrameCarries) {
  frame classic = make(0x123, counting(12));  // not a valid classic frame
  EXPECT_EQ(sc::format_frame_raw(classic, {1, 0}), "< frame 123 1.000000 " + hex_run(counting(8)) + " >");
  frame fd = make(0x123, counting(13), true);  // 13 is no FD length: cut to 12
  EXPECT_EQ(sc::format_send(fd), "< fdsend 123 00 12 " + spaced(counting(12)) + " >");
  fd.len = 200;
  auto s = sc::format_frame_raw(fd, {1, 0});
  auto back = parse_wire(s);
  ASSERT_TRUE(back) << back.err().message;
  EXPECT_EQ(back->f.len, 64);
}

TEST(SocketcandFormat, BatchInOneBufferFramesBack) {
  std::string out;
  sc::append_frame_raw(out, make(0x123, {}), {1, 0});
  sc::append_frame_raw(out, make(0x456, {1}), {2, 0});
  sc::append_stat(out, {5, 6, 7, 8, std::nullopt});
  out += sc::echo_message;
  sc::framer fr;
  fr.feed(out);
  EXPECT_EQ(drain(fr),
            (std::vector<std::string>{"frame 123 1.000000", "frame 456 2.000000 01", "stat 5 6 7 8", "echo"}));
}

// --- round trips ---------------------------------------------------------------

TEST(SocketcandRoundTrip, FramesThroughEveryWriter) {
  frame rtr = make(0x123 | CAN_RTR_FLAG, {});
  frame rtr_ext = make(0x1ABCD | CAN_EFF_FLAG | CAN_RTR_FLAG, {});
  rtr_ext.len = 5;
  const std::vector<frame> frames = {
      make(0x123, {}),
      make(0x7FF, counting(8)),
      make(0x000, {0xFF}),
      make(0x1ABCDEF0 | CAN_EFF_FLAG, {0xDE, 0xAD, 0xBE, 0xEF}),
      make(0x5 | CAN_EFF_FLAG, {}),  // 29-bit with a small value
      make(0x1FFFFFFF | CAN_EFF_FLAG, counting(8)),
      make(0x123, counting(12), true, CANFD_BRS),
      make(0x1ABCDEF0 | CAN_EFF_FLAG, counting(64), true, CANFD_BRS | CANFD_ESI),
      make(0x123, {}, true, 0),
      make(0x123, counting(3), true, CANFD_ESI),
      rtr,
      rtr_ext,
      make(CAN_ERR_FLAG | 0x4, {0, 4, 0, 0, 0, 0, 0, 0}),
      make(CAN_ERR_FLAG | 0x100, {}),
  };
  const sc::timestamp t{1700000000, 123456};
  for (const auto& f : frames) {
    for (bool bcm : {false, true}) {
      auto wire = bcm ? sc::format_frame_bcm(f, t) : sc::format_frame_raw(f, t);
      auto c = parse_wire(wire);
      ASSERT_TRUE(c) << wire << ": " << c.err().message;
      EXPECT_EQ(c->k, sc::kind::frame) << wire;
      expect_frame(c->f, f, wire);
      EXPECT_EQ(c->time.sec, t.sec) << wire;
      EXPECT_EQ(c->time.usec, t.usec) << wire;
    }
    if (f.error()) continue;
    auto wire = sc::format_send(f);
    auto c = parse_wire(wire);
    ASSERT_TRUE(c) << wire << ": " << c.err().message;
    EXPECT_EQ(c->k, sc::kind::send) << wire;
    expect_frame(c->f, f, wire);
  }
}

TEST(SocketcandRoundTrip, CommandsReadBackTheSame) {
  const std::vector<std::string> messages = {
      "open vcan0", "rawmode", "bcmmode", "controlmode", "isotpmode", "echo", "hi", "ok",
      "error could not  start interface vcan0", "send 1ABCD 2 1 f1", "send 123 12 " + spaced(counting(12)),
      "sendfd 123 16 " + spaced(counting(16)), "fdsend 123 1 0", "sendrtr 123 3",
      "add 1 0 123 8 11 22 33 44 55 66 77 88", "update 123 3 11 22 33", "delete 1ABCD", "filter 1 500000 123 1 FF",
      "subscribe 0 100 123", "unsubscribe 00000123", "statistics 1000", "stat 1 2 3 4", "stat 1 2 3 4 5",
      "frame 123 1.5 DEAD", "frame 123 23.424242 11 22 33 44", "fdframe 123 1.000000 " + hex_run(counting(12)),
      "fdframe 123 03 1.000000 11 22", "rtr 123 1.000000", "error 004 1.000000", "error 20000004 1.0 00 04"};
  for (const auto& m : messages) {
    auto first = sc::parse(m);
    ASSERT_TRUE(first) << m << ": " << first.err().message;
    std::string wire;
    ASSERT_TRUE(sc::append(wire, *first)) << m;
    auto second = parse_wire(wire);
    ASSERT_TRUE(second) << m << " -> " << wire << ": " << second.err().message;
    expect_same(*first, *second, m + " -> " + wire);
    EXPECT_EQ(sc::name(first->k), sc::name(second->k));
  }
  EXPECT_EQ(sc::name(sc::kind::del), "delete");
}

TEST(SocketcandRoundTrip, MutatedInputNeverBreaksTheParser) {
  // A small deterministic fuzzer: valid messages with bytes replaced, inserted
  // and cut. Every outcome must be an answer, and every accepted message must
  // read back the same after being written.
  const std::vector<std::string> seeds = {
      "send 123 2 1 f1", "fdsend 12345678 3 12 " + spaced(counting(12)), "frame 1ABCDEF0 12.000345 DEADBEEF",
      "fdframe 123 01 1.000001 " + hex_run(counting(16)), "error 004 1.000000 0004000000000000",
      "add 1 0 123 8 11 22 33 44 55 66 77 88", "subscribe 0 0 123", "rtr 123 1.000000 3", "stat 1 2 3 4",
      "open vcan0", "statistics 1000", "sendrtr 1ABCD 2", "frame 123 23.424242 11 22 33 44"};
  const std::string alphabet = " 0123456789ABCDEFabcdefxz.-+<>\t\x7f\xff";
  std::uint64_t state = 0x9E3779B97F4A7C15u;
  auto rnd = [&](std::size_t n) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return static_cast<std::size_t>((state >> 33) % n);
  };
  std::string all_alphabet = alphabet;
  all_alphabet.push_back('\0');
  int accepted = 0;
  for (int iter = 0; iter < 30000; ++iter) {
    std::string m = seeds[rnd(seeds.size())];
    for (std::size_t edits = 1 + rnd(3); edits > 0; --edits) {
      std::size_t at = rnd(m.size() + 1);
      switch (rnd(3)) {
        case 0:
          if (at < m.size()) m[at] = all_alphabet[rnd(all_alphabet.size())];
          break;
        case 1: m.insert(at, 1, all_alphabet[rnd(all_alphabet.size())]); break;
        case 2: m.erase(at, rnd(4)); break;
      }
    }
    auto c = sc::parse(m);
    if (!c) {
      ASSERT_FALSE(c.err().message.empty()) << m;
      ASSERT_EQ(c.err().message.find('\n'), std::string::npos) << m;
      continue;
    }
    ++accepted;
    if (m.find_first_of("<>\t\x7f") != std::string::npos) continue;  // text the writer must mask
    std::string wire;
    if (!sc::append(wire, *c)) continue;
    auto back = parse_wire(wire);
    ASSERT_TRUE(back) << m << " -> " << wire << ": " << back.err().message;
    expect_same(*c, *back, m + " -> " + wire);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(accepted, 1000);  // the mutations do reach the accepting paths
}
