// The socketcand wire protocol (ASCII `< ... >` messages over TCP) as bytes in,
// structs out: no sockets here, so the server, the client transport and a
// fuzzer share one parser that never throws and never trusts its input.
//
// What is on the wire, and the choices made where upstream is silent or split
// (upstream = linux-can/socketcand master, its doc/protocol.md, python-can 4.x):
//
// * Framing: a message runs from a `<` to the next `>`; bytes outside messages
//   are dropped as they arrive. A message longer than `max_message` bytes
//   (brackets included) is reported once as an error and skipped up to its
//   `>`: the framer never guesses where an overlong message ended, so text
//   inside it cannot be mistaken for a command.
// * IDs: hex. Extended (29-bit) when the token has exactly 8 digits (upstream's
//   rule) or when its value is above 7FF (python-can writes `{id:X}`
//   unpadded). We write `%03X` / `%08X`, which every reader understands.
// * Lengths in `send`: decimal, as upstream reads them; python-can writes
//   them in hex (`C` for 12 bytes, `40` for 64), so where only the hex
//   reading matches the bytes given, it is taken.
// * Received frames, raw mode: `< frame ID SEC.USEC HEX >`, HEX one uppercase
//   run; an empty frame is `< frame 123 1.000000  >` (two spaces: python-can
//   splits on them). BCM mode: `< frame ID SEC.USEC B0 B1 ...  >`, every byte
//   `%02X ` and then ` >`, exactly as upstream's BCM state prints.
// * CAN FD: upstream has none. We read all three proposals: Hartkopp's
//   rawmode-canfd branch (`< fdframe ID SEC.USEC HEX >`, `< sendfd ID LEN B.. >`),
//   PR #33 (`< fdframe ID FLAGS SEC.USEC HEX >`, `< fdsend ID FLAGS LEN B.. >`)
//   and PR #72 (`frame` / `send` with more than 8 bytes). The two `fdframe`
//   forms are told apart by where the timestamp (the token with a `.`) is. We
//   write PR #33's form only, FLAGS as `%02X` of CANFD_BRS | CANFD_ESI, because
//   it is the one that keeps the flags.
// * Error frames: upstream's raw state prints `< error CLASS SEC.USEC >` with
//   CLASS = `%03X` of the error class bits (CAN_ERR_FLAG stripped) and drops the
//   data; its BCM state prints the ID with the flag and the bytes spaced. We
//   write upstream's raw form with the data appended as one hex run (the class
//   alone says little; the bytes hold the controller state and counters), and
//   upstream's BCM form in BCM mode. On input, `< error X SEC.USEC [data] >` is
//   an error frame (CAN_ERR_FLAG optional in X); any other `< error ... >` is
//   the server's text.
// * Remote frames (PR #24, not upstream): `< sendrtr ID [DLC] >` and
//   `< rtr ID SEC.USEC [DLC] >`. PR #24 as described has no DLC; we write the
//   DLC only when it is not 0, so a DLC-0 request is byte-for-byte PR #24's.
//   Upstream servers answer `sendrtr` with `< error unknown command >` and drop
//   received remote frames, so only send or forward them when asked to.
// * Timestamps: `SEC.USEC`, decimal; we write 6 fraction digits and read 1-6
//   as a decimal fraction (`1.5` is 1 s 500000 us, as python-can means it).
// * Statistics: `< stat RXB RXP TXB TXP >` are the interface's counters, as
//   upstream's; we append a fifth, the frames the server dropped on that bus
//   for slow clients. A reader that takes the first four by position is
//   unaffected; parse() reads four or five.
// * Not covered: ISO-TP mode (`isotpconf`, `sendpdu`, `pdu`), `muxfilter` and
//   NO_BUS bus configuration (`< can0 B ... >`); they parse as unknown
//   commands. len8_dlc cannot be expressed and is not carried.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anysock/can/frame.hpp"
#include "anysock/error.hpp"

namespace anysock::can::socketcand {

// The port upstream socketcand listens on, and clients connect to unless told.
inline constexpr std::uint16_t default_port = 29536;

// The longest message the framer keeps, `<` and `>` included. The longest
// legal one (a BCM `fdframe` with 64 spaced bytes and a 20-digit second count)
// is under 260 bytes.
inline constexpr std::size_t max_message = 512;

// Splits a byte stream into messages. Keeps only bytes inside `< ... >`, so
// memory stays within max_message plus the messages not yet taken by next().
class framer {
 public:
  explicit framer(std::size_t limit = max_message);

