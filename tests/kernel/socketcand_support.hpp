// `anysock socketcand BUS...` as a child process for the kernel tests: its
// log merged into stdout so a test can wait for a line, its port read from
// the "listening socketcand://HOST:PORT" line.
#pragma once

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "process.hpp"

namespace anysock::test {

inline constexpr const char* system_python = "/usr/bin/python3";  // Debian's, with python-can 4.1.0

// A protocol client: message() returns the next `< ... >` (inner text,
// trimmed) or None after `quiet` seconds without one.
inline const std::string socketcand_py_client = R"(
import re, socket, subprocess, sys, time
class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buf = b""
    def send(self, text):
        self.s.sendall(("< " + text + " >").encode())
    def message(self, quiet=20.0):
        while True:
            m = re.search(rb"<([^<>]*)>", self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m.group(1).decode().strip()
            self.s.settimeout(quiet)
            try:
                data = self.s.recv(4096)
            except socket.timeout:
                return None
            if not data:
                return None
            self.buf += data
    def ask(self, text):
        self.send(text)
        return self.message()
    # The server takes messages in order: once the echo is back, everything
    # sent before it has been done.
    def barrier(self):
        self.send("echo")
        seen = []
        while True:
            m = self.message()
            if m is None or m == "echo":
                return seen
            seen.append(m)
def cansend(bus, frame):
    subprocess.run(["cansend", bus, frame], check=True)
port, bus = int(sys.argv[1]), sys.argv[2]
c = Client(port)
print("hi:", c.message(), flush=True)
print("open:", c.ask("open " + bus), flush=True)
)";

inline std::vector<std::string> lines_of(const std::string& out) {
  std::vector<std::string> v;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

inline bool has_line(const std::string& out, const std::string& line) {
  auto v = lines_of(out);
  return std::find(v.begin(), v.end(), line) != v.end();
}


struct socketcand_process {
  child proc;
  std::vector<std::string> log;
  std::uint16_t port = 0;

  static socketcand_process start(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"sh", "-c", "exec \"$0\" socketcand \"$@\" 2>&1", ANYSOCK_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    socketcand_process s{child::spawn(argv), {}, 0};
    // Generous: a sanitizer build first loaded over 9p in the emulated guest
    // took over a minute to print its first line.
    while (auto line = s.proc.read_line(std::chrono::seconds(240))) {
      s.log.push_back(*line);
      if (line->rfind("listening socketcand://", 0) == 0) {
        s.port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
        return s;
      }
    }
    auto r = s.proc.wait(std::chrono::seconds(5));
    ADD_FAILURE() << "anysock socketcand did not start (exit " << r.exit_code << "): " << s.joined() << r.out;
    return s;
  }
  void drain() {
    while (auto line = proc.read_line(std::chrono::milliseconds(5))) log.push_back(*line);
  }
  // Reads what it prints for `t`, or until it has printed nothing for `t`.
  void drain_for(std::chrono::milliseconds t) {
    while (auto line = proc.read_line(t)) log.push_back(*line);
  }
  std::string joined() const {
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  }
  // SIGTERM; out then holds everything it printed.
  process_result stop() {
    proc.signal(SIGTERM);
    auto r = proc.wait(std::chrono::seconds(60));
    r.out = joined() + r.out;
    return r;
  }
};

}  // namespace anysock::test
