#include "anysock/bridge.hpp"

#include <boost/asio/error.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace anysock {

result<void> check_bridgeable(const uri& a, message_kind ka, const uri& b, message_kind kb) {
  if ((ka == message_kind::frames) == (kb == message_kind::frames)) return {};
  const uri& f = ka == message_kind::frames ? a : b;
  const uri& o = ka == message_kind::frames ? b : a;
  const message_kind ko = ka == message_kind::frames ? kb : ka;
  return error{make_error_code(errc::unsupported),
               fmt::format("cannot bridge {} and {}: {} carries CAN frames, {} {}, which has no place for a "
                           "frame's ID and flags; bridge frames to frames (can://vcan0 to can://vcan1)",
                           a.text, b.text, f.text, o.text,
                           ko == message_kind::messages ? "carries ISO-TP messages" : "is a byte stream")};
}

namespace detail {

std::size_t stream_read_size(std::size_t destination_max_message) {
  // 16 KiB a read: a few segments at once, and two per bridged link (one
  // each way) rather than the echo's 128 B, since a bridge holds a message
  // while the other side takes it.
  constexpr std::size_t stream_chunk = 16 * 1024;
  return destination_max_message == 0 ? stream_chunk : std::min(stream_chunk, destination_max_message);
}

}  // namespace detail

void drop_log::dropped(const session& s, const std::string& destination, std::string_view why,
                       bridge_way_stats& stats) {
  ++stats.dropped;
  ++unsaid_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_said_ < std::chrono::seconds(1)) return;
  spdlog::warn("{}: dropped {} message{} for {}: {} ({} dropped on this link so far)", s.endpoint(), unsaid_,
               unsaid_ == 1 ? "" : "s", destination, why, stats.dropped);
  last_said_ = now;
  unsaid_ = 0;
}

void log_bridge_end(const session& s, const std::string& target, const bridge_way_stats& to_b,
                    const bridge_way_stats& to_a) {
  spdlog::info("{}: bridge of {} and {} ends: {} messages ({} bytes) to {}, {} messages ({} bytes) back, "
               "dropped {}",
               s.endpoint(), s.peer(), target, to_b.messages, to_b.bytes, target, to_a.messages, to_a.bytes,
               to_b.dropped + to_a.dropped);
}

std::string describe_end(const boost::system::error_code& why) {
  if (why == boost::asio::error::eof) return "closed by peer";
  if (why == boost::asio::error::connection_reset) return "reset by peer";
  if (why == boost::asio::error::operation_aborted) return "closed";
  return why.message();
}

}  // namespace anysock