  // Appends bytes from the peer. Invalidates the views next() returned.
  void feed(std::string_view bytes);

  // The next complete message: its text between `<` and `>` with surrounding
  // whitespace trimmed (a view valid until the next feed()), or an error for
  // a message that grew past the limit; nullopt when none is complete yet.
  std::optional<result<std::string_view>> next();

  // Bytes of complete messages not yet returned plus the unfinished one.
  std::size_t buffered() const;

  // Forgets everything, e.g. after a reconnect.
  void reset();

 private:
  struct item {
    std::size_t start = 0;
    std::size_t size = 0;
    bool overlong = false;
  };
  enum class state : std::uint8_t { outside, inside, skipping };

  std::size_t limit_;
  std::string buf_;           // inner bytes of complete messages, then the unfinished one
  std::vector<item> items_;   // complete messages in buf_, in arrival order
  std::size_t head_ = 0;      // first item next() has not returned
  std::size_t partial_ = 0;   // where the unfinished message starts in buf_
  state state_ = state::outside;
};

struct timestamp {
  std::uint64_t sec = 0;
  std::uint32_t usec = 0;  // 0..999999 when parsed; larger values are carried into sec when written
};

struct statistics {
  std::uint64_t rx_bytes = 0;
  std::uint64_t rx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_packets = 0;
  // Ours, not upstream's: frames the server dropped on this bus for clients
  // that read too slowly. Upstream's `< stat >` has the first four only.
  std::optional<std::uint64_t> dropped;
};

enum class kind : std::uint8_t {
  // client -> server
  open,          // text = bus name
  rawmode,
  bcmmode,
  controlmode,
  isotpmode,
  echo,          // both directions
  send,          // f: send, sendfd, fdsend, sendrtr
  add,           // f, time = interval
  update,        // f
  del,           // `delete`; f.id only
  filter,        // f (the content mask), time = throttle interval
  subscribe,     // f.id, time = throttle interval
  unsubscribe,   // f.id
  statistics,    // ms (0 turns statistics off)
  // server -> client
  hi,
  ok,
  error,         // text = what the server said
  frame,         // f, time = reception time: frame, fdframe, rtr, error frames
  stat,          // stats
};

// The command's keyword, for logs (`delete` for kind::del, `frame` for frames).
std::string_view name(kind k);

struct command {
  kind k = kind::echo;
  can::frame f{};
  timestamp time{};
  std::uint32_t ms = 0;
  socketcand::statistics stats{};
  std::string text;
};

// Reads one message's inner text (what framer::next() returns). Unknown
// keywords fail with errc::unsupported (upstream then answers
// `< error unknown command >`); malformed ones with errc::bad_option and a line
// that says what is wrong and what is expected.
result<command> parse(std::string_view message);

// Writers append to `out`, so a server can batch many messages in one buffer.
// Lengths beyond what the frame kind carries (8 classic, 64 FD) are cut.

// What the raw state sends for a received frame: `frame`, `fdframe`, `rtr` or
// `error`.
void append_frame_raw(std::string& out, const can::frame& f, timestamp t);
// What the BCM state sends: the same, with every data byte spaced.
void append_frame_bcm(std::string& out, const can::frame& f, timestamp t);
// What a client sends to put a frame on the bus: `send`, `fdsend` or `sendrtr`.
// False (and nothing appended) for error frames, which cannot be sent.
bool append_send(std::string& out, const can::frame& f);
void append_stat(std::string& out, const socketcand::statistics& s);
// `< error TEXT >`; bytes that would break framing or a log line become '?'.
void append_error(std::string& out, std::string_view text);
// Any command, in the canonical form parse() reads back to the same command
// (frames in the raw form). False only where append_send is.
bool append(std::string& out, const command& c);

inline constexpr std::string_view hi_message = "< hi >";
inline constexpr std::string_view ok_message = "< ok >";
inline constexpr std::string_view echo_message = "< echo >";
inline constexpr std::string_view unknown_command_message = "< error unknown command >";

inline std::string format_frame_raw(const can::frame& f, timestamp t) {
  std::string s;
  append_frame_raw(s, f, t);
  return s;
}
inline std::string format_frame_bcm(const can::frame& f, timestamp t) {
  std::string s;
  append_frame_bcm(s, f, t);
  return s;
}
inline std::string format_send(const can::frame& f) {
  std::string s;
  append_send(s, f);
  return s;
}
inline std::string format(const command& c) {
  std::string s;
  append(s, c);
  return s;
}

}  // namespace anysock::can::socketcand
