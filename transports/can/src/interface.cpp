#include "anysock/can/interface.hpp"

#include <linux/can.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>

#include <boost/asio/error.hpp>
#include <cstring>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace anysock::can {

result<int> find_interface(const uri& u, const std::string& name, bool fd, int probe) {
  auto fail = [&](std::string what) {
    return error{make_error_code(errc::bad_option), fmt::format("{}: {}", u.text, what)};
  };
  if (name.empty() || name.size() >= IFNAMSIZ)
    return fail("give a CAN interface name after '://', e.g. vcan0");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(probe, SIOCGIFINDEX, &ifr) < 0)
    return fail(fmt::format("no network interface '{}'; for a virtual bus: sudo modprobe vcan && sudo ip link "
                            "add {} type vcan && sudo ip link set {} up",
                            name, name, name));
  const int index = ifr.ifr_ifindex;
  if (ioctl(probe, SIOCGIFHWADDR, &ifr) == 0 && ifr.ifr_hwaddr.sa_family != ARPHRD_CAN)
    return fail(fmt::format("'{}' is not a CAN interface (ip -details link show {} says what it is)", name, name));
  if (ioctl(probe, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP))
    return fail(fmt::format("CAN interface '{}' is down; bring it up: sudo ip link set {} up", name, name));
  if (fd && ioctl(probe, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu != CANFD_MTU)
    return fail(fmt::format("'{}' carries classic CAN only (MTU {}); for CAN FD: sudo ip link set {} down && sudo ip "
                            "link set {} mtu 72 && sudo ip link set {} up",
                            name, ifr.ifr_mtu, name, name, name));
  return index;
}

error socket_error(const uri& u, const error_code& ec, std::string_view module) {
  if (ec == boost::asio::error::address_family_not_supported || ec.value() == EPROTONOSUPPORT)
    return {ec, fmt::format("{}: this kernel has no SocketCAN {} (AF_CAN): sudo modprobe {} — or run where "
                            "SocketCAN exists",
                            u.text, module, module)};
  return {ec, fmt::format("{}: cannot open a CAN socket: {}", u.text, ec.message())};
}

void down_watch::went_down(const std::string& link) {
  if (!down_) spdlog::warn("{}: the interface went down; waiting for it to come back up", link);
  down_ = true;
}

void down_watch::came_back(const std::string& link) {
  down_ = false;
  spdlog::info("{}: the interface is up again", link);
}

}  // namespace anysock::can
