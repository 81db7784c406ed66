#include "anysock/can/isotp_link.hpp"

#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace anysock::can {

bool isotp_link::outlived(const error_code& ec) {
  if (ec.category() != asio::error::get_system_category()) return false;
  const char* what = nullptr;
  switch (ec.value()) {
    case ENETDOWN:
      down_.went_down(description_);
      return true;
    case EILSEQ: what = "a consecutive frame out of sequence"; break;
    case EBADMSG: what = "wrong padding"; break;
    case EMSGSIZE: what = "too long for this socket, or the peer's flow control said overflow"; break;
    case ETIMEDOUT: what = "a consecutive frame that never came"; break;
    case ECOMM: what = "our multi-frame send got no flow control in time"; break;
    default: return false;
  }
  spdlog::warn("{}: a message was lost: {} ({}); going on", description_, what, ec.message());
  return true;
}

result<isotp::socket> open_isotp(const uri& u, const asio::any_io_executor& ex, const isotp_config& c) {
  isotp::socket s(ex);
  error_code ec;
  s.open(isotp(), ec);
  if (ec) return socket_error(u, ec, "can-isotp");
  auto index = find_interface(u, c.interface_name, c.fd, s.native_handle());
  if (!index) return index.err();

  can_isotp_options opts{};
  opts.txpad_content = opts.rxpad_content = CAN_ISOTP_DEFAULT_PAD_CONTENT;
  if (c.padding >= 0) {
    opts.flags |= CAN_ISOTP_TX_PADDING;
    opts.txpad_content = static_cast<__u8>(c.padding);
  }
  if (c.ext_address >= 0) {
    opts.flags |= CAN_ISOTP_EXTEND_ADDR;
    opts.ext_address = static_cast<__u8>(c.ext_address);
  }
  s.set_option(isotp_options(opts), ec);
  can_isotp_fc_options fc{};
  fc.bs = c.block_size;
  fc.stmin = c.stmin;
  if (!ec) s.set_option(isotp_flow_control(fc), ec);
  if (!ec && c.fd) {
    can_isotp_ll_options ll{};
    ll.mtu = CANFD_MTU;
    ll.tx_dl = CANFD_MAX_DLEN;
    ll.tx_flags = CANFD_BRS;
    s.set_option(isotp_link_layer(ll), ec);
  }
  if (!ec) s.bind(isotp::endpoint(*index, c.rx_id, c.tx_id), ec);
  if (!ec) s.non_blocking(true, ec);
  if (ec) return error{ec, fmt::format("{}: cannot set up the ISO-TP socket: {}", u.text, ec.message())};
  return s;
}

}  // namespace anysock::can
