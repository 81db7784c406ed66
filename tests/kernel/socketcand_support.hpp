// `anysock socketcand BUS...` as a child process for the kernel tests: its
// log merged into stdout so a test can wait for a line, its port read from
// the "listening socketcand://HOST:PORT" line.
#pragma once

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "process.hpp"

namespace anysock::test {

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
