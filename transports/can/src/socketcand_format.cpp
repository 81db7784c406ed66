// Writing socketcand messages: byte-exact with what upstream prints, because
// clients such as python-can split on single spaces rather than parse.
#include <algorithm>
#include <charconv>

#include "anysock/can/socketcand.hpp"

namespace anysock::can::socketcand {
namespace {

constexpr char hex_digits[] = "0123456789ABCDEF";

// `%0*X`: at least `width` digits.
void put_hex(std::string& out, std::uint32_t v, int width) {
  char buf[8];
  int n = 0;
  do {
    buf[n++] = hex_digits[v & 0xF];
    v >>= 4;
  } while (v != 0 && n < 8);
  while (n < width && n < 8) buf[n++] = '0';
  while (n > 0) out += buf[--n];
}

void put_byte(std::string& out, std::uint8_t b) {
  out += hex_digits[b >> 4];
  out += hex_digits[b & 0xF];
}

void put_dec(std::string& out, std::uint64_t v) {
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 20 digits always fit a 64-bit value
  out.append(buf, end);
}

timestamp normalized(timestamp t) { return {t.sec + t.usec / 1000000, t.usec % 1000000}; }

void put_time(std::string& out, timestamp t) {
  t = normalized(t);
  put_dec(out, t.sec);
  out += '.';
  char buf[6];
  for (int i = 5; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + t.usec % 10);
    t.usec /= 10;
  }
  out.append(buf, sizeof buf);
}

void put_id(std::string& out, const frame& f) {
  if (f.extended())
    put_hex(out, f.id & CAN_EFF_MASK, 8);
  else
    put_hex(out, f.id & CAN_SFF_MASK, 3);
}

// The bytes a frame of its kind can carry: 8 classic, the largest FD length
// not above len for FD, so what we write always reads back.
std::size_t data_len(const frame& f) {
  if (!f.fd || f.error() || f.remote()) return std::min<std::size_t>(f.len, CAN_MAX_DLEN);
  std::size_t n = std::min<std::size_t>(f.len, CANFD_MAX_DLEN);
  while (!valid_fd_length(n)) --n;
  return n;
}

void put_run(std::string& out, const frame& f, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) put_byte(out, f.data[i]);
}

// ` B0 B1 ...`: a space before every byte.
void put_spaced(std::string& out, const frame& f, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    out += ' ';
    put_byte(out, f.data[i]);
  }
}

void put_rtr(std::string& out, const frame& f, timestamp t) {
  out += "< rtr ";
  put_id(out, f);
  out += ' ';
  put_time(out, t);
  if (std::size_t n = data_len(f)) {
    out += ' ';
    put_dec(out, n);
  }
  out += " >";
}

void put_fd_head(std::string& out, const frame& f, timestamp t) {
  out += "< fdframe ";
  put_id(out, f);
  out += ' ';
  put_byte(out, static_cast<std::uint8_t>(f.fd_flags & (CANFD_BRS | CANFD_ESI)));
  out += ' ';
  put_time(out, t);
}

// Token-safe text: nothing that ends a message, splits a field or a log line.
void put_text(std::string& out, std::string_view text, bool allow_spaces) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool ok = u > 0x20 && u < 0x7F && c != '<' && c != '>';
    out += ok || (allow_spaces && c == ' ') ? c : '?';
  }
}

// `ID DLC B0 ...` of the BCM job commands.
void put_job(std::string& out, const frame& f) {
  put_id(out, f);
  out += ' ';
  std::size_t n = std::min<std::size_t>(f.len, CAN_MAX_DLEN);
  put_dec(out, n);
  put_spaced(out, f, n);
}

void put_interval(std::string& out, timestamp t) {
  t = normalized(t);
  put_dec(out, t.sec);
  out += ' ';
  put_dec(out, t.usec);
  out += ' ';
}

}  // namespace

std::string_view name(kind k) {
  switch (k) {
    case kind::open: return "open";
    case kind::rawmode: return "rawmode";
    case kind::bcmmode: return "bcmmode";
    case kind::controlmode: return "controlmode";
    case kind::isotpmode: return "isotpmode";
    case kind::echo: return "echo";
    case kind::send: return "send";
    case kind::add: return "add";
    case kind::update: return "update";
    case kind::del: return "delete";
    case kind::filter: return "filter";
    case kind::subscribe: return "subscribe";
    case kind::unsubscribe: return "unsubscribe";
    case kind::statistics: return "statistics";
    case kind::hi: return "hi";
    case kind::ok: return "ok";
    case kind::error: return "error";
    case kind::frame: return "frame";
    case kind::stat: return "stat";
  }
  return "unknown";
}

