#include "anysock/executor_threads.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/detail/scheduler.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/strand.hpp>

namespace anysock {

bool runs_on_one_thread(const boost::asio::any_io_executor& ex) {
  namespace asio = boost::asio;
  if (!ex) return false;
  // io_context and thread_pool keep their hint only in their scheduler, a
  // service Asio exposes through use_service (a detail type; Boost 1.81 as
  // Debian 12 ships it). The test mirrors the scheduler's own "one thread" rule.
  auto& ctx = asio::query(ex, asio::execution::context);
  if (!asio::has_service<asio::detail::scheduler>(ctx)) return false;
  const int hint = asio::use_service<asio::detail::scheduler>(ctx).concurrency_hint();
  return hint == 1 || !BOOST_ASIO_CONCURRENCY_HINT_IS_LOCKING(SCHEDULER, hint) ||
         !BOOST_ASIO_CONCURRENCY_HINT_IS_LOCKING(REACTOR_IO, hint);
}

boost::asio::any_io_executor link_executor(boost::asio::io_context& io) {
  if (runs_on_one_thread(io.get_executor())) return io.get_executor();
  return boost::asio::make_strand(io);
}

}  // namespace anysock
