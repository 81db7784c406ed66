#include "anysock/can/socketcand_link.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <netinet/tcp.h>

#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "anysock/error.hpp"

namespace anysock::can {

namespace {

namespace sc = socketcand;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// The whole handshake (resolve, connect, hi, open, rawmode) must end within this.
constexpr std::chrono::seconds handshake_limit{10};
// The server said no, or is no socketcand server: the far side's doing (exit
// code 3, as for a refused connection), not the command line's.
const std::error_code not_socketcand = std::make_error_code(std::errc::protocol_error);

// The next whole message of the handshake, read as a command.
asio::awaitable<result<sc::command>> next_message(tcp::socket& s, sc::framer& f, const std::string& where) {
  std::array<char, 512> buf;
  for (;;) {
    if (auto m = f.next()) {
      if (!*m) co_return error{not_socketcand,
                               fmt::format("{} sent a message over {} bytes: is it a socketcand server?", where,
                                           sc::max_message)};
      auto c = sc::parse(**m);
      if (!c)
        co_return error{not_socketcand,
                        fmt::format("{} said `< {} >`, which is not socketcand: {}", where, printable(**m, 80),
                                    c.err().message)};
      co_return *c;
    }
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
    if (ec == asio::error::operation_aborted)
      co_return error{make_error_code(errc::timed_out),
                      fmt::format("{} did not finish the socketcand handshake within {} s", where,
                                  handshake_limit.count())};
    if (ec == asio::error::eof)
      co_return error{ec, fmt::format("{} closed the connection during the handshake", where)};
    if (ec) co_return error{ec, fmt::format("{}: {}", where, ec.message())};
    f.feed(std::string_view(buf.data(), n));
  }
}

asio::awaitable<result<void>> expect(tcp::socket& s, sc::framer& f, const std::string& where, sc::kind want,
                                     std::string_view after) {
  auto c = co_await next_message(s, f, where);
  if (!c) co_return c.err();
  if (c->k == want) co_return result<void>{};
  if (c->k == sc::kind::error)
    co_return error{not_socketcand, fmt::format("{} answered {} with `< error {} >`", where,
                                                                    after, printable(c->text, 120))};
  co_return error{not_socketcand,
                  fmt::format("{} answered {} with `< {} ... >` instead of `< {} >`", where, after, sc::name(c->k),
                              sc::name(want))};
}

asio::awaitable<result<void>> say(tcp::socket& s, const std::string& text, const std::string& where) {
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(text), use_tuple);
  if (ec) co_return error{ec, fmt::format("{}: cannot send `{}`: {}", where, text, ec.message())};
  co_return result<void>{};
}

// The handshake's deadline: closes the socket when it passes.
struct close_on_expiry {
  std::shared_ptr<tcp::socket> s;
  void operator()(error_code ec) const {
    if (!ec) s->close(ec);
  }
};

// `< hi >`, then the bus opened and raw mode asked for.
asio::awaitable<result<void>> handshake(tcp::socket& s, sc::framer& f, const std::string& bus,
                                        const std::string& server) {
  if (auto r = co_await expect(s, f, server, sc::kind::hi, "the connection"); !r) co_return r;
  const std::string open = fmt::format("< open {} >", bus);
  if (auto r = co_await say(s, open, server); !r) co_return r;
  if (auto r = co_await expect(s, f, server, sc::kind::ok, "`" + open + "`"); !r) co_return r;
  if (auto r = co_await say(s, "< rawmode >", server); !r) co_return r;
  co_return co_await expect(s, f, server, sc::kind::ok, "`< rawmode >`");
}

}  // namespace

socketcand_link::state::state(tcp::socket s, sc::framer f, std::shared_ptr<const raw_config> c, link_role r,
                              std::string p)
    : socket(std::move(s)), framer(std::move(f)), frames(std::move(c), r), peer(std::move(p)),
      bus(frames.config().interface_name), rx{}, room(socket.get_executor()) {}

socketcand_link::socketcand_link(tcp::socket s, sc::framer already, std::shared_ptr<const raw_config> c, link_role r,
                                 std::string peer)
    : state_(std::make_shared<state>(std::move(s), std::move(already), std::move(c), r, std::move(peer))) {}

socketcand_link socketcand_link::closed(const asio::any_io_executor& ex) {
  return socketcand_link(tcp::socket(ex), sc::framer(), std::make_shared<raw_config>(), link_role::client,
                         "socketcand (closed)");
}

socketcand_link socketcand_link::moved_to(const asio::any_io_executor& ex) && {
  auto& old = *state_;
  error_code ec;
  const auto protocol = old.socket.local_endpoint(ec).protocol();
  tcp::socket s(ex);
  if (!ec) {
    const int fd = old.socket.release(ec);
    if (!ec) s.assign(protocol, fd, ec);
  }
  if (ec) spdlog::warn("{}: cannot move the connection to the serving thread: {}", old.peer, ec.message());
  return socketcand_link(std::move(s), std::move(old.framer), std::make_shared<raw_config>(old.frames.config()),
                         old.frames.role(), std::move(old.peer));
}

void socketcand_link::close() {
  error_code ignored;
  state_->socket.close(ignored);
  state_->room.cancel();
}