namespace {

// `< frame ID SEC.USEC` (or the FD head) and `< error CLASS SEC.USEC`.
void put_data_head(std::string& out, const frame& f, timestamp t) {
  if (f.fd) return put_fd_head(out, f, t);
  out += "< frame ";
  put_id(out, f);
  out += ' ';
  put_time(out, t);
}
void put_error_head(std::string& out, canid_t class_bits, timestamp t) {
  out += "< error ";
  put_hex(out, class_bits, 3);
  out += ' ';
  put_time(out, t);
}

}  // namespace

void append_frame_raw(std::string& out, const frame& f, timestamp t) {
  std::size_t n = data_len(f);
  if (f.error()) {  // upstream: `< error %03X SEC.USEC >`; we add the data
    put_error_head(out, f.id & CAN_ERR_MASK, t);
    if (n) {
      out += ' ';
      put_run(out, f, n);
    }
    out += " >";
    return;
  }
  if (f.remote()) return put_rtr(out, f, t);
  put_data_head(out, f, t);
  out += ' ';
  put_run(out, f, n);
  out += " >";  // so an empty frame ends in two spaces, as upstream's does
}

void append_frame_bcm(std::string& out, const frame& f, timestamp t) {
  std::size_t n = data_len(f);
  if (f.remote() && !f.error()) return put_rtr(out, f, t);
  if (f.error())  // upstream's BCM state prints the ID with CAN_ERR_FLAG
    put_error_head(out, f.id & (CAN_ERR_FLAG | CAN_ERR_MASK), t);
  else
    put_data_head(out, f, t);
  out += ' ';
  for (std::size_t i = 0; i < n; ++i) {  // upstream: "%02X " per byte, then " >"
    put_byte(out, f.data[i]);
    out += ' ';
  }
  out += " >";
}

bool append_send(std::string& out, const frame& f) {
  if (f.error()) return false;
  if (f.remote()) {
    out += "< sendrtr ";
    put_id(out, f);
    if (std::size_t n = data_len(f)) {
      out += ' ';
      put_dec(out, n);
    }
    out += " >";
    return true;
  }
  std::size_t n = data_len(f);
  if (f.fd) {
    out += "< fdsend ";
    put_id(out, f);
    out += ' ';
    put_byte(out, static_cast<std::uint8_t>(f.fd_flags & (CANFD_BRS | CANFD_ESI)));
  } else {
    out += "< send ";
    put_id(out, f);
  }
  out += ' ';
  put_dec(out, n);
  put_spaced(out, f, n);
  out += " >";
  return true;
}

void append_stat(std::string& out, const socketcand::statistics& s) {
  out += "< stat ";
  put_dec(out, s.rx_bytes);
  out += ' ';
  put_dec(out, s.rx_packets);
  out += ' ';
  put_dec(out, s.tx_bytes);
  out += ' ';
  put_dec(out, s.tx_packets);
  if (s.dropped) {
    out += ' ';
    put_dec(out, *s.dropped);
  }
  out += " >";
}

void append_error(std::string& out, std::string_view text) {
  out += "< error ";
  // Cut to what a framer keeps: a longer one would reach the peer as an overlong message, not as text.
  constexpr std::size_t room = max_message - std::string_view("< error  >").size();
  // Spaces at either end are not carried: a reader trims them.
  text = text.substr(0, room);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  put_text(out, text, true);
  out += " >";
}

bool append(std::string& out, const command& c) {
  switch (c.k) {
    case kind::open:
      out += "< open ";
      put_text(out, c.text, false);
      out += " >";
      return true;
    case kind::rawmode:
    case kind::bcmmode:
    case kind::controlmode:
    case kind::isotpmode:
    case kind::echo:
    case kind::hi:
    case kind::ok:
      out += "< ";
      out += name(c.k);
      out += " >";
      return true;
    case kind::send: return append_send(out, c.f);
    case kind::add:
    case kind::filter:
      out += c.k == kind::add ? "< add " : "< filter ";
      put_interval(out, c.time);
      put_job(out, c.f);
      out += " >";
      return true;
    case kind::update:
      out += "< update ";
      put_job(out, c.f);
      out += " >";
      return true;
    case kind::del:
    case kind::unsubscribe:
    case kind::subscribe:
      out += "< ";
      out += name(c.k);
      out += ' ';
      if (c.k == kind::subscribe) put_interval(out, c.time);
      put_id(out, c.f);
      out += " >";
      return true;
    case kind::statistics:
      out += "< statistics ";
      put_dec(out, c.ms);
      out += " >";
      return true;
    case kind::error: append_error(out, c.text); return true;
    case kind::frame: append_frame_raw(out, c.f, c.time); return true;
    case kind::stat: append_stat(out, c.stats); return true;
  }
  return false;
}

}  // namespace anysock::can::socketcand
