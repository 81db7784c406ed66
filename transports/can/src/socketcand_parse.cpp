// Reading socketcand messages: parse(). Every check names the
// field, what it held and what was expected, because the peer is usually a
// person with netcat or another implementation that got one detail different.
#include <algorithm>
#include <array>
#include <charconv>
#include <fmt/format.h>

#include "anysock/can/socketcand.hpp"
#include "socketcand_text.hpp"

namespace anysock::can::socketcand {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// 1..max_digits hex digits, nothing else (no sign, no 0x); max_digits <= 8.
std::optional<std::uint32_t> hex_value(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) {
    int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<std::uint32_t>(d);
  }
  return v;
}

// 1..max_digits decimal digits that fit T.
template <class T>
std::optional<T> dec_value(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// SEC.USEC: 1-20 digits, '.', 1-6 digits read as a decimal fraction.
std::optional<timestamp> time_value(std::string_view s) {
  auto dot = s.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto sec = dec_value<std::uint64_t>(s.substr(0, dot), 20);
  auto frac = s.substr(dot + 1);
  auto usec = dec_value<std::uint32_t>(frac, 6);
  if (!sec || !usec) return std::nullopt;
  for (std::size_t i = frac.size(); i < 6; ++i) *usec *= 10;
  return timestamp{*sec, *usec};
}

// Peer text as it can be quoted in one log line: printable, and short.
std::string printable(std::string_view s) {
  constexpr std::size_t keep = 60;
  std::string out;
  for (char c : s.substr(0, keep)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F)
      out += c;
    else
      out += fmt::format("\\x{:02X}", u);
  }
  if (s.size() > keep) out += "...";
  return out;
}

std::string quoted(std::string_view msg) { return "< " + printable(msg) + " >"; }

error bad(std::string_view msg, std::string_view what) {
  return {make_error_code(errc::bad_option), fmt::format("bad socketcand message '{}': {}", quoted(msg), what)};
}

// Tokens after the keyword. More than any legal message has is an error.
constexpr std::size_t max_args = 72;
constexpr std::size_t ifnamsiz = 16;  // IFNAMSIZ: names are at most 15 characters
struct args_t {
  std::array<std::string_view, max_args> v;
  std::size_t n = 0;
  bool overflow = false;
  std::size_t size() const { return n; }
  std::string_view operator[](std::size_t i) const { return v[i]; }
};

args_t split(std::string_view s) {
  args_t a;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i == s.size()) break;
    std::size_t j = i;
    while (j < s.size() && !is_space(s[j])) ++j;
    if (a.n == max_args) {
      a.overflow = true;
      break;
    }
    a.v[a.n++] = s.substr(i, j - i);
    i = j;
  }
  return a;
}

std::string_view plural(std::size_t n) { return n == 1 ? "" : "s"; }

// The parsing context: the message (for errors), the command word and the
// form it must have.
struct ctx {
  std::string_view msg;
  std::string_view cmd;
  std::string_view usage;

  error fail(std::string_view what) const { return bad(msg, fmt::format("{}: {}; write {}", cmd, what, usage)); }

  result<canid_t> id(std::string_view tok) const {
    auto v = hex_value(tok, 8);
    if (!v) return fail(fmt::format("ID '{}' is not 1-8 hex digits", tok));
    if (*v > CAN_EFF_MASK) return fail(fmt::format("ID {} has more than 29 bits (the largest is 1FFFFFFF)", tok));
    if (tok.size() == 8 || *v > CAN_SFF_MASK) return *v | CAN_EFF_FLAG;
    return *v;
  }

  result<timestamp> time(std::string_view tok) const {
    auto t = time_value(tok);
    if (!t) return fail(fmt::format("timestamp '{}' is not SEC.USEC (decimal, up to 6 fraction digits)", tok));
    return *t;
  }

