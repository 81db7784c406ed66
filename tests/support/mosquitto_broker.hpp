// A real mosquitto broker for the mqtt:// tests: started by the test on
// 127.0.0.1 on a free port, with its own config in a temp folder (no
// persistence, anonymous clients), never the system's broker nor port 1883.
// It can be killed and started again on the same port.
#pragma once

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "process.hpp"

namespace anysock::test {

class mosquitto_broker {
 public:
  // `extra`: more lines for its config file.
  explicit mosquitto_broker(const std::string& extra = "") {
    char dir_template[] = "/tmp/anysock-mosquitto-XXXXXX";
    dir_ = mkdtemp(dir_template);
    port_ = free_loopback_port();
    std::ofstream(dir_ + "/mosquitto.conf") << "listener " << port_ << " 127.0.0.1\n"
                                            << "allow_anonymous true\npersistence false\n"
                                            << "log_dest stderr\nlog_type error\nlog_type warning\n"
                                            << "sys_interval 1\n"
                                            << extra;
    start();
  }
  ~mosquitto_broker() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  mosquitto_broker(const mosquitto_broker&) = delete;
  mosquitto_broker& operator=(const mosquitto_broker&) = delete;

  std::uint16_t port() const { return port_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
  // mqtt://127.0.0.1:PORT/TOPIC
  std::string uri(const std::string& topic) const { return "mqtt://" + host_port() + "/" + topic; }

  // Starts it (again) on its port; fails the test when it does not listen.
  void start() {
    proc_.emplace(child::spawn({"mosquitto", "-c", dir_ + "/mosquitto.conf"}));
    for (int i = 0; i < 200; ++i) {
      if (accepts()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "mosquitto did not listen on 127.0.0.1:" << port_ << ": " << proc_->wait(std::chrono::seconds(1)).err;
  }
  // SIGKILL: its clients see the connection drop.
  void kill() {
    if (!proc_) return;
    proc_->signal(SIGKILL);
    proc_->wait(std::chrono::seconds(5));
    proc_.reset();
  }
  void stop() {
    if (!proc_) return;
    proc_->signal(SIGTERM);
    proc_->wait(std::chrono::seconds(5));
    proc_.reset();
  }

 private:
  static std::uint16_t free_loopback_port() {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    close(s);
    return ntohs(a.sin_port);
  }
  bool accepts() const {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    const bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    return ok;
  }

  std::string dir_;
  std::uint16_t port_ = 0;
  std::optional<child> proc_;
};

// mosquitto_pub -f: `bytes` published as one message on `topic`.
inline process_result publish_file(const mosquitto_broker& b, const std::string& topic, const std::string& bytes) {
  char path[] = "/tmp/anysock-mqtt-payload-XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  std::ofstream(path, std::ios::binary) << bytes;
  auto r = run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(b.port()), "-t", topic, "-f", path},
               std::chrono::seconds(30));
  unlink(path);
  return r;
}

// A frame in the documented binary payload (docs/mqtt.md), written out by
// hand as another publisher would: version 1, flags, DLC fields, ID, time 0.
inline std::string bin_frame(std::uint32_t id, const std::string& data, std::uint8_t flags = 0) {
  std::string p{char(1), char(flags), char(0), char(0)};
  for (int i = 3; i >= 0; --i) p.push_back(char((id >> (8 * i)) & 0xFF));
  return p + std::string(8, '\0') + data;
}

}  // namespace anysock::test
