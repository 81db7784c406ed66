// One served link as the server sees it: enough to enforce the idle timeout
// and drain on shutdown from outside the link's own handlers, without
// knowing the link's type.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace anysock {

class session {
 public:
  // only_link: the listener's one link (a CAN bus, an ISO-TP ID pair), which
  // is the service there rather than one peer's visit: never idle-closed,
  // and its end is the end of serving that endpoint.
  session(std::shared_ptr<const std::string> endpoint, std::string peer, boost::asio::any_io_executor ex,
          bool track_activity, bool only_link = false)
      : endpoint_(std::move(endpoint)), peer_(std::move(peer)), executor_(std::move(ex)),
        track_activity_(track_activity && !only_link), only_link_(only_link) {
    touch();
  }

  const std::string& endpoint() const { return *endpoint_; }
  bool only_link() const { return only_link_; }
  bool tracks_activity() const { return track_activity_; }
  const std::string& peer() const { return peer_; }
  const boost::asio::any_io_executor& executor() const { return executor_; }

  // Called by the service running the link (echo, bridge), on the link's executor.
  void touch() {
    if (track_activity_)
      last_activity_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                           std::memory_order_relaxed);
  }
  void set_busy(bool b) { busy_.store(b, std::memory_order_relaxed); }
  void count(std::size_t in, std::size_t out) {
    bytes_in_ += in;
    bytes_out_ += out;
    ++messages_;
  }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

  // Read by the server.
  bool busy() const { return busy_.load(std::memory_order_relaxed); }
  std::chrono::steady_clock::time_point last_activity() const {
    return std::chrono::steady_clock::time_point{
        std::chrono::steady_clock::duration{last_activity_.load(std::memory_order_relaxed)}};
  }
  void start_draining() { draining_.store(true, std::memory_order_relaxed); }
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }
  std::uint64_t messages() const { return messages_; }

  // Closes the link; set and cleared by the service running the link and only ever
  // invoked on the link's executor, so it never outlives the link.
  std::function<void()> close_link;

 private:
  std::shared_ptr<const std::string> endpoint_;  // the listener's name, shared
  std::string peer_;
  boost::asio::any_io_executor executor_;
  bool track_activity_;
  bool only_link_;
  std::atomic<std::int64_t> last_activity_{0};
  std::atomic<bool> busy_{false};
  std::atomic<bool> draining_{false};
  std::uint64_t bytes_in_ = 0, bytes_out_ = 0, messages_ = 0;
};

}  // namespace anysock
