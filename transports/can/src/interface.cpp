#include "anysock/can/interface.hpp"

#include <linux/can.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>

#include <boost/asio/error.hpp>
#include <array>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <utility>

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

void down_watch::reply_lost(const std::string& link) {
  went_down(link);
  ++replies_lost_;
}

void down_watch::came_back(const std::string& link) {
  down_ = false;
  if (const auto lost = std::exchange(replies_lost_, 0))
    spdlog::warn("{}: the interface is up again; {} replies could not be sent while it was down", link, lost);
  else
    spdlog::info("{}: the interface is up again", link);
}

error_code overflow_watch::enable(int fd) {
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0)
    return error_code(errno, boost::system::system_category());
  return {};
}

std::optional<std::uint32_t> overflow_watch::count_in(const msghdr& h) {
  if (h.msg_controllen < sizeof(cmsghdr)) return std::nullopt;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c)))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      std::uint32_t count = 0;
      std::memcpy(&count, CMSG_DATA(c), sizeof count);
      return count;
    }
  return std::nullopt;
}

void overflow_watch::saw(std::uint32_t count, const std::string& link) {
  if (count == last_) return;
  dropped_ += static_cast<std::uint32_t>(count - last_);
  last_ = count;
  log_.warn("{}: the kernel dropped {} frames in all on this socket: they came faster than they were taken "
            "and its receive buffer was full",
            link, dropped_);
}

void overflow_watch::closing(int fd, const std::string& link) {
  std::array<std::uint32_t, SK_MEMINFO_VARS> info{};
  socklen_t size = sizeof info;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info.data(), &size) == 0 && size > SK_MEMINFO_DROPS * sizeof info[0])
    dropped_ += static_cast<std::uint32_t>(info[SK_MEMINFO_DROPS] - last_);
  if (dropped_) spdlog::warn("{}: {} frames dropped by the kernel in all (receive buffer full)", link, dropped_);
}

}  // namespace anysock::can
