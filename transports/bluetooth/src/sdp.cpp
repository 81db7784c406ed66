#include "anysock/bluetooth/sdp.hpp"

#include <sys/socket.h>
#include <bluetooth/sdp.h>
#include <bluetooth/sdp_lib.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <vector>

#include "anysock/bluetooth/adapter.hpp"

namespace anysock::rfcomm {
namespace {

using bluetooth::local_address;

error_code errno_code(int e) { return {e, boost::system::system_category()}; }

uuid_t to_sdp(const service_uuid& u) {
  uuid_t out{};
  if (u.is_short)
    sdp_uuid16_create(&out, u.short_value);
  else
    sdp_uuid128_create(&out, u.bytes.data());
  return out;
}

// libbluetooth's lists own nothing here: every element points at a local.
struct list_guard {
  sdp_list_t* list = nullptr;
  ~list_guard() { sdp_list_free(list, nullptr); }
};

// The record: browsable, of class `uuid` in the Serial Port profile, reached
// over L2CAP then RFCOMM on `channel` (what `sdptool add SP` builds).
sdp_record_t* build_record(std::uint8_t channel, const service_uuid& uuid, const std::string& name) {
  sdp_record_t* rec = sdp_record_alloc();
  if (!rec) return nullptr;
  uuid_t root_uuid, class_uuid = to_sdp(uuid), l2cap_uuid, rfcomm_uuid;
  sdp_uuid16_create(&root_uuid, PUBLIC_BROWSE_GROUP);
  sdp_uuid16_create(&l2cap_uuid, L2CAP_UUID);
  sdp_uuid16_create(&rfcomm_uuid, RFCOMM_UUID);
  sdp_profile_desc_t profile{};
  sdp_uuid16_create(&profile.uuid, SERIAL_PORT_PROFILE_ID);
  profile.version = 0x0100;

  list_guard root{sdp_list_append(nullptr, &root_uuid)};
  list_guard classes{sdp_list_append(nullptr, &class_uuid)};
  list_guard profiles{sdp_list_append(nullptr, &profile)};
  sdp_set_browse_groups(rec, root.list);
  sdp_set_service_classes(rec, classes.list);
  sdp_set_profile_descs(rec, profiles.list);

  sdp_data_t* ch = sdp_data_alloc(SDP_UINT8, &channel);
  list_guard l2cap{sdp_list_append(nullptr, &l2cap_uuid)};
  list_guard rfcomm_proto{sdp_list_append(sdp_list_append(nullptr, &rfcomm_uuid), ch)};
  list_guard stack{sdp_list_append(sdp_list_append(nullptr, l2cap.list), rfcomm_proto.list)};
  list_guard access{sdp_list_append(nullptr, stack.list)};
  sdp_set_access_protos(rec, access.list);  // copies the data
  sdp_data_free(ch);
  sdp_set_info_attr(rec, name.c_str(), "anysock", "Echoes every byte back");
  return rec;
}

// What one search found, filled by libbluetooth's completion callback.
struct search_state {
  bool done = false;
  std::uint16_t status = 0;
  bool malformed = false;  // an answer that does not parse to its end
  std::vector<found_service> found;
};

void on_search_done(std::uint8_t type, std::uint16_t status, std::uint8_t* rsp, std::size_t size, void* udata) {
  auto& st = *static_cast<search_state*>(udata);
  st.done = true;
  st.status = status;
  if (status != 0 || type != SDP_SVC_SEARCH_ATTR_RSP || !rsp) return;
  // The response: a sequence of attribute lists, one per matching record.
  std::uint8_t dtd = 0;
  int seqlen = 0;
  int scanned = sdp_extract_seqtype(rsp, static_cast<int>(size), &dtd, &seqlen);
  if (scanned <= 0 || seqlen > static_cast<int>(size) - scanned) {
    st.malformed = true;
    return;
  }
  int left = static_cast<int>(size) - scanned;
  const std::uint8_t* p = rsp + scanned;
  while (left > 0 && seqlen > 0) {
    int recsize = 0;
    sdp_record_t* rec = sdp_extract_pdu(p, left, &recsize);
    // A record that does not parse is a damaged answer, not a missing
    // service: the records after it (ours among them) would go unseen.
    if (!rec) {
      st.malformed = true;
      break;
    }
    found_service s;
    sdp_list_t* protos = nullptr;
    if (sdp_get_access_protos(rec, &protos) == 0) {
      int ch = sdp_get_proto_port(protos, RFCOMM_UUID);
      if (ch > 0 && ch <= max_channel) s.channel = static_cast<std::uint8_t>(ch);
      sdp_list_foreach(protos, reinterpret_cast<sdp_list_func_t>(sdp_list_free), nullptr);
      sdp_list_free(protos, nullptr);
    }
    char name[256] = {};
    if (sdp_get_service_name(rec, name, sizeof name - 1) == 0) s.name = name;
    sdp_record_free(rec);
    if (s.channel) st.found.push_back(std::move(s));
    if (recsize <= 0) {
      st.malformed = true;
      break;
    }
    p += recsize;
    left -= recsize;
    seqlen -= recsize;
  }
}

}  // namespace

class sdp_record {
 public:
  sdp_record(sdp_session_t* session, sdp_record_t* rec, const bdaddr_t& adapter)
      : session_(session), rec_(rec), adapter_(adapter) {}
  sdp_record(const sdp_record&) = delete;
  sdp_record& operator=(const sdp_record&) = delete;
  ~sdp_record() {
    // Unregistering frees the record; when it fails (bluetoothd gone) the
    // record went with bluetoothd and only our copy is left to free.
    if (sdp_device_record_unregister(session_, &adapter_, rec_) != 0) sdp_record_free(rec_);
    sdp_close(session_);
  }

