#include "anysock/bluetooth/adapter.hpp"

#include <sys/ioctl.h>
#include <unistd.h>
#include <bluetooth/hci.h>

#include <boost/asio/error.hpp>
#include <array>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <memory>

namespace anysock::bluetooth {
namespace {

error_code errno_code(int e) { return {e, boost::system::system_category()}; }

std::string describe(const std::vector<adapter_info>& all) {
  std::string s;
  for (const auto& a : all)
    s += fmt::format("{}{} {} ({})", s.empty() ? "" : ", ", a.name, format_address(a.address), a.up ? "up" : "down");
  return s;
}

error no_adapter(const uri& u, std::string what) {
  return {make_error_code(errc::bad_option), fmt::format("{}: {}", u.text, what)};
}

std::string power_on_hint(const adapter_info& a) {
  return fmt::format("bring it up: bluetoothctl power on (or sudo hciconfig {} up); if it stays down, "
                     "rfkill list shows whether it is blocked (rfkill unblock bluetooth)",
                     a.name);
}

}  // namespace

result<std::vector<adapter_info>> list_adapters(const uri& u) {
  int ctl = ::socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC, BTPROTO_HCI);
  if (ctl < 0) return socket_error(u, errno_code(errno), "HCI sockets", "bluetooth");
  std::unique_ptr<int, void (*)(int*)> guard(&ctl, [](int* fd) { ::close(*fd); });

  // hci_dev_list_req ends in a zero-length array: room for HCI_MAX_DEV behind it.
  alignas(hci_dev_list_req) std::array<unsigned char, sizeof(hci_dev_list_req) + HCI_MAX_DEV * sizeof(hci_dev_req)>
      buf{};
  auto& list = *reinterpret_cast<hci_dev_list_req*>(buf.data());
  list.dev_num = HCI_MAX_DEV;
  if (::ioctl(ctl, HCIGETDEVLIST, buf.data()) < 0)
    return error{errno_code(errno), fmt::format("{}: cannot list Bluetooth adapters: {}", u.text,
                                                std::strerror(errno))};
  std::vector<adapter_info> out;
  for (int i = 0; i < list.dev_num && i < HCI_MAX_DEV; ++i) {
    hci_dev_info di{};
    di.dev_id = list.dev_req[i].dev_id;
    if (::ioctl(ctl, HCIGETDEVINFO, &di) < 0) continue;  // unplugged meanwhile
    adapter_info a;
    a.id = di.dev_id;
    a.name = di.name;
    a.address = di.bdaddr;
    a.up = (di.flags & (1u << HCI_UP)) != 0;
    out.push_back(std::move(a));
  }
  return out;
}

result<bdaddr_t> local_adapter(const uri& u, const std::string& which) {
  auto all = list_adapters(u);
  if (!all) return all.err();
  if (all->empty())
    return no_adapter(u, "this machine has no Bluetooth adapter (hciconfig lists none): plug one in, or check that "
                         "its driver loaded (dmesg | grep -i bluetooth)");
  if (which.empty() || which == "any") {
    for (const auto& a : *all)
      if (a.up) return any_address;
    return no_adapter(u, fmt::format("every Bluetooth adapter is down ({}); {}", describe(*all),
                                     power_on_hint(all->front())));
  }
  auto address = parse_address(which);
  for (const auto& a : *all) {
    if (address ? a.address == *address : a.name == which) {
      if (!a.up)
        return no_adapter(u, fmt::format("Bluetooth adapter {} ({}) is down; {}", a.name, format_address(a.address),
                                         power_on_hint(a)));
      return a.address;
    }
  }
  return no_adapter(u, fmt::format("no local Bluetooth adapter {}{} (this machine has {})",
                                   address ? "has address " : "is named ", which, describe(*all)));
}

error socket_error(const uri& u, const error_code& ec, std::string_view protocol, std::string_view module) {
  if (ec == boost::asio::error::address_family_not_supported)
    return {ec, fmt::format("{}: this kernel has no Bluetooth sockets (AF_BLUETOOTH): sudo modprobe bluetooth "
                            "{} — or run where Bluetooth exists (containers and WSL usually lack it)",
                            u.text, module)};
  if (ec.value() == EPROTONOSUPPORT)
    return {ec, fmt::format("{}: this kernel has Bluetooth but no {}: sudo modprobe {}", u.text, protocol, module)};
  return {ec, fmt::format("{}: cannot open a Bluetooth socket: {}", u.text, ec.message())};
}

}  // namespace anysock::bluetooth
