// What a bridge needs to know about its far side (B) and how it behaves,
// and which pairs of families it can join at all.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "anysock/any_link.hpp"
#include "anysock/error.hpp"
#include "anysock/message_kind.hpp"
#include "anysock/uri.hpp"

namespace anysock {

struct bridge_config {
  std::string target;  // B as the user wrote it, for logs
  // Opens B for one link of A, on the executor the coroutine runs on.
  std::function<asio::awaitable<result<std::unique_ptr<any_link>>>()> connect;
  bool once = false;               // B unreachable or gone: give up instead of retrying
  std::size_t queue_limit = 1024;  // messages waiting for a slow side, per direction
  std::chrono::milliseconds retry_max{10000};
  // After A's end, how long B's last replies may still come back where B
  // has no half-close (RFCOMM): then B is closed.
  std::chrono::milliseconds linger{500};
  // The largest message each side's family can send (0: a stream, no
  // bound): a stream's reads are cut to the other side's (ISO-TP: 4095).
  std::size_t a_max_message = 0;
  std::size_t b_max_message = 0;
  // --once: called with one line when the bridge gives up; the program stops.
  std::function<void(const std::string&)> give_up;
};

// Frames cross only to frames (their ID and flags would be lost in bytes or
// an ISO-TP message); bytes and header-less messages mix freely. One line
// saying why when the pair cannot be bridged.
result<void> check_bridgeable(const uri& a, message_kind ka, const uri& b, message_kind kb);

}  // namespace anysock