  // SEC USEC of a BCM interval.
  result<timestamp> interval(std::string_view sec_tok, std::string_view usec_tok) const {
    auto sec = dec_value<std::uint64_t>(sec_tok, 20);
    if (!sec) return fail(fmt::format("SEC '{}' is not a decimal number", sec_tok));
    auto usec = dec_value<std::uint32_t>(usec_tok, 7);
    if (!usec || *usec > 999999)
      return fail(fmt::format("USEC '{}' is not a decimal number below 1000000", usec_tok));
    return timestamp{*sec, *usec};
  }

  result<std::uint8_t> length(std::string_view tok, std::string_view what) const {
    auto v = dec_value<unsigned>(tok, 2);
    if (!v) return fail(fmt::format("{} '{}' is not a decimal number of bytes", what, tok));
    return static_cast<std::uint8_t>(*v);
  }

  // Data bytes one token each (`DE AD`, 1-2 hex digits) or, for received
  // frames, one unspaced run (`DEAD`).
  result<std::size_t> data(const args_t& a, std::size_t from, bool allow_run, frame& f) const {
    std::size_t count = from < a.size() ? a.size() - from : 0;
    if (allow_run && count == 1 && a[from].size() > 2) {
      auto run = a[from];
      if (run.size() % 2 != 0 || run.size() > 2 * CANFD_MAX_DLEN)
        return fail(fmt::format("data '{}' is not an even number of hex digits, at most 128", run));
      for (std::size_t i = 0; i < run.size(); i += 2) {
        int hi = hex_digit(run[i]), lo = hex_digit(run[i + 1]);
        if (hi < 0 || lo < 0) return fail(fmt::format("data '{}' is not hexadecimal", run));
        f.data[i / 2] = static_cast<std::uint8_t>(hi << 4 | lo);
      }
      return run.size() / 2;
    }
    if (count > CANFD_MAX_DLEN) return fail(fmt::format("{} data bytes; a frame carries at most 64", count));
    for (std::size_t i = 0; i < count; ++i) {
      auto b = hex_value(a[from + i], 2);
      if (!b) return fail(fmt::format("data byte '{}' is not 1-2 hex digits", a[from + i]));
      f.data[i] = static_cast<std::uint8_t>(*b);
    }
    return count;
  }
};

enum class lengths { classic, classic_or_fd, fd };

// Checks a data length against what the command's frames may carry and marks
// FD frames. `what()` names the length in errors ("DLC 9", "9 data bytes"),
// made only for one: every `< send >` passes here.
template <class What>
std::optional<error> check_length(const ctx& c, std::size_t n, lengths allowed, frame& f, What what) {
  if (allowed == lengths::classic && n > CAN_MAX_DLEN)
    return c.fail(fmt::format("{} is over 8; this command carries classic frames only", what()));
  if (allowed == lengths::fd || n > CAN_MAX_DLEN) {
    if (n > CANFD_MAX_DLEN || !valid_fd_length(n))
      return c.fail(fmt::format("{} is not a CAN length; classic frames carry 0-8 bytes, CAN FD frames 0-8, 12, 16, "
                                "20, 24, 32, 48 or 64",
                                what()));
    f.fd = true;
  }
  f.len = static_cast<std::uint8_t>(n);
  return std::nullopt;
}

