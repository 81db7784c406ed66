// Splitting a socketcand byte stream into `< ... >` messages, with the
// bound that keeps a peer's garbage from growing memory.
#include <algorithm>
#include <fmt/format.h>

#include "anysock/can/socketcand.hpp"
#include "socketcand_text.hpp"

namespace anysock::can::socketcand {

framer::framer(std::size_t limit) : limit_(std::max<std::size_t>(limit, 2)) {}

void framer::feed(std::string_view bytes) {
  // Drop what next() has returned: the views into it die here, as documented.
  std::size_t base = head_ < items_.size() ? items_[head_].start : partial_;
  if (base > 0) {
    buf_.erase(0, base);
    for (std::size_t i = head_; i < items_.size(); ++i) items_[i].start -= base;
    partial_ -= base;
  }
  items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
  head_ = 0;

  std::size_t i = 0;
  while (i < bytes.size()) {
    switch (state_) {
      case state::outside: {
        auto p = bytes.find('<', i);
        if (p == std::string_view::npos) return;  // bytes outside messages are dropped
        state_ = state::inside;
        partial_ = buf_.size();
        i = p + 1;
        break;
      }
      case state::inside: {
        std::size_t room = limit_ - 2 - (buf_.size() - partial_);
        auto p = bytes.find('>', i);
        std::size_t end = p == std::string_view::npos ? bytes.size() : p;
        if (end - i > room) {
          buf_.resize(partial_);
          items_.push_back({partial_, 0, true});
          state_ = state::skipping;
          i += room;
          break;
        }
        buf_.append(bytes.substr(i, end - i));
        i = end;
        if (p != std::string_view::npos) {
          items_.push_back({partial_, buf_.size() - partial_, false});
          partial_ = buf_.size();
          state_ = state::outside;
          i = p + 1;
        }
        break;
      }
      case state::skipping: {
        auto p = bytes.find('>', i);
        if (p == std::string_view::npos) return;
        state_ = state::outside;
        i = p + 1;
        break;
      }
    }
  }
}

std::optional<result<std::string_view>> framer::next() {
  if (head_ == items_.size()) return std::nullopt;
  const item it = items_[head_++];
  if (it.overlong)
    return result<std::string_view>(
        errc::bad_option,
        fmt::format("socketcand message longer than {} bytes (no '>' within {} bytes of its '<'); skipped it up "
                    "to its '>'; send messages of at most {} bytes",
                    limit_, limit_, limit_));
  return result<std::string_view>(trim(std::string_view(buf_).substr(it.start, it.size)));
}

std::size_t framer::buffered() const {
  std::size_t base = head_ < items_.size() ? items_[head_].start : partial_;
  return buf_.size() - base;
}

void framer::reset() {
  buf_.clear();
  items_.clear();
  head_ = 0;
  partial_ = 0;
  state_ = state::outside;
}

}  // namespace anysock::can::socketcand
