// Shared by the RFCOMM kernel tests: the two virtual controllers of the
// harness (the server on controller 0, clients on controller 1), and
// `anysock serve` with its log on the same pipe as its stdout, so a test can
// wait for what the server says (a link reset, an idle link closed).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kernel_env.hpp"
#include "serve_process.hpp"

namespace anysock::test {

constexpr const char* system_python = "/usr/bin/python3";  // has AF_BLUETOOTH

struct logged_server {
  child proc;
  std::vector<std::string> bound;  // "rfcomm://00:AA:01:00:00:23:1"
  std::vector<std::string> log;    // every line read so far

  static logged_server start(std::vector<std::string> args, std::size_t listeners = 1) {
    return start_with("exec \"$0\" serve \"$@\" 2>&1", std::move(args), listeners);
  }

  // `script` runs under sh -c with $0 = our binary and "$@" = args.
  static logged_server start_with(const std::string& script, std::vector<std::string> args,
                                  std::size_t listeners = 1) {
    std::vector<std::string> argv{"sh", "-c", script, ANYSOCK_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    logged_server s{child::spawn(argv), {}, {}};
    while (s.bound.size() < listeners) {
      auto line = s.proc.read_line(std::chrono::seconds(60));
      if (!line) {
        ADD_FAILURE() << "anysock serve did not start: " << s.joined() << s.proc.wait(std::chrono::seconds(5)).out;
        return s;
      }
      s.log.push_back(*line);
      if (line->rfind("listening ", 0) == 0) s.bound.push_back(line->substr(10));
    }
    return s;
  }

  // The first line (already seen or still to come) containing `text`.
  std::optional<std::string> wait_for(const std::string& text, std::chrono::seconds timeout) {
    for (const auto& l : log)
      if (l.find(text) != std::string::npos) return l;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = proc.read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!line) break;
      log.push_back(*line);
      if (line->find(text) != std::string::npos) return line;
    }
    return std::nullopt;
  }

  std::string joined() const {
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  }

  int channel(std::size_t i = 0) const { return std::stoi(bound.at(i).substr(bound.at(i).rfind(':') + 1)); }
};

class rfcomm_test : public bluetooth_test {
 protected:
  void SetUp() override {
    bluetooth_test::SetUp();
    if (!HasFatalFailure()) forget_keys();
  }

  // The harness makes both controllers non-bondable (see fixtures.sh), so
  // no link key should outlive its link; unpairing anyway covers a
  // bluetoothd that turned bonding back on. btmgmt unpair also disconnects,
  // and a new link that crosses the teardown of the old one leaves both
  // controllers with stale handles. So first let the link a test before
  // left time out by itself (~2 s after its last channel closed), unpair
  // only then, and start with none up. Not paired is not an error here.
  void forget_keys() const {
    wait_for_no_acl();
    run({"btmgmt", "--index", hci0.substr(3), "unpair", addr1}, std::chrono::seconds(30));
    run({"btmgmt", "--index", hci1.substr(3), "unpair", addr0}, std::chrono::seconds(30));
    wait_for_no_acl();
  }
  void wait_for_no_acl() const {
    for (int i = 0; i < 60; ++i) {
      bool up = false;
      for (const auto& h : {hci0, hci1})
        up = up || run({"hcitool", "-i", h, "con"}, std::chrono::seconds(30)).out.find("ACL") != std::string::npos;
      if (!up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  // Our client on controller 1 to the server on controller 0.
  std::string client_uri(int channel, const std::string& extra = "") const {
    return "rfcomm://" + addr0 + ":" + std::to_string(channel) + "?adapter=" + hci1 + extra;
  }

  // Powered, page-scanning, and (under bluetoothd, which turns it off when
  // it sees an adapter come up) connectable: what the harness set up.
  static bool restore_controller(const std::string& hci) {
    for (int i = 0; i < 40; ++i) {
      run({"hciconfig", hci, "up", "piscan"}, std::chrono::seconds(30));
      if (!kernel_env("ANYSOCK_BLUETOOTHD").empty()) {
        run({"btmgmt", "--index", hci.substr(3), "connectable", "on"}, std::chrono::seconds(30));
        run({"btmgmt", "--index", hci.substr(3), "bondable", "off"}, std::chrono::seconds(30));
      }
      bool stays = true;
      for (int k = 0; k < 3 && stays; ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        stays = run({"hciconfig", hci}, std::chrono::seconds(30)).out.find("UP RUNNING PSCAN") != std::string::npos;
      }
      if (stays) return true;
    }
    return false;
  }
};

}  // namespace anysock::test
