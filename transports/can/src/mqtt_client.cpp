#include "anysock/can/mqtt_client.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace anysock::can::mqtt {
namespace {

constexpr int max_in_flight = 20;        // qos=1: libmosquitto's own default send quota
constexpr int reads_per_turn = 64;       // packets read before other handlers get a turn
constexpr auto quick_loss = std::chrono::seconds(5);
constexpr std::string_view online = "online", offline = "offline";

std::string describe(int rc, int saved_errno) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(saved_errno);
  if (rc >= 128) return mosquitto_reason_string(rc);
  return mosquitto_strerror(rc);
}

}  // namespace

result<std::shared_ptr<client>> client::create(bus_config c, asio::any_io_executor ex) {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  struct mosquitto* m = mosquitto_new(c.node.c_str(), true, nullptr);
  if (!m)
    return error{std::error_code(errno, std::generic_category()),
                 fmt::format("cannot make an MQTT client for node '{}': {}", c.node, std::strerror(errno))};
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, c.version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);  // frames are small; an echo's round trip is the measure
  const std::string status = c.status_topic();
  mosquitto_will_set_v5(m, status.c_str(), static_cast<int>(offline.size()), offline.data(), 1, true, nullptr);
  mosquitto_connect_v5_callback_set(m, &client::on_connect);
  mosquitto_disconnect_v5_callback_set(m, &client::on_disconnect);
  mosquitto_message_v5_callback_set(m, &client::on_message);
  mosquitto_publish_v5_callback_set(m, &client::on_publish);
  mosquitto_subscribe_v5_callback_set(m, &client::on_subscribe);
  return std::shared_ptr<client>(new client(std::move(c), std::move(ex), m));
}

client::client(bus_config c, asio::any_io_executor ex, struct mosquitto* m)
    : arrived(ex, asio::steady_timer::time_point::max()), room(ex, asio::steady_timer::time_point::max()),
      config_(std::move(c)),
      name_(fmt::format("mqtt bus {} at {} as node {}", config_.bus, config_.broker(), config_.node)),
      frame_topic_(config_.frame_topic()), status_topic_(config_.status_topic()),
      frame_prefix_(config_.bus + "/f/"), ex_(ex), mosq_(m), socket_(ex), misc_(ex), connack_(ex), retry_(ex),
      resolver_(ex), batch_(frame_topic_, config_.version == 5) {
  mosquitto_user_data_set(mosq_, this);
  if (config_.qos == 1 && config_.version == 5)
    mosquitto_property_add_int32(&expiry_, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, config_.expiry);
}

client::~client() {
  mosquitto_property_free_all(&expiry_);
  if (!mosq_) return;  // moved_to took it
  detach();
  mosquitto_destroy(mosq_);  // closes its socket
}

std::shared_ptr<client> client::moved_to(const asio::any_io_executor& ex) {
  std::shared_ptr<client> n(new client(config_, ex, mosq_));
  n->connected_ = connected_;
  n->connected_at_ = connected_at_;
  n->rx_ = std::move(rx_);
  n->counters_ = counters_;
  mosq_ = nullptr;
  closing_ = true;
  if (socket_.is_open()) socket_.release();
  ++generation_;
  if (n->connected_) n->attach();
  return n;
}

asio::awaitable<result<void>> client::connect(std::chrono::seconds timeout) {
  auto self = shared_from_this();
  co_return co_await connect_once(timeout);
}

