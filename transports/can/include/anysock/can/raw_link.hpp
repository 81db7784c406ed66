// A CAN_RAW link: one frame is one message. As a responder it answers a
// request frame on the reply ID its configuration maps it to; as a client
// it sends frames as given and hears only the replies; as one side of a
// bridge it takes every frame its rx= passes (remote requests too) and puts
// frames on the bus with their ID as tx= maps it, never hearing its own.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <sys/socket.h>

#include "anysock/can/armed_wait.hpp"
#include "anysock/can/config.hpp"
#include "anysock/can/frame.hpp"
#include "anysock/can/frame_role.hpp"
#include "anysock/can/interface.hpp"
#include "anysock/can/protocol.hpp"
#include "anysock/can/queued_send.hpp"
#include "anysock/executor_threads.hpp"
#include "anysock/link.hpp"

namespace anysock::can {

class raw_link {
 public:
  using executor_type = asio::any_io_executor;
  static constexpr bool is_stream = false;
  static constexpr bool reads_ahead = true;  // link.hpp: try_receive takes from the batch

  using role = link_role;
  raw_link(raw::socket s, std::shared_ptr<const raw_config> c, role r)
      : socket_(std::move(s)), frames_(std::move(c), r), rx_(std::make_unique<rx_batch>()),
        one_thread_(runs_on_one_thread(socket_.get_executor())), interface_(interface_name()),
        peer_("can bus " + interface_) {}
  static raw_link closed(const asio::any_io_executor& ex) {
    return raw_link(raw::socket(ex), std::make_shared<raw_config>(), role::client);
  }

  executor_type get_executor() { return socket_.get_executor(); }
  std::size_t receive_size() const { return CANFD_MAX_DLEN; }
  std::string peer() const { return peer_; }
  void close();
  const raw_config& config() const { return frames_.config(); }

