// A socket (CAN_RAW, or the socketcand server's TCP one) whose readability
// wait costs no system call, for the one case where that is safe: the caller
// has just read the socket empty, on the only thread that runs the io_context.
//
// Why: Asio's socket wait re-arms epoll (EPOLL_CTL_MOD) every time it is
// queued, so a responder at one frame in flight paid four system calls a
// round trip (epoll_wait, recvmmsg, sendto, epoll_ctl) where a blocking one
// pays two.
// Asio's stream reads avoid the re-arm after a short read (it proves the
// socket empty); a datagram read proves nothing, so Asio cannot, but the
// CAN link knows: recvmmsg came back short.
//
// How: the socket is registered edge-triggered (EPOLLIN|EPOLLET) once, for
// good. An op queued with "may try speculatively" is first performed by the
// reactor at once; ours answers "not done" that first time (the socket is
// known empty), so it is queued without epoll_ctl. The next frame raises an
// edge; epoll_wait reports it and the reactor performs the op again: done.
// No edge can fall between the empty read and the queueing as long as this
// thread has not been back in the scheduler, the only place epoll_wait runs:
// `read_scope` tells whether it has. The reactor performs a queued
// read op speculatively only if its read queue is empty, no except op is
// queued and the last read op was not "done and exhausted"; a CAN link has
// one receive at a time, no except ops, and no datagram op reports
// exhaustion, so the first perform is always the speculative one.
//
// This reaches into Asio's reactor (boost::asio::detail): it is built only
// for the Boost it was written and tested against (1.81, Debian 12) on the
// epoll reactor; anywhere else, or built with ANYSOCK_CAN_PORTABLE_WAIT
// (CMake: -DANYSOCK_CAN_ARMED_WAIT=OFF, which the ci preset uses so CI tests
// that path too), the socket's own wait is used.
#pragma once

#include <boost/version.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <cstdint>
#include <utility>

#include "anysock/can/protocol.hpp"

#if !defined(ANYSOCK_CAN_PORTABLE_WAIT) && BOOST_VERSION / 100 == 1081 && defined(BOOST_ASIO_HAS_EPOLL) && \
    !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define ANYSOCK_CAN_ARMED_WAIT 1
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#else
#define ANYSOCK_CAN_ARMED_WAIT 0
#endif

namespace anysock::can {

#if ANYSOCK_CAN_ARMED_WAIT
namespace armed_wait_detail {

namespace ad = boost::asio::detail;

// Asio's own readability wait op, but "not done" on its first perform.
template <class Handler, class IoExecutor>
class op : public ad::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(op);

  op(Handler& h, const IoExecutor& io_ex)
      : ad::reactor_op(boost::system::error_code(), &op::do_perform, &op::do_complete),
        handler_(std::move(h)),
        work_(handler_, io_ex) {}

  static status do_perform(ad::reactor_op* base) {
    auto* o = static_cast<op*>(base);
    if (o->queued_) return done;  // an edge came: a frame is there
    o->queued_ = true;            // the speculative try: known empty, queue it
    return not_done;
  }

  static void do_complete(void* owner, ad::operation* base, const boost::system::error_code&, std::size_t) {
    auto* o = static_cast<op*>(base);
    ptr p = {std::addressof(o->handler_), o, o};
    ad::handler_work<Handler, IoExecutor> w(std::move(o->work_));
    // The handler is moved out before the op's memory is freed: it may own it.
    ad::binder1<Handler, boost::system::error_code> handler(o->handler_, o->ec_);
    p.h = std::addressof(handler.handler_);
    p.reset();
    if (owner) {
      ad::fenced_block b(ad::fenced_block::half);
      w.complete(handler, handler.handler_);
    }
  }

 private:
  Handler handler_;
  ad::handler_work<Handler, IoExecutor> work_;
  bool queued_ = false;
};

// Per-operation cancellation (a client's receive raced against a timer).
class cancel_wait {
 public:
  cancel_wait(ad::reactor& r, ad::reactor::per_descriptor_data& d, int fd) : reactor_(r), data_(d), fd_(fd) {}
  void operator()(boost::asio::cancellation_type_t type) {
    using ct = boost::asio::cancellation_type;
    if (!!(type & (ct::terminal | ct::partial | ct::total)))
      reactor_.cancel_ops_by_key(fd_, data_, ad::reactor::read_op, this);
  }

 private:
  ad::reactor& reactor_;
  ad::reactor::per_descriptor_data& data_;
  int fd_;
};

}  // namespace armed_wait_detail
#endif

// A read that found the socket empty proves it empty only until this thread
// goes back to the scheduler, which may run epoll_wait and take the edge of
// a frame that came since. A receive runs inside a read_scope; nested
// scopes (a receive that completes at once runs the next receive within
// its own call) share the outermost one's number; a read notes the number,
// and its "empty" holds while that number is current.
class read_scope {
 public:
  read_scope() { ++depth_; }
  ~read_scope() {
    if (--depth_ == 0) ++number_;
  }
  read_scope(const read_scope&) = delete;
  read_scope& operator=(const read_scope&) = delete;
  // The outermost scope's number on this thread; 0 outside every scope.
  static std::uint64_t current() { return depth_ ? number_ : 0; }

 private:
  static inline thread_local unsigned depth_ = 0;
  static inline thread_local std::uint64_t number_ = 1;
};

// Any socket of Asio's with that wait: a CAN_RAW socket (the raw link, the
// socketcand server's bus side) or a TCP one (the socketcand server's client
// side, where a read shorter than its buffer proves the socket empty).
template <class Socket>
class armed_socket : public Socket {
 public:
  explicit armed_socket(Socket s)
      : Socket(std::move(s))
#if ANYSOCK_CAN_ARMED_WAIT
        // Looked up once: a lookup takes a lock and compares type names,
        // more than the rest of the wait costs.
        ,
        reactor_(&boost::asio::use_service<armed_wait_detail::ad::reactor>(
            boost::asio::query(this->impl_.get_executor(), boost::asio::execution::context)))
#endif
  {
  }

  // Completes when the socket becomes readable. Only after a read found the
  // socket empty with this thread not back in the scheduler since (a
  // read_scope's number, or a caller that knows it), on the one thread
  // that runs the io_context (see above).
  template <class Token>
  auto async_wait_known_empty(Token&& token) {
#if ANYSOCK_CAN_ARMED_WAIT
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) { start_wait(std::move(handler)); }, token);
#else
    return this->async_wait(Socket::wait_read, std::forward<Token>(token));
#endif
  }

#if ANYSOCK_CAN_ARMED_WAIT
 private:
  template <class Handler>
  void start_wait(Handler handler) {
    namespace ad = armed_wait_detail::ad;
    using op = armed_wait_detail::op<Handler, typename Socket::executor_type>;
    auto& impl = this->impl_.get_implementation();
    auto& reactor = *reactor_;
    const bool continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    typename op::ptr p = {std::addressof(handler), op::ptr::allocate(handler), nullptr};
    p.p = new (p.v) op(handler, this->impl_.get_executor());
    if (slot.is_connected())
      p.p->cancellation_key_ =
          &slot.template emplace<armed_wait_detail::cancel_wait>(reactor, impl.reactor_data_, impl.socket_);
    reactor.start_op(ad::reactor::read_op, impl.socket_, impl.reactor_data_, p.p, continuation,
                     /*allow_speculative=*/true);
    p.v = p.p = nullptr;
  }

  armed_wait_detail::ad::reactor* reactor_;
#endif
};

using armed_raw_socket = armed_socket<raw::socket>;

}  // namespace anysock::can
