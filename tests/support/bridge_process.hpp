// `anysock bridge` as a child process, for the loopback and kernel tests:
// started, its bound endpoints read from the "listening URI" lines, its log
// readable while it runs.
#pragma once

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

namespace anysock::test {

// `anysock bridge ARGS...`. Started with `merged`, its stderr (the log)
// goes to the same pipe as its stdout, so a test can wait for a log line
// while it runs (`wait_for`); without, stderr comes apart in stop()'s
// result (for "one line on stderr" checks).
struct bridge_process {
  child proc;
  std::vector<std::string> bound;  // "tcp://[::1]:41234", "can://vcan0", ...
  std::vector<std::string> log;    // every line read so far (merged: the log too)
  bool started = false;

  static bridge_process start(const std::vector<std::string>& args, std::size_t listeners = 1, bool merged = true) {
    return start_subcommand("bridge", args, listeners, merged);
  }
  // The same for another long-running subcommand (serve), to wait for its log.
  static bridge_process start_subcommand(const std::string& sub, const std::vector<std::string>& args,
                                         std::size_t listeners = 1, bool merged = true) {
    std::vector<std::string> argv;
    if (merged) argv = {"sh", "-c", "exec \"$0\" " + sub + " \"$@\" 2>&1", ANYSOCK_BINARY};
    else argv = {ANYSOCK_BINARY, sub};
    argv.insert(argv.end(), args.begin(), args.end());
    bridge_process b{child::spawn(argv), {}, {}, false};
    while (b.bound.size() < listeners) {
      auto line = b.proc.read_line(std::chrono::seconds(60));
      if (!line) {
        auto r = b.proc.wait(std::chrono::seconds(5));
        ADD_FAILURE() << "anysock " << sub << " did not start (exit " << r.exit_code << "): " << b.joined() << r.out << r.err;
        return b;
      }
      b.log.push_back(*line);
      if (line->rfind("listening ", 0) == 0) b.bound.push_back(line->substr(10));
    }
    b.started = true;
    return b;
  }

  // The first line (already seen or still to come) containing `text`.
  std::optional<std::string> wait_for(const std::string& text, std::chrono::milliseconds timeout) {
    for (const auto& l : log)
      if (l.find(text) != std::string::npos) return l;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = proc.read_line(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!line) break;
      log.push_back(*line);
      if (line->find(text) != std::string::npos) return line;
    }
    return std::nullopt;
  }

  // Reads what is there now, without waiting.
  void drain() {
    while (auto line = proc.read_line(std::chrono::milliseconds(5))) log.push_back(*line);
  }

  // SIGTERM, then how it ended; out holds every line it printed (merged:
  // its log too), including those read before.
  process_result stop(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    proc.signal(SIGTERM);
    return finish(timeout);
  }
  // Waits for it to end by itself.
  process_result finish(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    auto r = proc.wait(timeout);
    r.out = joined() + r.out;
    return r;
  }

  std::string joined() const {
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  }

  std::uint16_t port(std::size_t i = 0) const {
    return static_cast<std::uint16_t>(std::stoi(bound.at(i).substr(bound.at(i).rfind(':') + 1)));
  }
};

}  // namespace anysock::test