// `ID [FLAGS] LEN B0 ...` of send, sendfd, fdsend, add, update and filter,
// starting at a[from].
std::optional<error> send_body(const ctx& c, const args_t& a, std::size_t from, bool with_flags, lengths allowed,
                               frame& f) {
  std::size_t fixed = from + (with_flags ? 3 : 2);
  if (a.size() < fixed)
    return c.fail(fmt::format("{} field{} where at least {} are needed", a.size(), plural(a.size()), fixed));
  auto id = c.id(a[from]);
  if (!id) return id.err();
  f.id = *id;
  if (with_flags) {
    auto flags = hex_value(a[from + 1], 2);
    if (!flags) return c.fail(fmt::format("FLAGS '{}' is not 1-2 hex digits (1 = BRS, 2 = ESI)", a[from + 1]));
    f.fd_flags = static_cast<std::uint8_t>(*flags & (CANFD_BRS | CANFD_ESI));
  }
  std::string_view label = with_flags || allowed == lengths::fd ? "LEN" : "DLC";
  const std::size_t given = a.size() - fixed;
  auto len = c.length(a[fixed - 1], label);
  // python-can writes the length in hex (`{dlc:X}`): 12 bytes as C, 64 as
  // 40. Where the decimal reading disagrees with the bytes given and the hex
  // one agrees, the hex one is meant.
  if (auto h = hex_value(a[fixed - 1], 2); h && *h == given && (!len || *len != given))
    len = static_cast<std::uint8_t>(given);
  if (!len) return len.err();
  if (auto e = check_length(c, *len, allowed, f, [&] { return fmt::format("{} {}", label, *len); })) return e;
  if (given != *len) return c.fail(fmt::format("{} {} but {} data byte{}", label, *len, given, plural(given)));
  auto n = c.data(a, fixed, false, f);
  if (!n) return n.err();
  return std::nullopt;
}

// `ID [FLAGS] SEC.USEC DATA` of a received frame: the ID at a[id_at], the
// timestamp at a[time_at], the data after it.
std::optional<error> frame_body(const ctx& c, const args_t& a, std::size_t id_at, std::size_t time_at,
                                lengths allowed, command& out) {
  auto id = c.id(a[id_at]);
  if (!id) return id.err();
  out.f.id = *id;
  auto t = c.time(a[time_at]);
  if (!t) return t.err();
  out.time = *t;
  auto n = c.data(a, time_at + 1, true, out.f);
  if (!n) return n.err();
  return check_length(c, *n, allowed, out.f, [&] { return fmt::format("{} data byte{}", *n, plural(*n)); });
}

// Call as `return done(body(..., out), out)`: the body has filled `out` by
// the time this runs, whatever order the arguments were evaluated in.
result<command> done(std::optional<error> e, const command& out) {
  if (e) return std::move(*e);
  return out;
}

result<command> no_args(const ctx& c, const args_t& a, kind k) {
  if (a.size() != 0) return c.fail(fmt::format("it takes no arguments but got {}", a.size()));
  command out;
  out.k = k;
  return out;
}

result<command> parse_error(std::string_view msg, std::string_view rest, const args_t& a) {
  ctx c{msg, "error", "`< error CLASS SEC.USEC [DATA] >` for an error frame"};
  command out;
  // An error frame when the first two fields are a hex class and a timestamp;
  // otherwise the server's text.
  if (a.size() >= 2 && hex_value(a[0], 8) && time_value(a[1])) {
    out.k = kind::frame;
    auto v = *hex_value(a[0], 8);
    if (v & ~(CAN_ERR_FLAG | CAN_ERR_MASK))
      return c.fail(fmt::format("error class {} has bits above the 29 class bits", a[0]));
    out.f.id = CAN_ERR_FLAG | (v & CAN_ERR_MASK);
    out.time = *time_value(a[1]);
    auto n = c.data(a, 2, true, out.f);
    if (!n) return n.err();
    if (*n > CAN_MAX_DLEN) return c.fail(fmt::format("{} data bytes; an error frame carries 0-8", *n));
    out.f.len = static_cast<std::uint8_t>(*n);
    return out;
  }
  out.k = kind::error;
  out.text = std::string(rest);
  return out;
}

}  // namespace