asio::awaitable<result<void>> client::connect_once(std::chrono::seconds timeout) {
  using asio::as_tuple;
  using asio::use_awaitable;
  auto [rec, found] =
      co_await resolver_.async_resolve(config_.host, std::to_string(config_.port), as_tuple(use_awaitable));
  if (rec)
    co_return error{rec, fmt::format("{}: cannot resolve the broker's host '{}': {}", name_, config_.host,
                                     rec.message())};
  std::string why;
  std::error_code code = make_error_code(std::errc::connection_refused);
  for (const auto& entry : found) {
    if (closing_) break;
    const std::string address = entry.endpoint().address().to_string();
    connack_rc_ = -1;
    lost_why_.clear();
    errno = 0;
    // A numeric address: libmosquitto's getaddrinfo then returns at once.
    const int rc = mosquitto_connect_bind_async(mosq_, address.c_str(), config_.port, config_.keepalive, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      why = describe(rc, errno);
      continue;
    }
    attach();
    connack_.expires_after(timeout);
    co_await connack_.async_wait(as_tuple(use_awaitable));
    if (connack_rc_ == 0) {
      connected_ = true;
      connected_at_ = std::chrono::steady_clock::now();
      // No Local: a 5 broker never sends this node its own frames back; a
      // 3.1.1 one does, and deliver() drops them by topic.
      mosquitto_subscribe_v5(mosq_, nullptr, config_.subscription().c_str(), config_.qos,
                             config_.version == 5 ? MQTT_SUB_OPT_NO_LOCAL : 0, nullptr);
      mosquitto_publish_v5(mosq_, nullptr, status_topic_.c_str(), static_cast<int>(online.size()), online.data(), 1,
                           true, nullptr);
      if (mosquitto_want_write(mosq_)) wait_writable();
      co_return result<void>{};
    }
    detach();
    if (connack_rc_ > 0) {
      const std::string reason =
          config_.version == 5 ? mosquitto_reason_string(connack_rc_) : mosquitto_connack_string(connack_rc_);
      co_return error{make_error_code(std::errc::connection_refused),
                      fmt::format("{}: the broker refused the connection: {}{}", name_, reason,
                                  connack_rc_ == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION || connack_rc_ == 1
                                      ? " (try version=3.1.1)"
                                      : "")};
    }
    mosquitto_disconnect(mosq_);
    if (!lost_why_.empty()) {
      why = lost_why_;
    } else {
      why = fmt::format("no CONNACK within {} s: is {} an MQTT broker?", timeout.count(), config_.broker());
      code = make_error_code(errc::timed_out);
    }
  }
  if (closing_) co_return error{std::make_error_code(std::errc::operation_canceled), fmt::format("{}: closed", name_)};
  co_return error{code, fmt::format("{}: cannot reach the broker: {}", name_, why)};
}

void client::attach() {
  error_code ec;
  if (socket_.is_open()) socket_.release();
  ++generation_;
  reading_ = writing_ = false;
  socket_.assign(mosquitto_socket(mosq_), ec);
  if (ec) {
    spdlog::error("{}: cannot watch the broker's socket: {}", name_, ec.message());
    return;
  }
  wait_readable();
  if (mosquitto_want_write(mosq_)) wait_writable();
  if (!ticking_) {
    ticking_ = true;
    misc_.expires_after(std::chrono::seconds(1));
    misc_.async_wait([self = shared_from_this()](error_code) { self->tick(); });
  }
}

void client::detach() {
  if (socket_.is_open()) socket_.release();  // the library closes its own socket
  ++generation_;
  reading_ = writing_ = false;
}

// Epoll watches the socket edge-triggered: each wait is armed before the
// socket is read dry, so data that lands in between still wakes it.
void client::wait_readable() {
  if (reading_ || !socket_.is_open()) return;
  reading_ = true;
  socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this(), g = generation_](error_code ec) {
                       if (g != self->generation_) return;
                       self->reading_ = false;
                       if (!ec) self->on_readable();
                     });
}

void client::wait_writable() {
  if (writing_ || !socket_.is_open()) return;
  writing_ = true;
  socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                     [self = shared_from_this(), g = generation_](error_code ec) {
                       if (g != self->generation_) return;
                       self->writing_ = false;
                       if (ec) return;
                       const unsigned now = self->generation_;
                       if (mosquitto_want_write(self->mosq_)) {
                         self->wait_writable();
                         mosquitto_loop_write(self->mosq_, 1);
                         if (now != self->generation_) return;  // lost: on_disconnect ran
                       }
                       self->write_batch();
                       self->flush();
                     });
}

void client::on_readable() {
  wait_readable();
  const unsigned g = generation_;
  int i = 0;
  for (; i < reads_per_turn; ++i) {
    errno = 0;
    const int rc = mosquitto_loop_read(mosq_, 1);
    if (g != generation_) return;  // lost: on_disconnect ran
    if (rc != MOSQ_ERR_SUCCESS) return;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
  }
  if (i == reads_per_turn) asio::post(ex_, [self = shared_from_this(), g] {
      if (g == self->generation_) self->on_readable();
    });
  if (!rx_.empty()) arrived.cancel();
  flush();
  if (mosquitto_want_write(mosq_)) wait_writable();
}

void client::tick() {
  ticking_ = false;
  if (closing_ || !mosq_ || !socket_.is_open()) return;
  // Keepalive: PINGREQ, and the loss of a broker that went silent; not into
  // a batch written in part (the next tick does it).
  if (batch_.empty()) mosquitto_loop_misc(mosq_);
  if (!socket_.is_open()) return;
  if (mosquitto_want_write(mosq_)) wait_writable();
  ticking_ = true;
  misc_.expires_after(std::chrono::seconds(1));
  misc_.async_wait([self = shared_from_this()](error_code) { self->tick(); });
}

