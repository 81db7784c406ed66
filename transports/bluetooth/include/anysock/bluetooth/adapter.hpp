// Local Bluetooth adapters (HCI devices) and the one-line errors a user can
// act on: no adapter, adapter down, no Bluetooth in this kernel.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "anysock/error.hpp"
#include "anysock/link.hpp"
#include "anysock/bluetooth/address.hpp"
#include "anysock/uri.hpp"

namespace anysock::bluetooth {

struct adapter_info {
  int id = -1;
  std::string name;  // "hci0"
  bdaddr_t address{};
  bool up = false;
};

// Every HCI device the kernel has, up or down (HCIGETDEVLIST + HCIGETDEVINFO).
result<std::vector<adapter_info>> list_adapters(const uri& u);

// The local address to bind for an adapter named by "hciN", by its address,
// or "" / "any" for every adapter. Fails with one line when there is no such
// adapter or it is down (any: when none is up).
result<bdaddr_t> local_adapter(const uri& u, const std::string& name_or_address);

// The error for a socket() that failed: most often, no AF_BLUETOOTH here;
// EPROTONOSUPPORT: Bluetooth without `protocol` (its kernel module `module`).
error socket_error(const uri& u, const error_code& ec, std::string_view protocol, std::string_view module);

}  // namespace anysock::bluetooth
