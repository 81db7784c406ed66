// Running an io_context that spins a while before it sleeps.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>

namespace anysock {

// Runs `io` until it stops, as io.run() does, except that after the last
// ready handler it keeps asking the kernel for events without sleeping
// (epoll_wait with a zero timeout) for up to `spin` before it blocks.
//
// Why: on a request/response link at one message in flight, a thread that
// sleeps in epoll_wait is woken for each request, and that wake-up, not the
// work, is most of a round trip (a blocking read() is woken a little more
// cheaply; every multiplexing loop pays it). Spinning through the gap
// between a reply and the next request takes the wake-up out, at the price
// of a CPU kept busy for up to `spin` after every message. It is the kernel's
// SO_BUSY_POLL done in user space, which vcan and the Bluetooth virtual
// controllers (no NAPI) cannot do in the kernel. spin == 0 is io.run().
void run_busy_polling(boost::asio::io_context& io, std::chrono::microseconds spin);

}  // namespace anysock
