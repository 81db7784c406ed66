// SDP (Service Discovery Protocol) through libbluetooth: the echo server's
// Serial Port record, and the client's lookup of a channel by service UUID.
//
// Publishing goes through bluetoothd's local SDP socket (/run/sdp), which
// bluetoothd opens only in compat mode (-C). The alternative, BlueZ's
// Profile API over D-Bus, makes bluetoothd own the listening socket and pass
// each connection over D-Bus; the server here owns its socket (one Asio
// acceptor like every transport), so it registers a plain record instead.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "anysock/link.hpp"
#include "anysock/bluetooth/rfcomm_uri.hpp"

namespace anysock::rfcomm {

// A record in the local SDP database, withdrawn when the last owner lets go.
// bluetoothd also drops it when this process dies (it removes the records
// of an SDP session that closes), so none is left behind.
class sdp_record;

// Registers "this channel serves `uuid` (Serial Port by default) under
// `name`" on `adapter` (any_address: every adapter). The error says why not,
// in a form fit for one warning line.
result<std::shared_ptr<sdp_record>> publish_record(const bdaddr_t& adapter, std::uint8_t channel,
                                                   const service_uuid& uuid, const std::string& name);

struct found_service {
  std::uint8_t channel = 0;
  std::string name;
};

// Asks the SDP server of `remote` for records of class `uuid` with an RFCOMM
// channel (and, when given, that service name); the first match wins.
// Non-blocking throughout, so the caller's timeout can cancel it.
asio::awaitable<result<found_service>> find_service(const uri& u, asio::any_io_executor ex, const bdaddr_t& local,
                                                    const bdaddr_t& remote, const service_uuid& uuid,
                                                    const std::optional<std::string>& name);

// What a failed RFCOMM (or SDP: channel 0) connect to `remote` means, in one
// line.
error connect_error(const uri& u, const error_code& ec, const std::string& remote, int channel);

}  // namespace anysock::rfcomm