  // One data frame matching this link's filters; error frames and remote
  // requests are logged and skipped: an echo answers data.
  // The interface going down (`ip link set can0 down`, as every bitrate
  // change needs) does not end the link: the kernel reports it once and
  // the socket hears the bus again once it is back up (candump does the
  // same). Logged both ways.
  // Frames are read in batches (recvmmsg) without blocking: under load one
  // system call takes every queued frame, and a frame taken here costs no
  // posted completion (Asio's own receive posts one per frame, and its
  // scheduler then polls epoll between handlers: an epoll_wait per frame;
  // bench/README.md, "Figures behind the code").
  // When the socket is empty:
  //  - one thread runs the io_context: wait for readability, without the
  //    epoll_ctl Asio's wait costs (armed_wait.hpp). A batch that came back
  //    short already met an empty socket (recvmmsg stops at EAGAIN; an
  //    error it meets after a frame raised its own wake-up), so no read is
  //    spent on learning "empty" either — if this thread has not been back
  //    in the scheduler since (read_scope): 3 system calls a round trip.
  //  - several threads may: another thread's epoll_wait could take an edge
  //    between our read and the wait, and the wait would then last until
  //    some later frame. Receive with Asio instead, which tries the socket
  //    again under the reactor's lock.
  //
  // A small op of its own, not async_compose: at one frame in flight the
  // composed op's machinery (its frame, work tracking through the type-erased
  // executor) costs a large share of a round trip.
  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header& h, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this, b, &h](auto handler) {
          receive_op<std::decay_t<decltype(handler)>>{this, b, &h, std::move(handler)}.run();
        },
        token);
  }

  // The receive in flight: tries the batch and the socket, else waits (see
  // above) and tries again. Asio finds the caller's executor, allocator and
  // cancellation slot through it (the associator at the end of this file).
  template <class Handler>
  struct receive_op {
    raw_link* link;
    asio::mutable_buffer buffer;
    message_header* header;
    Handler handler;

    void run() {
      read_scope scope;  // touches no member: the link may be gone when it ends
      raw_link& l = *link;
      if (l.one_thread_ && l.rx_->empty_socket_seen()) return l.socket_.async_wait_known_empty(std::move(*this));
      error_code ec;
      std::size_t n = l.try_receive(buffer, *header, ec);
      if (ec == asio::error::would_block) {
        if (l.one_thread_) return l.socket_.async_wait_known_empty(std::move(*this));
        return l.socket_.async_receive(asio::buffer(&l.rx_->frames[0], sizeof(canfd_frame)), std::move(*this));
      }
      if (ec == asio::error::interrupted) return asio::post(l.socket_.get_executor(), std::move(*this));
      std::move(handler)(ec, n);
    }
    // Posted after reading past many frames.
    void operator()() { run(); }
    // The wait ended: a frame came (or the socket closed).
    void operator()(error_code ec) {
      if (ec) return std::move(handler)(ec, std::size_t{0});
      run();
    }
    // Asio's receive put a frame in the batch's first slot (several threads).
    void operator()(error_code ec, std::size_t n) {
      if (ec == asio::error::network_down) {
        link->down_.went_down(link->peer_);
        return run();
      }
      if (ec) return std::move(handler)(ec, std::size_t{0});
      if (auto taken = link->take(buffer, *header, link->rx_->frames[0], n))
        return std::move(handler)(error_code{}, *taken);
      run();
    }
  };

  // Sends the payload as one frame: on the mapped reply ID (responder) or on
  // h.id as given (client), with the FD flags the header carries; waits
  // while the interface's transmit queue is full (queued_send.hpp).
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header& h, Token&& token) {
    canfd_frame k{};
    error_code ec;
    std::size_t mtu = build(b, h, k, ec);
    auto out = std::make_shared<canfd_frame>(k);
    return asio::async_compose<Token, void(error_code, std::size_t)>(
        [this, out, mtu, size = b.size(), ec, started = false](auto& self, error_code e = {},
                                                               std::size_t = 0) mutable {
          if (ec) return self.complete(ec, 0);
          if (!started) {
            started = true;
            return async_send_queued(socket_, asio::buffer(out.get(), mtu), [this] { return peer(); },
                                     std::move(self));
          }
          if (reply_lost_to_down_interface(e, *out, mtu)) return self.complete(e, size);
          self.complete(e, e ? 0 : size);
        },
        token, socket_);
  }

  // One data frame if one is queued, else would_block (socket empty; known
  // so without a read when the last batch came back short in this
  // read_scope) or interrupted (many frames read past, more may be queued).
  std::size_t try_receive(asio::mutable_buffer b, message_header& h, error_code& ec);
  std::size_t try_send(asio::const_buffer b, const message_header& h, error_code& ec);

 private:
  // Frames read ahead, in one heap block so the link stays cheap to move.
  struct rx_batch {
    static constexpr unsigned capacity = 16;  // 1.5 KiB per CAN link; 16 frames is half the bench's window
    rx_batch();
    // True once: when every frame is taken and the read that filled the
    // batch stopped short of it (the socket was empty then), in the
    // read_scope still current.
    bool empty_socket_seen() {
      if (next < count || !empty_in) return false;
      const std::uint64_t scope = std::exchange(empty_in, 0);
      return scope == read_scope::current();
    }
    // The same, without using it up: the receive that waits next still sees it.
    bool known_empty() const { return next == count && empty_in && empty_in == read_scope::current(); }
    std::array<canfd_frame, capacity> frames;
    std::array<iovec, capacity> iov;
    std::array<mmsghdr, capacity> headers;
    // Room for each frame's SO_RXQ_OVFL count; the kernel adds it only
    // once it has dropped frames on the socket.
    static constexpr std::size_t control_size = CMSG_SPACE(sizeof(std::uint32_t));
    struct alignas(cmsghdr) control_block {
      char bytes[control_size];
    };
    std::array<control_block, capacity> control;
    unsigned count = 0, next = 0;
    // The read_scope of the read that filled the batch and stopped short
    // of it; 0 when it filled it, or once empty_socket_seen answered.
    std::uint64_t empty_in = 0;
  };
  // Reads the next batch: false with would_block or the socket's error.
  bool fill(error_code& ec);
  // A frame read into the batch: copies its payload out if it is one to deliver.
  std::optional<std::size_t> take(asio::mutable_buffer b, message_header& h, const canfd_frame& k, std::size_t n);
  std::size_t build(asio::const_buffer b, const message_header& h, canfd_frame& out, error_code& ec);
  std::string interface_name() const;
  // A responder's reply that found the interface down is dropped with a
  // warning and the link goes on (true; ec cleared): the request came while
  // the bus was up, no peer can hear the reply now. A client's send fails.
  bool reply_lost_to_down_interface(error_code& ec, const canfd_frame& k, std::size_t mtu);

  armed_raw_socket socket_;
  frame_role frames_;
  std::unique_ptr<rx_batch> rx_;     // stable address across moves of the link
  bool one_thread_;  // how to wait: see async_receive
  down_watch down_;
  overflow_watch overflow_;  // frames the kernel dropped: logged as they happen and in all at close
  // For messages, kept: a closed socket has no name, and the receive path
  // must not format one per frame.
  std::string interface_;
  std::string peer_;
};

// Opens CAN_RAW on the named interface with one clear error for each way
// that can fail (no AF_CAN, no such interface, not CAN, down, no FD MTU).
result<raw::socket> open_raw(const uri& u, const asio::any_io_executor& ex, const raw_config& c,
                             raw_link::role r);

}  // namespace anysock::can

// A receive_op is its caller's handler as far as Asio is concerned.
template <template <typename, typename> class Associator, class Handler, class Default>
struct boost::asio::associator<Associator, anysock::can::raw_link::receive_op<Handler>, Default>
    : Associator<Handler, Default> {
  static typename Associator<Handler, Default>::type get(
      const anysock::can::raw_link::receive_op<Handler>& op) noexcept {
    return Associator<Handler, Default>::get(op.handler);
  }
  static auto get(const anysock::can::raw_link::receive_op<Handler>& op, const Default& d) noexcept
      -> decltype(Associator<Handler, Default>::get(op.handler, d)) {
    return Associator<Handler, Default>::get(op.handler, d);
  }
};
