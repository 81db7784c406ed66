#include "anysock/busy_poll.hpp"

namespace anysock {

void run_busy_polling(boost::asio::io_context& io, std::chrono::microseconds spin) {
  if (spin.count() <= 0) {
    io.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  while (!io.stopped()) {
    // poll() runs what is ready and asks the reactor once without waiting;
    // each handler run restarts the spin.
    const auto until = clock::now() + spin;
    while (!io.stopped() && clock::now() < until)
      if (io.poll() > 0) break;
    if (io.stopped()) return;
    // Nothing for `spin`: sleep until the next event, run it, spin again.
    io.run_one();
  }
}

}  // namespace anysock
