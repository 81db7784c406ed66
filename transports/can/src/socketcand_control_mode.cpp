// Control mode: `< statistics MS >` makes the server send the interface's
// counters every MS milliseconds (upstream reads them from /proc/net/dev; the
// same counters are in sysfs, one file each), plus our fifth field: frames
// dropped on the bus for slow clients.
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "socketcand_session.hpp"

namespace anysock::can::socketcand::detail {

namespace {

result<std::uint64_t> read_counter(const std::string& path) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  if (!(in >> v))
    return error{std::error_code(errno ? errno : EIO, std::generic_category()),
                 fmt::format("cannot read {}: {}", path, std::strerror(errno ? errno : EIO))};
  return v;
}

}  // namespace

void client::on_control(const command& c, std::string_view message) {
  if (c.k != kind::statistics) {
    refuse(message, fmt::format("{} is not a command of control mode (statistics MS, echo)", name(c.k)));
    return;
  }
  if (c.ms != 0 && std::chrono::milliseconds(c.ms) < min_statistics) {
    refuse(message, fmt::format("statistics {}: the least interval here is {} ms (0 turns them off)", c.ms,
                                min_statistics.count()));
    return;
  }
  stats_ms_ = c.ms;
  if (stats_ms_ == 0) {
    stats_timer_.cancel();
    return;
  }
  arm_statistics();
}

// Re-arming cancels the wait before: a new interval starts now.
void client::arm_statistics() {
  stats_timer_.expires_after(std::chrono::milliseconds(stats_ms_));
  stats_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->closed_ || self->mode_ != mode::control || self->stats_ms_ == 0) return;
    self->send_statistics();
    if (self->stats_ms_ != 0) self->arm_statistics();
  });
}

void client::send_statistics() {
  statistics s;
  std::uint64_t* fields[] = {&s.rx_bytes, &s.rx_packets, &s.tx_bytes, &s.tx_packets};
  const char* names[] = {"rx_bytes", "rx_packets", "tx_bytes", "tx_packets"};
  for (int i = 0; i < 4; ++i) {
    auto v = read_counter(stats_path_ + names[i]);
    if (!v) {
      refuse("statistics", v.err().message, fmt::format("cannot read the counters of {}; statistics stopped", bus_));
      stats_ms_ = 0;
      return;
    }
    *fields[i] = *v;
  }
  s.dropped = bus_dropped_->load(std::memory_order_relaxed);
  std::string text;
  append_stat(text, s);
  say(text);
}

}  // namespace anysock::can::socketcand::detail