std::optional<payload> client::take() {
  if (rx_.empty()) return std::nullopt;
  payload p = std::move(rx_.front());
  rx_.pop_front();
  return p;
}

bool client::publish(std::string bytes) {
  if (!connected_) {
    ++counters_.offline_dropped;
    drop_log_.warn("{}: dropped a frame sent while the broker is unreachable ({} so far)", name_,
                   counters_.offline_dropped);
    return true;
  }
  if (config_.qos == 0) {
    if (!batch_.add(bytes)) return false;
    ++counters_.published;
    // What one handler's turn publishes goes in one write when it is over
    // (writing its first frame at once measured no faster at 1 in flight and
    // slower under load: bench/README.md, MQTT).
    if (!batch_posted_) {
      batch_posted_ = true;
      asio::post(ex_, [self = shared_from_this()] {
        self->batch_posted_ = false;
        self->write_batch();
      });
    }
    return true;
  }
  if (tx_.empty() && !mosquitto_want_write(mosq_) && in_flight_ < max_in_flight) {
    publish_now(bytes);
    return true;
  }
  if (tx_.size() >= tx_limit) return false;
  tx_.push_back(std::move(bytes));
  if (mosquitto_want_write(mosq_)) wait_writable();
  return true;
}

// The batch goes out once libmosquitto's own output is written whole.
void client::write_batch() {
  if (!connected_ || batch_.empty()) return;
  if (mosquitto_want_write(mosq_)) return wait_writable();
  const std::size_t before = batch_.waiting();
  if (!batch_.write_to(mosquitto_socket(mosq_)))
    return;  // the connection is going: the read that notices it reconnects and counts the batch
  if (!batch_.empty()) wait_writable();
  if (batch_.waiting() < before) room.cancel();
}

bool client::publish_now(const std::string& bytes) {
  const int rc = mosquitto_publish_v5(mosq_, nullptr, frame_topic_.c_str(), static_cast<int>(bytes.size()),
                                      bytes.data(), config_.qos, false, expiry_);
  if (rc != MOSQ_ERR_SUCCESS) {
    ++counters_.offline_dropped;  // the connection is going; the read that notices reconnects
    drop_log_.warn("{}: dropped a frame the broker connection could not take: {}", name_,
                   describe(rc, errno));
    return false;
  }
  ++counters_.published;
  if (config_.qos == 1) ++in_flight_;
  if (mosquitto_want_write(mosq_)) wait_writable();
  return true;
}

void client::flush() {
  bool freed = false;
  while (connected_ && !tx_.empty() && !mosquitto_want_write(mosq_) && in_flight_ < max_in_flight) {
    publish_now(tx_.front());
    tx_.pop_front();
    freed = true;
  }
  if (freed) room.cancel();
}

void client::deliver(const mosquitto_message& m) {
  const std::string_view topic(m.topic ? m.topic : "");
  if (topic.substr(0, frame_prefix_.size()) != frame_prefix_) return;  // the subscription holds no other
  const std::string_view from = topic.substr(frame_prefix_.size());
  if (from == config_.node) {
    ++counters_.own;  // 3.1.1 has no No Local
    return;
  }
  auto p = decode({static_cast<const std::uint8_t*>(m.payload), static_cast<std::size_t>(m.payloadlen)},
                  config_.format);
  if (p && p->is_message != config_.messages) {
    p = error{make_error_code(errc::bad_option),
              config_.messages ? "a CAN frame on a bus of messages (kind=messages)"
                               : "a message without a CAN header on a bus of frames (kind=frames)"};
  }
  if (!p) {
    ++counters_.malformed;
    malformed_log_.warn("{}: dropped what {} published on {}: {}", name_, from, topic, p.err().message);
    return;
  }
  ++counters_.received;
  if (rx_.size() >= rx_limit) {
    ++counters_.rx_dropped;
    drop_log_.warn("{}: dropped a frame from {}: {} wait to be taken ({} dropped so far)", name_, from, rx_limit,
                   counters_.rx_dropped);
    return;
  }
  rx_.push_back(std::move(p).value());
}

