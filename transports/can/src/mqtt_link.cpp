#include "anysock/can/mqtt_link.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <optional>

namespace anysock::can {
namespace {

std::uint64_t now_micros() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::shared_ptr<const raw_config> frames_of(const std::shared_ptr<mqtt::client>& c) {
  return std::make_shared<raw_config>(c ? c->config().frames : raw_config{});
}

}  // namespace

mqtt_link::state::state(std::shared_ptr<mqtt::client> c, link_role r, asio::any_io_executor e)
    : client(std::move(c)), frames(frames_of(client), r), ex(std::move(e)),
      messages(client && client->config().messages) {}

mqtt_link::mqtt_link(std::shared_ptr<mqtt::client> c, link_role r) {
  auto ex = c->arrived.get_executor();
  state_ = std::make_shared<state>(std::move(c), r, std::move(ex));
}

mqtt_link mqtt_link::closed(const asio::any_io_executor& ex) {
  auto s = std::make_shared<state>(nullptr, link_role::bridge, ex);
  s->closed = true;
  return mqtt_link(std::move(s));
}

mqtt_link mqtt_link::moved_to(const asio::any_io_executor& ex) && {
  return mqtt_link(state_->client->moved_to(ex), state_->frames.role());
}

std::size_t mqtt_link::receive_size() const { return state_->messages ? mqtt::max_message : CANFD_MAX_DLEN; }

std::string mqtt_link::peer() const { return state_->client ? state_->client->name() : "closed mqtt link"; }

void mqtt_link::close() {
  state_->closed = true;
  if (state_->client) state_->client->close();
}

error_code mqtt_link::state::ended() const {
  if (closed || !client) return asio::error::operation_aborted;
  return client->failure;
}

std::size_t mqtt_link::state::take(asio::mutable_buffer b, message_header& h, error_code& ec) {
  ec = ended();
  if (ec) return 0;
  while (auto p = client->take()) {
    if (p->is_message) {
      const std::size_t n = std::min(p->bytes.size(), b.size());
      std::memcpy(b.data(), p->bytes.data(), n);
      h = {};
      return n;
    }
    if (frames.delivers(p->f, client->name(), client->config().bus)) return frame_role::deliver(p->f, b, h);
  }
  ec = asio::error::would_block;
  return 0;
}

std::string mqtt_link::state::encode(asio::const_buffer b, const message_header& h, error_code& ec) {
  if (!client) {
    ec = asio::error::operation_aborted;
    return {};
  }
  if (messages) {
    if (b.size() > mqtt::max_message) {
      ec = asio::error::message_size;
      return {};
    }
    return mqtt::encode_message(std::string_view(static_cast<const char*>(b.data()), b.size()), now_micros());
  }
  const frame f = frames.outgoing(b, h, ec);
  if (ec) return {};
  return client->config().format == mqtt::payload_format::candump ? mqtt::encode_text(f)
                                                                   : mqtt::encode_frame(f, now_micros());
}

std::size_t mqtt_link::try_receive(asio::mutable_buffer b, message_header& h, error_code& ec) {
  return state_->take(b, h, ec);
}

std::size_t mqtt_link::try_send(asio::const_buffer b, const message_header& h, error_code& ec) {
  ec = state_->ended();
  if (ec) return 0;
  std::string p = state_->encode(b, h, ec);
  if (ec) return 0;
  if (!state_->client->publish(std::move(p))) {
    ec = asio::error::would_block;
    return 0;
  }
  return b.size();
}

asio::awaitable<result<mqtt_link>> connect_mqtt(const uri& u, asio::any_io_executor ex, link_role r) {
  auto c = mqtt::parse_bus(u, r == link_role::bridge);
  if (!c) co_return c.err();
  auto made = mqtt::client::create(std::move(c).value(), ex);
  if (!made) co_return made.err();
  auto client = std::move(made).value();
  auto ok = co_await client->connect(std::chrono::seconds(10));
  if (!ok) {
    client->close();
    co_return ok.err();
  }
  co_return mqtt_link(std::move(client), r);
}

namespace {

asio::awaitable<void> connect_into(const uri& u, asio::io_context& here, link_role r,
                                   std::optional<result<mqtt_link>>& out) {
  out.emplace(co_await connect_mqtt(u, here.get_executor(), r));
  here.stop();  // the client's socket and keepalive would keep `here` running
}

}  // namespace

result<mqtt_link> connect_mqtt_now(const uri& u, const asio::any_io_executor& ex, link_role r) {
  asio::io_context here(1);
  std::optional<result<mqtt_link>> out;
  asio::co_spawn(here, connect_into(u, here, r, out), asio::detached);
  here.run();
  if (!out) return error{make_error_code(errc::unsupported), fmt::format("{}: the connection was not made", u.text)};
  if (!*out) return out->err();
  return std::move(**out).moved_to(ex);
}

}  // namespace anysock::can