std::size_t socketcand_link::state::take(asio::mutable_buffer b, message_header& h, error_code& ec) {
  ec = {};
  while (auto m = framer.next()) {
    if (!*m) {
      bad_log.warn("{}: skipped a message over {} bytes from the server", peer, sc::max_message);
      continue;
    }
    auto c = sc::parse(**m);
    if (!c) {
      bad_log.warn("{}: skipped `< {} >` from the server: {}", peer, printable(**m, 80), c.err().message);
      continue;
    }
    if (c->k == sc::kind::frame) {
      if (frames.delivers(c->f, peer, bus)) return frame_role::deliver(c->f, b, h);
    } else if (c->k == sc::kind::error) {
      bad_log.warn("{}: the server says: {}", peer, printable(c->text, 120));
    }  // `< ok >`, `< echo >`, `< hi >`: nothing to deliver
  }
  ec = asio::error::would_block;
  return 0;
}

bool socketcand_link::state::queue(const frame& f, error_code& ec) {
  if (write_error) {
    ec = write_error;
    return false;
  }
  if (queued.size() >= max_queued) return false;
  sc::append_send(queued, f);
  // Written once the handler that sent it returns: the frames a handler
  // sends in a row (a bench answering a batch of replies, a bridge passing
  // a batch of bus frames) leave in one TCP segment, not one each.
  if (!write_active && !flush_posted) {
    flush_posted = true;
    asio::post(socket.get_executor(), [self = shared_from_this()] {
      self->flush_posted = false;
      self->write_queued();
    });
  }
  return true;
}

void socketcand_link::state::write_queued() {
  if (write_active || queued.empty() || write_error) return;
  // Straight to the socket; what it does not take now the writer sends.
  error_code e;
  const std::size_t n = socket.write_some(asio::buffer(queued), e);
  if (e && e != asio::error::would_block) {
    write_error = e;
    queued.clear();
    room.cancel();
    return;
  }
  queued.erase(0, n);
  if (!queued.empty()) start_writing();
}

void socketcand_link::state::start_writing() {
  write_active = true;
  std::swap(queued, writing);
  queued.clear();
  asio::async_write(socket, asio::buffer(writing), [self = shared_from_this()](error_code ec, std::size_t) {
    self->write_active = false;
    self->writing.clear();
    if (ec) self->write_error = ec;
    self->room.cancel();  // a send waiting for room looks again
    if (!ec && !self->queued.empty()) self->start_writing();
  });
}

std::size_t socketcand_link::try_receive(asio::mutable_buffer b, message_header& h, error_code& ec) {
  return state_->take(b, h, ec);
}

std::size_t socketcand_link::try_send(asio::const_buffer b, const message_header& h, error_code& ec) {
  ec = {};
  const frame f = state_->frames.outgoing(b, h, ec);
  if (ec) return 0;
  if (!state_->queue(f, ec)) {
    if (!ec) ec = asio::error::would_block;
    return 0;
  }
  return b.size();
}

// GCC 12 sees Asio's frame allocator (aligned_alloc, freed through its own
// operator delete) as a mismatch in this coroutine and no other: a false
// positive (the pair is Asio's recycling allocator's).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<result<socketcand_link>> connect_socketcand(const uri& u, asio::any_io_executor ex, link_role r) {
  auto spec = sc::parse_remote(u, r == link_role::bridge);
  if (!spec) co_return spec.err();
  const std::string server = fmt::format("socketcand server {}", join_host_port(spec->host, spec->port));
  tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(spec->host, std::to_string(spec->port),
                                                        tcp::resolver::numeric_service, use_tuple);
  if (rec)
    co_return error{rec, fmt::format("{}: cannot resolve '{}': {}", u.text, spec->host, rec.message())};
  // One deadline for the rest: the socket is closed if it passes.
  auto s = std::make_shared<tcp::socket>(ex);
  asio::steady_timer deadline(ex, handshake_limit);
  deadline.async_wait(close_on_expiry{s});
  auto [cec, ep] = co_await asio::async_connect(*s, results, use_tuple);
  if (cec) {
    deadline.cancel();
    std::string hint = cec == asio::error::connection_refused
                           ? "; is `anysock socketcand` (or socketcand) running there?"
                           : "";
    co_return error{cec, fmt::format("{}: cannot connect to {}: {}{}", u.text, server, cec.message(), hint)};
  }
  sc::framer f;
  auto step = co_await handshake(*s, f, spec->bus, server);
  deadline.cancel();
  if (!step) co_return error{step.err().code, fmt::format("{}: {}", u.text, step.err().message)};
  error_code ec;
  s->non_blocking(true, ec);
  if (!ec) s->set_option(tcp::no_delay(true), ec);
  if (ec) co_return error{ec, fmt::format("{}: cannot configure the socket: {}", u.text, ec.message())};
  auto c = std::make_shared<raw_config>(spec->frames);
  socketcand_link l(std::move(*s), std::move(f), std::move(c), r,
                    fmt::format("socketcand bus {} at {}", spec->bus, join_host_port(spec->host, spec->port)));
  co_return l;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {
asio::awaitable<void> connect_into(const uri& u, asio::any_io_executor ex, link_role r,
                                   std::optional<result<socketcand_link>>& out) {
  out.emplace(co_await connect_socketcand(u, std::move(ex), r));
}
}  // namespace

result<socketcand_link> connect_socketcand_now(const uri& u, const asio::any_io_executor& ex, link_role r) {
  asio::io_context here(1);
  std::optional<result<socketcand_link>> out;
  asio::co_spawn(here, connect_into(u, here.get_executor(), r, out), asio::detached);
  here.run();
  if (!out) return error{make_error_code(errc::unsupported), fmt::format("{}: the connection was not made", u.text)};
  if (!*out) return out->err();
  return std::move(**out).moved_to(ex);
}

}  // namespace anysock::can