 private:
  sdp_session_t* session_;
  sdp_record_t* rec_;
  bdaddr_t adapter_;
};

result<std::shared_ptr<sdp_record>> publish_record(const bdaddr_t& adapter, std::uint8_t channel,
                                                   const service_uuid& uuid, const std::string& name) {
  bdaddr_t any = any_address, local = local_address;
  // Local: a Unix socket, so this returns at once whether or not it works.
  sdp_session_t* session = sdp_connect(&any, &local, SDP_RETRY_IF_BUSY);
  if (!session) {
    int e = errno;
    return error{errno_code(e),
                 fmt::format("cannot reach bluetoothd's SDP server (/run/sdp: {}); it opens that only in compat "
                             "mode: run bluetoothd with -C (Debian: add -C to ExecStart in "
                             "/lib/systemd/system/bluetooth.service)",
                             std::strerror(e))};
  }
  sdp_record_t* rec = build_record(channel, uuid, name);
  bdaddr_t dev = adapter;
  if (!rec || sdp_device_record_register(session, &dev, rec, 0) < 0) {
    int e = errno;
    if (rec) sdp_record_free(rec);
    sdp_close(session);
    return error{errno_code(e), fmt::format("bluetoothd did not take the record: {}", std::strerror(e))};
  }
  return std::make_shared<sdp_record>(session, rec, adapter);
}

namespace {

// One lookup's outcome, and whether asking again may get a good answer.
struct lookup {
  result<found_service> found;
  bool transient = false;
};

// Errors of the L2CAP link to the SDP server that come and go: a link torn
// down under the connect or the answer, a controller busy with another one.
bool transient_errno(int e) {
  return e == ECONNRESET || e == ECONNABORTED || e == EBUSY || e == EAGAIN || e == EPIPE || e == ENOTCONN;
}

asio::awaitable<lookup> find_service_once(const uri& u, asio::any_io_executor ex, const bdaddr_t& local,
                                          const bdaddr_t& remote, const service_uuid& uuid,
                                          const std::optional<std::string>& name) {
  const std::string who = format_address(remote);
  bdaddr_t src = local, dst = remote;
  // Non-blocking: the L2CAP connect to the SDP server (PSM 1) is under way
  // when this returns; it pages the device if no link exists yet.
  sdp_session_t* session = sdp_connect(&src, &dst, SDP_NON_BLOCKING);
  if (!session) {
    int e = errno;
    co_return lookup{connect_error(u, errno_code(e), who, 0), transient_errno(e)};
  }
  asio::posix::stream_descriptor sock(ex, sdp_get_socket(session));
  struct closer {  // the session owns the descriptor: Asio lets go first
    sdp_session_t* s;
    asio::posix::stream_descriptor& d;
    ~closer() {
      d.release();
      sdp_close(s);
    }
  } close_on_exit{session, sock};

  auto [wec] = co_await sock.async_wait(asio::posix::stream_descriptor::wait_write, asio::as_tuple(asio::use_awaitable));
  if (wec) co_return lookup{error{wec, fmt::format("{}: SDP lookup on {} stopped: {}", u.text, who, wec.message())}};
  int so_error = 0;
  socklen_t len = sizeof so_error;
  ::getsockopt(sdp_get_socket(session), SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error) co_return lookup{connect_error(u, errno_code(so_error), who, 0), transient_errno(so_error)};

  search_state st;
  uuid_t want = to_sdp(uuid);
  std::uint32_t range = 0x0000ffff;  // every attribute
  list_guard search{sdp_list_append(nullptr, &want)};
  list_guard attrs{sdp_list_append(nullptr, &range)};
  if (sdp_set_notify(session, on_search_done, &st) < 0 ||
      sdp_service_search_attr_async(session, search.list, SDP_ATTR_REQ_RANGE, attrs.list) < 0) {
    int e = errno;
    co_return lookup{error{errno_code(e), fmt::format("{}: cannot send the SDP request to {}: {}", u.text, who,
                                                      std::strerror(e))},
                     transient_errno(e)};
  }
  // Each readable response is one step; a long answer comes in several
  // (sdp_process sends the continuation request itself).
  while (!st.done) {
    auto [rec] = co_await sock.async_wait(asio::posix::stream_descriptor::wait_read, asio::as_tuple(asio::use_awaitable));
    if (rec) co_return lookup{error{rec, fmt::format("{}: SDP lookup on {} stopped: {}", u.text, who, rec.message())}};
    // Fails when the link drops mid-answer or the answer is garbled: both
    // worth asking again.
    if (sdp_process(session) < 0 && !st.done)
      co_return lookup{error{errno_code(EPROTO), fmt::format("{}: {} sent an SDP answer that cannot be read", u.text,
                                                             who)},
                       true};
  }
  if (st.status != 0) {
    int e = sdp_get_error(session);
    // The server's error answers (invalid continuation state, busy) and
    // local failures alike: a fresh request may well succeed.
    co_return lookup{error{errno_code(e ? e : EPROTO),
                           fmt::format("{}: the SDP search on {} failed ({}); give the channel: rfcomm://{}:CH", u.text,
                                       who, e ? std::strerror(e) : fmt::format("SDP status 0x{:04x}", st.status),
                                       who)},
                     true};
  }
  for (const auto& s : st.found)
    if (!name || s.name == *name) co_return lookup{s};
  if (st.malformed)
    co_return lookup{error{errno_code(EPROTO), fmt::format("{}: {} sent an SDP answer that does not parse", u.text,
                                                           who)},
                     true};
  co_return lookup{error{errno_code(ENOENT),
                  fmt::format("{}: {} publishes no RFCOMM service of class {}{} (sdptool browse {} lists what it "
                              "has); give the channel: rfcomm://{}:CH",
                              u.text, who, format_uuid(uuid) + (uuid == serial_port_uuid ? " (Serial Port)" : ""),
                              name ? fmt::format(" named '{}'", *name) : std::string(), who, who)}};
}

}  // namespace

// A real client wants this too: a phone or a module answers SDP while it is
// busy with other links, and a lookup whose link is torn down under it, or
// whose answer comes back garbled (BlueZ's SDP server keys continuation
// states by the second, so two long answers in the same second can mix),
// succeeds when asked again. Three attempts at most, a short pause between;
// a definite answer (no such service, no SDP server, page timeout) ends it
// at once, and the caller's timeout bounds the whole.
asio::awaitable<result<found_service>> find_service(const uri& u, asio::any_io_executor ex, const bdaddr_t& local,
                                                    const bdaddr_t& remote, const service_uuid& uuid,
                                                    const std::optional<std::string>& name) {
  constexpr int attempts = 3;
  for (int i = 1;; ++i) {
    auto r = co_await find_service_once(u, ex, local, remote, uuid, name);
    if (r.found || !r.transient || i == attempts) co_return std::move(r.found);
    spdlog::debug("{}: SDP lookup attempt {} of {} failed: {}; asking again", u.text, i, attempts,
                  r.found.err().message);
    asio::steady_timer pause(ex, std::chrono::milliseconds(500 * i));
    auto [ec] = co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return std::move(r.found);
  }
}

}  // namespace anysock::rfcomm