void client::lost(int rc) {
  const bool was_connected = connected_;
  const int saved = errno;
  connected_ = false;
  detach();
  lost_why_ = describe(rc, saved);
  connack_.cancel();
  // A broker closes the older connection when another client connects
  // with its client ID: MQTT 5 may say so (reason 142), 2.0's mosquitto just
  // closes it. A connection closed soon after it was accepted, three times in
  // a row, is that fight (or a broker refusing what it is sent): stop with
  // one line rather than take the session from each other forever.
  if (was_connected && rc == MOSQ_ERR_CONN_LOST && std::chrono::steady_clock::now() - connected_at_ < quick_loss)
    ++quick_losses_;
  else if (was_connected)
    quick_losses_ = 0;
  if (rc == MQTT_RC_SESSION_TAKEN_OVER || quick_losses_ >= 3) {
    failure = make_error_code(std::errc::address_in_use);
    spdlog::error("{}: {}: another client connected to the broker as node '{}' and took this one's session; give "
                  "each process its own node= (the two would take it from each other forever)",
                  name_,
                  rc == MQTT_RC_SESSION_TAKEN_OVER
                      ? std::string("the broker says the session was taken over")
                      : fmt::format("the broker closed this connection {} times within {} s of accepting it",
                                    quick_losses_, quick_loss.count()),
                  config_.node);
    tx_.clear();
    batch_.clear();
    arrived.cancel();
    room.cancel();
    return;
  }
  if (closing_ || !was_connected) return;  // a connect in progress says why
  if (!tx_.empty() || !batch_.empty()) {
    counters_.offline_dropped += tx_.size() + batch_.waiting();
    tx_.clear();
    batch_.clear();
    room.cancel();
  }
  in_flight_ = 0;
  if (reconnecting_) return;
  spdlog::warn("{}: lost the broker ({}); reconnecting, every 1 s to 30 s", name_, lost_why_);
  asio::co_spawn(ex_, reconnect(), asio::detached);
}

asio::awaitable<void> client::reconnect() {
  auto self = shared_from_this();
  reconnecting_ = true;
  const auto started = std::chrono::steady_clock::now();
  std::chrono::seconds delay(1);
  while (!closing_ && !failure) {
    retry_.expires_after(delay);
    co_await retry_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (closing_) break;
    auto r = co_await connect_once(std::chrono::seconds(10));
    if (r) {
      spdlog::info("{}: connected again after {:.1f} s; subscribed again", name_,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      break;
    }
    spdlog::debug("{}", r.err().message);
    delay = std::min(delay * 2, std::chrono::seconds(30));
  }
  reconnecting_ = false;
}

void client::close() {
  if (closing_) return;
  closing_ = true;
  retry_.cancel();
  misc_.cancel();
  connack_.cancel();
  resolver_.cancel();
  write_batch();
  if (!batch_.empty()) {  // the broker is not reading: leave, and its Will says offline
    counters_.offline_dropped += batch_.waiting();
    batch_.clear();
  } else if (connected_) {
    mosquitto_publish_v5(mosq_, nullptr, status_topic_.c_str(), static_cast<int>(offline.size()), offline.data(), 1,
                         true, nullptr);
    mosquitto_disconnect_v5(mosq_, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
    if (mosquitto_want_write(mosq_)) mosquitto_loop_write(mosq_, 1);
  }
  connected_ = false;
  detach();
  if (connected_at_ != std::chrono::steady_clock::time_point{}) say_counters();
  arrived.cancel();
  room.cancel();
}

void client::say_counters() const {
  const auto& c = counters_;
  spdlog::info("{}: {} published, {} received; dropped: {} malformed, {} while the broker was unreachable, {} "
               "with the receive queue full{}",
               name_, c.published, c.received, c.malformed, c.offline_dropped, c.rx_dropped,
               c.own ? fmt::format(", {} own frames the broker sent back", c.own) : std::string());
}

void client::on_connect(struct mosquitto*, void* self, int rc, int, const mosquitto_property*) {
  auto* c = static_cast<client*>(self);
  c->connack_rc_ = rc;
  c->connack_.cancel();
}

void client::on_disconnect(struct mosquitto*, void* self, int rc, const mosquitto_property*) {
  static_cast<client*>(self)->lost(rc);
}

void client::on_message(struct mosquitto*, void* self, const mosquitto_message* m, const mosquitto_property*) {
  static_cast<client*>(self)->deliver(*m);
}

void client::on_publish(struct mosquitto*, void* self, int, int, const mosquitto_property*) {
  auto* c = static_cast<client*>(self);
  if (c->config_.qos == 1 && c->in_flight_ > 0) --c->in_flight_;
}

void client::on_subscribe(struct mosquitto*, void* self, int, int count, const int* granted,
                          const mosquitto_property*) {
  auto* c = static_cast<client*>(self);
  if (count >= 1 && granted[0] >= 128)
    spdlog::error("{}: the broker refused the subscription to {}: {}; nothing will be received", c->name_,
                  c->config_.subscription(), mosquitto_reason_string(granted[0]));
}

}  // namespace anysock::can::mqtt
