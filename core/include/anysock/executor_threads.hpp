// How many threads may run a link's executor, as far as a link needs to
// know: a link may take a shortcut that is only safe while one thread runs
// its io_context (the CAN raw link's receive does).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

namespace anysock {

// True when the executor's context was told it has one thread: an
// io_context(1), as `anysock serve` makes one per thread (Asio itself then
// posts to a thread-private queue), or a thread_pool of one. False for every
// other hint and every other kind of context: the safe answer.
bool runs_on_one_thread(const boost::asio::any_io_executor& ex);

// The executor a new link lives on. With one thread running the io_context,
// its own: a strand there guards nothing and costs every completion a pass
// through it, and memory per idle link. With several, a
// strand: the server closes links from its own strand, and a link's handlers
// and that close must never run at once.
boost::asio::any_io_executor link_executor(boost::asio::io_context& io);

}  // namespace anysock
