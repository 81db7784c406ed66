// Local Bluetooth adapters (HCI devices) and the one-line errors a user can
// act on: no adapter, adapter down, no Bluetooth in this kernel, and what a
// failed connect means.
#pragma once

#include <string>
#include <vector>

#include "anysock/error.hpp"
#include "anysock/link.hpp"
#include "anysock/rfcomm/config.hpp"

namespace anysock::rfcomm {

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

// The error for a socket() that failed: most often, no AF_BLUETOOTH here.
error socket_error(const uri& u, const error_code& ec);

// What a failed RFCOMM (or SDP) connect to `remote` means, in one line.
error connect_error(const uri& u, const error_code& ec, const std::string& remote, int channel);

}  // namespace anysock::rfcomm
