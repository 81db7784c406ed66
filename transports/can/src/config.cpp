#include "anysock/can/config.hpp"

#include <linux/can/raw.h>

#include <bit>
#include <bitset>
#include <charconv>
#include <fmt/format.h>
#include <optional>

namespace anysock::can {
namespace {

error bad(const uri& u, std::string what) {
  return {make_error_code(errc::bad_option), fmt::format("bad option in '{}': {}", u.text, what)};
}

constexpr canid_t sff_mask_bits = CAN_SFF_MASK | CAN_EFF_FLAG;  // SFF filters must not pass EFF frames
constexpr canid_t eff_mask_bits = CAN_EFF_MASK | CAN_EFF_FLAG;

std::string id_text(canid_t id) {
  return id & CAN_EFF_FLAG ? fmt::format("{:08X}", id & CAN_EFF_MASK) : fmt::format("{:03X}", id);
}

result<id_filter> parse_filter(const uri& u, std::string_view item) {
  auto sep = item.find_first_of(":~");
  auto id = parse_id(u, "rx", item.substr(0, sep));
  if (!id) return id.err();
  id_filter f;
  f.id = *id;
  const bool ext = (*id & CAN_EFF_FLAG) != 0;
  f.mask = ext ? eff_mask_bits : sff_mask_bits;
  if (sep != std::string_view::npos) {
    f.inverted = item[sep] == '~';
    auto mask_text = item.substr(sep + 1);
    unsigned long mask = 0;
    auto [p, ec] = std::from_chars(mask_text.data(), mask_text.data() + mask_text.size(), mask, 16);
    if (ec != std::errc{} || p != mask_text.data() + mask_text.size() || mask_text.empty() ||
        mask > (ext ? CAN_EFF_MASK : CAN_SFF_MASK))
      return bad(u, fmt::format("rx mask '{}' must be hex up to {}", mask_text, ext ? "1FFFFFFF" : "7FF"));
    f.mask = static_cast<canid_t>(mask) | CAN_EFF_FLAG;
  }
  f.id &= f.mask | CAN_EFF_FLAG;
  return f;
}

}  // namespace

result<canid_t> parse_id(const uri& u, std::string_view key, std::string_view text) {
  unsigned long v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size())
    return bad(u, fmt::format("{}='{}' is not a hex CAN ID (e.g. {}=7E0, or 18DAF110 for 29-bit)", key, text, key));
  if (v > CAN_EFF_MASK)
    return bad(u, fmt::format("{}={} does not fit 29 bits (the largest CAN ID is 1FFFFFFF)", key, text));
  if (text.size() == 8 || v > CAN_SFF_MASK) return static_cast<canid_t>(v) | CAN_EFF_FLAG;
  if (text.size() > 3)
    return bad(u, fmt::format("{}={}: write 11-bit IDs with up to 3 digits and 29-bit IDs with 8", key, text));
  return static_cast<canid_t>(v);
}

canid_t raw_config::reply_id(canid_t request) const {
  if (!tx_is_offset) return tx_id;
  const bool ext = request & CAN_EFF_FLAG;
  const canid_t mask = ext ? CAN_EFF_MASK : CAN_SFF_MASK;
  auto id = static_cast<canid_t>((static_cast<std::int64_t>(request & mask) + tx_offset)) & mask;
  return ext ? id | CAN_EFF_FLAG : id;
}

bool raw_config::is_request(canid_t frame_id) const {
  const canid_t plain = frame_id & (CAN_EFF_FLAG | CAN_EFF_MASK);
  for (const auto& f : rx)
    if (f.matches(plain)) return true;
  return false;
}

namespace {

// parse_raw and parse_raw_bridge: the same syntax, other defaults.
result<raw_config> parse_raw_with(const uri& u, std::optional<std::string_view> rx_default,
                                  std::optional<std::string_view> tx_default) {
  if (auto ok = check_options(u, {"rx", "tx", "fd", "err"}); !ok) return ok.err();
  raw_config c;
  c.interface_name = u.authority;
  if (!u.option("rx") && !rx_default) c.rx.push_back(id_filter{0, 0, false});  // every frame
  std::string_view rx = u.option("rx") ? *u.option("rx") : rx_default.value_or("");
  while (!rx.empty()) {
    auto comma = rx.find(',');
    auto f = parse_filter(u, rx.substr(0, comma));
    if (!f) return f.err();
    c.rx.push_back(*f);
    rx = comma == std::string_view::npos ? std::string_view{} : rx.substr(comma + 1);
  }
  if (c.rx.empty()) return bad(u, "rx= needs at least one ID, e.g. rx=7E0");
  if (c.rx.size() > CAN_RAW_FILTER_MAX)
    return bad(u, fmt::format("rx= lists {} filters; a CAN socket takes at most {}: merge IDs with a mask "
                              "(rx=100:700 takes 100-1FF)",
                              c.rx.size(), CAN_RAW_FILTER_MAX));
  auto tx_option = u.option("tx");
  if (!tx_option && !tx_default) {
    c.tx_is_offset = true;  // an offset of 0: every ID kept
  } else if (std::string_view tx = tx_option ? *tx_option : *tx_default;
             !tx.empty() && (tx.front() == '+' || tx.front() == '-')) {
    long off = 0;
    auto digits = tx.substr(1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), off, 16);
    if (digits.empty() || ec != std::errc{} || p != digits.data() + digits.size() || off == 0 || off > 0x1FFFFFFF)
      return bad(u, fmt::format("tx={} must be a non-zero hex offset such as tx=+8", tx));
    c.tx_is_offset = true;
    c.tx_offset = tx.front() == '-' ? -off : off;
  } else {
    auto id = parse_id(u, "tx", tx);
    if (!id) return id.err();
    c.tx_id = *id;
  }
  auto fd = bool_option(u, "fd", false);
  if (!fd) return fd.err();
  auto err = bool_option(u, "err", false);
  if (!err) return err.err();
  c.fd = *fd;
  c.errors = *err;
  return c;
}

}  // namespace

