// QoS 0 frames framed here as MQTT PUBLISH packets and written in batches:
// libmosquitto writes each PUBLISH with a system call of its own, and one
// more to its wake-up socket pair, which is most of what a bridge spends on
// a frame. What one handler's turn publishes goes out in one write.
//
// The client writes a batch only at a packet boundary of libmosquitto's own
// output (its want_write is false) and lets libmosquitto write only once the
// batch is out, so the two never interleave within a packet.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace anysock::can::mqtt {

class publish_batch {
 public:
  // `v5`: MQTT 5's PUBLISH carries a property length (0 here) after the topic.
  publish_batch(std::string_view topic, bool v5, std::size_t limit = 64 * 1024);

  // Appends one PUBLISH (QoS 0, not retained); false when `limit` bytes wait.
  bool add(std::string_view payload);
  bool empty() const { return at_ == buffer_.size(); }
  // PUBLISH packets not yet wholly written.
  std::size_t waiting() const { return ends_.size() - written_; }
  // Writes what the non-blocking socket takes; false on an error other
  // than a full socket (errno says which).
  bool write_to(int fd);
  void clear();

 private:
  std::string topic_field_;  // the topic with its length (and v5's empty properties)
  std::size_t limit_;
  std::string buffer_;
  std::size_t at_ = 0;             // bytes of buffer_ written
  std::vector<std::size_t> ends_;  // where each packet ends in buffer_
  std::size_t written_ = 0;        // packets wholly written
};

}  // namespace anysock::can::mqtt
