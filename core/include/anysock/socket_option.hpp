// A socket option of any family in Asio's GettableSocketOption /
// SettableSocketOption shape: socket.set_option(value_option<...>(v)).
// Transports name theirs (CAN_RAW_FD_FRAMES, BT_SECURITY, ...).
#pragma once

#include <cstddef>

namespace anysock {

template <int Level, int Name, class T>
class value_option {
 public:
  value_option() = default;
  explicit value_option(T v) : value_(v) {}
  template <class P> int level(const P&) const { return Level; }
  template <class P> int name(const P&) const { return Name; }
  template <class P> const T* data(const P&) const { return &value_; }
  template <class P> T* data(const P&) { return &value_; }
  template <class P> std::size_t size(const P&) const { return sizeof value_; }
  template <class P> void resize(const P&, std::size_t) {}
  const T& value() const { return value_; }

 private:
  T value_{};
};

}  // namespace anysock