result<raw_config> parse_raw(const uri& u) { return parse_raw_with(u, "7E0", "7E8"); }

result<raw_config> parse_raw_bridge(const uri& u) { return parse_raw_with(u, std::nullopt, std::nullopt); }

result<void> check_storm_safe(const uri& u, const raw_config& c) {
  auto refuse = [&](canid_t request) {
    return bad(u, fmt::format("a reply to request {} would go out as {}, which the request filter also takes: "
                              "two responders (or one hearing another's replies) would answer each other "
                              "forever; pick a tx= outside rx=",
                              id_text(request), id_text(c.reply_id(request))));
  };
  if (!c.tx_is_offset) {
    if (c.is_request(c.tx_id)) return refuse(c.rx.front().id);
    return {};
  }
  // An offset maps each request differently: try every request the filters
  // can pass, where that is a countable set: every 11-bit ID once (a table
  // of which are requests), and the open IDs of the 29-bit filters.
  std::bitset<CAN_SFF_MASK + 1> sff_request;
  for (canid_t id = 0; id <= CAN_SFF_MASK; ++id) sff_request[id] = c.is_request(id);
  const auto reply_is_request = [&](canid_t request) {
    const canid_t reply = c.reply_id(request);
    return reply & CAN_EFF_FLAG ? c.is_request(reply) : sff_request[reply];
  };
  // Bounded together, or many filters would each cost 2^16 walks of every filter.
  constexpr std::uint64_t max_open_29_bit = std::uint64_t{1} << 16;
  std::uint64_t open_29_bit = 0;
  for (const auto& f : c.rx) {
    const bool ext = f.id & CAN_EFF_FLAG;
    // An inverted 11-bit filter also takes every 29-bit frame (the EFF flag is in its mask, and
    // differs), and a 29-bit request's reply is 29-bit too: taken again.
    if (f.inverted && !ext && f.matches(CAN_EFF_FLAG | f.id))
      return bad(u, fmt::format("with tx=+offset, the inverted rx filter {} also takes every 29-bit frame, and "
                                "their replies too; use a fixed tx= or a filter that is not inverted",
                                id_text(f.id)));
    if (!ext) continue;  // its IDs are in sff_request, walked below
    if (f.inverted)
      return bad(u, "with tx=+offset, 29-bit rx filters must not be inverted (the responder could not prove no "
                    "reply is also a request); use a fixed tx=");
    const canid_t free_bits = CAN_EFF_MASK & ~f.mask;
    open_29_bit += std::uint64_t{1} << std::popcount(free_bits);
    if (open_29_bit > max_open_29_bit)
      return bad(u, "with tx=+offset, 29-bit rx filters together must leave at most 65536 IDs open (16 ID bits) so "
                    "the responder can prove no reply is also a request; narrow their masks or use a fixed tx=");
    // Walk every value of the open bits.
    canid_t sub = 0;
    do {
      canid_t id = (f.id & f.mask & CAN_EFF_MASK) | sub | CAN_EFF_FLAG;
      if (reply_is_request(id)) return refuse(id);
      sub = (sub - free_bits) & free_bits;
    } while (sub != 0);
  }
  for (canid_t id = 0; id <= CAN_SFF_MASK; ++id)
    if (sff_request[id] && reply_is_request(id)) return refuse(id);
  return {};
}

result<isotp_config> parse_isotp(const uri& u) {
  if (auto ok = check_options(u, {"rx", "tx", "fd", "pad", "bs", "stmin", "ext"}); !ok) return ok.err();
  isotp_config c;
  c.interface_name = u.authority;
  auto rx = parse_id(u, "rx", u.option("rx").value_or("7E0"));
  if (!rx) return rx.err();
  auto tx = parse_id(u, "tx", u.option("tx").value_or("7E8"));
  if (!tx) return tx.err();
  if (*rx == *tx) return bad(u, "rx and tx must differ: ISO-TP sends on tx and listens on rx");
  c.rx_id = *rx;
  c.tx_id = *tx;
  auto fd = bool_option(u, "fd", false);
  if (!fd) return fd.err();
  c.fd = *fd;
  if (auto pad = u.option("pad")) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(pad->data(), pad->data() + pad->size(), v, 16);
    if (pad->empty() || ec != std::errc{} || p != pad->data() + pad->size() || v > 0xFF)
      return bad(u, fmt::format("pad={} must be one hex byte, e.g. pad=AA or pad=00", *pad));
    c.padding = static_cast<int>(v);
  }
  auto bs = uint_option(u, "bs", 0, 0, 255);
  if (!bs) return bs.err();
  auto stmin = uint_option(u, "stmin", 0, 0, 255);
  if (!stmin) return stmin.err();
  c.block_size = static_cast<std::uint8_t>(*bs);
  c.stmin = static_cast<std::uint8_t>(*stmin);
  if (auto ext = u.option("ext")) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(ext->data(), ext->data() + ext->size(), v, 16);
    if (ext->empty() || ec != std::errc{} || p != ext->data() + ext->size() || v > 0xFF)
      return bad(u, fmt::format("ext={} must be one hex byte (the extended address)", *ext));
    c.ext_address = static_cast<int>(v);
  }
  return c;
}

}  // namespace anysock::can