result<command> parse(std::string_view message) {
  for (std::size_t i = 0; i < message.size(); ++i) {
    auto u = static_cast<unsigned char>(message[i]);
    if ((u < 0x20 && !is_space(message[i])) || u >= 0x7F)
      return bad(message, fmt::format("byte 0x{:02X} at offset {}; socketcand messages are printable ASCII", u, i));
  }
  message = trim(message);
  if (message.empty()) return bad(message, "empty message; write `< COMMAND ARGS... >`, e.g. `< echo >`");

  std::size_t sp = 0;
  while (sp < message.size() && !is_space(message[sp])) ++sp;
  std::string_view word = message.substr(0, sp);
  std::string_view rest = trim(message.substr(sp));
  args_t a = split(rest);

  if (word == "error") return parse_error(message, rest, a);
  if (a.overflow)
    return bad(message, fmt::format("{}: more than {} fields; no socketcand message has that many", word, max_args));

  command out;
  if (word == "send" || word == "sendfd" || word == "fdsend") {
    bool flags = word == "fdsend";
    lengths allowed = word == "send" ? lengths::classic_or_fd : lengths::fd;
    ctx c{message, word,
          flags                ? "`< fdsend ID FLAGS LEN B0 ... >`"
          : word == "sendfd" ? "`< sendfd ID LEN B0 ... >`"
                             : "`< send ID DLC B0 ... >` with DLC bytes"};
    out.k = kind::send;
    return done(send_body(c, a, 0, flags, allowed, out.f), out);
  }
  if (word == "frame") {
    ctx c{message, word, "`< frame ID SEC.USEC DATA >`"};
    if (a.size() < 2)
      return c.fail(fmt::format("{} field{} where ID and SEC.USEC are needed", a.size(), plural(a.size())));
    out.k = kind::frame;
    return done(frame_body(c, a, 0, 1, lengths::classic_or_fd, out), out);
  }
  if (word == "fdframe") {
    ctx c{message, word, "`< fdframe ID FLAGS SEC.USEC DATA >`"};
    out.k = kind::frame;
    if (a.size() >= 2 && time_value(a[1]))  // Hartkopp's rawmode-canfd: no flags
      return done(frame_body(c, a, 0, 1, lengths::fd, out), out);
    if (a.size() < 3 || !time_value(a[2]))
      return c.fail("no SEC.USEC timestamp as its 2nd or 3rd field");
    auto flags = hex_value(a[1], 2);
    if (!flags) return c.fail(fmt::format("FLAGS '{}' is not 1-2 hex digits (1 = BRS, 2 = ESI)", a[1]));
    out.f.fd_flags = static_cast<std::uint8_t>(*flags & (CANFD_BRS | CANFD_ESI));
    return done(frame_body(c, a, 0, 2, lengths::fd, out), out);
  }
  if (word == "sendrtr" || word == "rtr") {
    bool rx = word == "rtr";
    ctx c{message, word, rx ? "`< rtr ID SEC.USEC [DLC] >`" : "`< sendrtr ID [DLC] >`"};
    std::size_t fixed = rx ? 2 : 1;
    if (a.size() < fixed || a.size() > fixed + 1)
      return c.fail(fmt::format("{} field{}", a.size(), plural(a.size())));
    auto id = c.id(a[0]);
    if (!id) return id.err();
    out.k = rx ? kind::frame : kind::send;
    out.f.id = *id | CAN_RTR_FLAG;
    if (rx) {
      auto t = c.time(a[1]);
      if (!t) return t.err();
      out.time = *t;
    }
    if (a.size() == fixed + 1) {
      auto dlc = c.length(a[fixed], "DLC");
      if (!dlc) return dlc.err();
      if (*dlc > CAN_MAX_DLEN) return c.fail(fmt::format("DLC {} is over 8", *dlc));
      out.f.len = *dlc;
    }
    return out;
  }
  if (word == "add" || word == "filter") {
    ctx c{message, word,
          word == "add" ? "`< add SEC USEC ID DLC B0 ... >`" : "`< filter SEC USEC ID DLC B0 ... >`"};
    if (a.size() < 2) return c.fail(fmt::format("{} field{}", a.size(), plural(a.size())));
    auto t = c.interval(a[0], a[1]);
    if (!t) return t.err();
    out.k = word == "add" ? kind::add : kind::filter;
    out.time = *t;
    return done(send_body(c, a, 2, false, lengths::classic, out.f), out);
  }
  if (word == "update") {
    ctx c{message, word, "`< update ID DLC B0 ... >`"};
    out.k = kind::update;
    return done(send_body(c, a, 0, false, lengths::classic, out.f), out);
  }
  if (word == "delete" || word == "unsubscribe" || word == "subscribe") {
    bool timed = word == "subscribe";
    ctx c{message, word,
          timed                 ? "`< subscribe SEC USEC ID >`"
          : word == "delete" ? "`< delete ID >`"
                             : "`< unsubscribe ID >`"};
    std::size_t want = timed ? 3 : 1;
    if (a.size() != want)
      return c.fail(fmt::format("{} field{} where {} are needed", a.size(), plural(a.size()), want));
    if (timed) {
      auto t = c.interval(a[0], a[1]);
      if (!t) return t.err();
      out.time = *t;
    }
    auto id = c.id(a[want - 1]);
    if (!id) return id.err();
    out.f.id = *id;
    out.k = timed ? kind::subscribe : word == "delete" ? kind::del : kind::unsubscribe;
    return out;
  }
  if (word == "statistics") {
    ctx c{message, word, "`< statistics MS >` (0 turns them off)"};
    if (a.size() != 1) return c.fail(fmt::format("{} fields where 1 is needed", a.size()));
    auto ms = dec_value<std::uint32_t>(a[0], 10);
    if (!ms) return c.fail(fmt::format("interval '{}' is not a decimal number of milliseconds", a[0]));
    out.k = kind::statistics;
    out.ms = *ms;
    return out;
  }
  if (word == "stat") {
    ctx c{message, word, "`< stat RXBYTES RXPACKETS TXBYTES TXPACKETS [DROPPED] >`"};
    if (a.size() != 4 && a.size() != 5)
      return c.fail(fmt::format("{} field{} where 4 or 5 are needed", a.size(), plural(a.size())));
    std::uint64_t* fields[] = {&out.stats.rx_bytes, &out.stats.rx_packets, &out.stats.tx_bytes, &out.stats.tx_packets};
    for (std::size_t i = 0; i < a.size(); ++i) {
      auto v = dec_value<std::uint64_t>(a[i], 20);
      if (!v) return c.fail(fmt::format("counter '{}' is not a decimal number", a[i]));
      if (i < 4) *fields[i] = *v;
      else out.stats.dropped = *v;
    }
    out.k = kind::stat;
    return out;
  }
  if (word == "open") {
    ctx c{message, word, "`< open BUS >`"};
    if (a.size() != 1) return c.fail(fmt::format("{} fields where 1 (the bus name) is needed", a.size()));
    auto bus = a[0];
    if (bus.size() >= ifnamsiz || bus == "." || bus == ".." || bus.find_first_of("/:") != std::string_view::npos)
      return c.fail(fmt::format("'{}' is not an interface name (1-15 characters, no '/' or ':')", bus));
    out.k = kind::open;
    out.text = std::string(bus);
    return out;
  }
  struct simple {
    std::string_view word;
    kind k;
  };
  static constexpr simple simples[] = {{"hi", kind::hi},           {"ok", kind::ok},
                                       {"echo", kind::echo},       {"rawmode", kind::rawmode},
                                       {"bcmmode", kind::bcmmode}, {"controlmode", kind::controlmode},
                                       {"isotpmode", kind::isotpmode}};
  for (const auto& s : simples) {
    if (word != s.word) continue;
    std::string usage = fmt::format("`< {} >`", word);
    return no_args(ctx{message, word, usage}, a, s.k);
  }

  return error{make_error_code(errc::unsupported),
               fmt::format("unknown socketcand command '{}' in '{}'; known are open, rawmode, bcmmode, controlmode, "
                           "isotpmode, echo, send, sendfd, fdsend, sendrtr, add, update, delete, filter, subscribe, "
                           "unsubscribe, statistics, hi, ok, error, frame, fdframe, rtr, stat",
                           printable(word), quoted(message))};
}

}  // namespace anysock::can::socketcand
