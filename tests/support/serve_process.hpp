// `anysock serve` as a child process: started, its bound port read from the
// "listening URI" line it prints, stopped on scope exit.
#pragma once

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "process.hpp"

namespace anysock::test {

struct serve_process {
  child proc;
  std::vector<std::string> bound;  // "tcp://[::1]:41234", ...

  static serve_process start(std::vector<std::string> args, std::size_t listeners = 1) {
    std::vector<std::string> argv{ANYSOCK_BINARY, "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    serve_process s{child::spawn(argv), {}};
    for (std::size_t i = 0; i < listeners; ++i) {
      // 60 s: the first start in an emulated guest pages the binary and its
      // libraries (libmosquitto pulls in OpenSSL) in over 9p; under ASan that
      // took longer than 20 s.
      auto line = s.proc.read_line(std::chrono::seconds(60));
      if (!line || line->rfind("listening ", 0) != 0) {
        auto r = s.proc.wait(std::chrono::seconds(2));
        ADD_FAILURE() << "anysock serve did not start: " << r.err;
        return s;
      }
      s.bound.push_back(line->substr(10));
    }
    return s;
  }
  // SIGTERM, then what it printed and how it ended.
  process_result stop(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    proc.signal(SIGTERM);
    return proc.wait(timeout);
  }
  std::uint16_t port(std::size_t i = 0) const {
    return static_cast<std::uint16_t>(std::stoi(bound.at(i).substr(bound.at(i).rfind(':') + 1)));
  }
};

// Runs `anysock ARGS...` to completion.
inline process_result run_anysock(std::vector<std::string> args, std::chrono::milliseconds timeout =
                                                                 std::chrono::seconds(30),
                              const std::string& input = "") {
  args.insert(args.begin(), ANYSOCK_BINARY);
  return run(args, timeout, input);
}

// The value of "key": in `anysock bench --json`'s one-line summary, as text
// ("" when absent).
inline std::string json_field(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return "";
  at += key.size() + 3;
  return json.substr(at, json.find_first_of(",}", at) - at);
}

// Lines of text, without the trailing newline.
inline std::size_t line_count(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n + (!s.empty() && s.back() != '\n');
}

}  // namespace anysock::test
