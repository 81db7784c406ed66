#include "anysock/can/mqtt_batch.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace anysock::can::mqtt {
namespace {

void put_varint(std::string& out, std::size_t n) {  // MQTT's remaining length
  do {
    char b = static_cast<char>(n % 128);
    n /= 128;
    if (n) b = static_cast<char>(b | 0x80);
    out.push_back(b);
  } while (n);
}

}  // namespace

publish_batch::publish_batch(std::string_view topic, bool v5, std::size_t limit) : limit_(limit) {
  topic_field_.push_back(static_cast<char>(topic.size() >> 8));
  topic_field_.push_back(static_cast<char>(topic.size() & 0xFF));
  topic_field_.append(topic);
  if (v5) topic_field_.push_back('\0');
}

bool publish_batch::add(std::string_view payload) {
  if (buffer_.size() - at_ >= limit_) return false;
  if (empty()) clear();  // start the buffer over rather than grow it
  buffer_.push_back('\x30');  // PUBLISH, QoS 0, not retained
  put_varint(buffer_, topic_field_.size() + payload.size());
  buffer_.append(topic_field_);
  buffer_.append(payload);
  ends_.push_back(buffer_.size());
  return true;
}

bool publish_batch::write_to(int fd) {
  while (!empty()) {
    const ssize_t n = ::send(fd, buffer_.data() + at_, buffer_.size() - at_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    at_ += static_cast<std::size_t>(n);
    while (written_ < ends_.size() && ends_[written_] <= at_) ++written_;
  }
  return true;
}

void publish_batch::clear() {
  buffer_.clear();
  ends_.clear();
  at_ = written_ = 0;
}

}  // namespace anysock::can::mqtt
