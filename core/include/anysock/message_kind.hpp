// What one message of a family is, as far as a bridge must know: a stream's
// bytes, a whole message without a header (ISO-TP), or a frame whose header
// (CAN ID and flags) is part of it.
#pragma once

#include <string_view>

namespace anysock {

enum class message_kind { bytes, messages, frames };
std::string_view describe(message_kind k);

}  // namespace anysock
