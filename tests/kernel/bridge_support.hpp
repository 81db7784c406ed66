// Shared by the bridge kernel tests (`anysock bridge A B`): the bridge as a
// child process, started like `anysock serve` (it prints "listening URI"
// once per listener of A), with its log readable while it runs; and, for
// the CAN cases, candump as a witness that keeps every frame it saw.
#pragma once

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bridge_process.hpp"
#include "can_support.hpp"
#include "process.hpp"
#include "serve_process.hpp"

namespace anysock::test {

// The lines of `text` that contain `what`.
inline std::vector<std::string> lines_with(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.find(what) != std::string::npos) out.push_back(l);
  return out;
}

// The line a bridged link ends with ("EP: bridge of PEER and B ends: N
// messages (X bytes) to B, M messages (Y bytes) back, dropped D"), each.
inline std::vector<std::string> bridge_ends(const std::string& log) {
  std::vector<std::string> out;
  for (const auto& l : lines_with(log, ": bridge of "))
    if (l.find(" ends: ") != std::string::npos && l.find(", dropped ") != std::string::npos) out.push_back(l);
  return out;
}

// D of one such line, or -1.
inline long dropped_in(const std::string& end_line) {
  auto at = end_line.rfind(", dropped ");
  if (at == std::string::npos) return -1;
  try {
    return std::stol(end_line.substr(at + 10));
  } catch (const std::exception&) {
    return -1;
  }
}

// The messages counted each way in one such line: {to B, back}, or {-1, -1}.
inline std::pair<long, long> crossed_in(const std::string& end_line) {
  auto at = end_line.find(" ends: ");
  if (at == std::string::npos) return {-1, -1};
  long to_b = -1, back = -1;
  try {
    to_b = std::stol(end_line.substr(at + 7));
    auto comma = end_line.find(", ", at);
    if (comma != std::string::npos) back = std::stol(end_line.substr(comma + 2));
  } catch (const std::exception&) {
  }
  return {to_b, back};
}

// The drops of every link that ended, added up; -1 when none ended.
inline long drops_reported(const std::string& log) {
  long sum = -1;
  for (const auto& l : bridge_ends(log)) {
    auto d = dropped_in(l);
    if (d >= 0) sum = (sum < 0 ? 0 : sum) + d;
  }
  return sum;
}

// Whether a process runs (exists and is not a zombie), from /proc.
inline bool running(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(f >> pid_field)) return false;
  // comm is in parentheses and may hold spaces: the state follows the last ')'
  std::string rest;
  std::getline(f, rest);
  auto close = rest.rfind(')');
  if (close == std::string::npos || close + 2 >= rest.size()) return false;
  return rest[close + 2] != 'Z' && rest[close + 2] != 'X';
}

// ---- CAN ----------------------------------------------------------------

// What the tests send to find out that a candump has bound, or that a
// bridge passes frames: four bytes no generated frame has (cangen frames
// below are all 8 bytes long). Frames carrying them are left out of every
// count.
constexpr const char* probe_data = "FEEDC0DE";

// One frame as candump -L prints it, without the time stamp:
// "vcan0 123#11223344", "vcan1 123##1AABB" (FD with flags).
struct frame {
  std::string ifc, id, data;
  int fd_flags = -1;  // -1: classic frame; else the FD flags nibble (1 = BRS)
  std::string text;   // "123#11223344"

  static std::optional<frame> parse(const std::string& line) {
    auto ts = line.find(") ");
    std::string rest = ts == std::string::npos ? line : line.substr(ts + 2);
    auto sp = rest.find(' ');
    if (sp == std::string::npos) return std::nullopt;
    frame f;
    f.ifc = rest.substr(0, sp);
    f.text = rest.substr(sp + 1);
    auto hash = f.text.find('#');
    if (hash == std::string::npos) return std::nullopt;
    f.id = f.text.substr(0, hash);
    if (f.text.size() > hash + 1 && f.text[hash + 1] == '#') {
      if (f.text.size() < hash + 3) return std::nullopt;
      f.fd_flags = std::stoi(f.text.substr(hash + 2, 1), nullptr, 16);
      f.data = f.text.substr(hash + 3);
    } else {
      f.data = f.text.substr(hash + 1);
    }
    return f;
  }
  unsigned long id_value() const { return std::stoul(id, nullptr, 16); }
  bool is_probe() const { return data == probe_data; }
};

// candump -L on one interface (with optional candump filters), keeping
// every frame it printed. Started (and known to be bound) before a bridge
// touches the bus, so its own probe crosses nothing.
struct bus_dump {
  child proc;
  std::string ifc;
  std::vector<frame> frames;

  static bus_dump start(const std::string& ifc) {
    // candump_ready sends 7FF#FEEDC0DE until candump shows a line.
    auto c = candump_ready(ifc, {ifc}, std::string("7FF#") + probe_data);
    return bus_dump{std::move(c), ifc, {}};
  }

  void take(const std::string& line) {
    if (auto f = frame::parse(line)) frames.push_back(*f);
  }
  // Reads what candump printed so far (its pipe must not fill: it would
  // stop reading its socket and the kernel would drop frames).
  void drain() {
    while (auto line = proc.read_line(std::chrono::milliseconds(5))) take(*line);
  }
  // Reads until `done` holds for the frames (not probes) seen, or timeout.
  bool read_until(const std::function<bool(const std::vector<frame>&)>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (done(frames)) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (auto line = proc.read_line(std::chrono::milliseconds(200))) take(*line);
    }
  }
  // Frames (probes left out) that pass `pred`.
  std::vector<frame> matching(const std::function<bool(const frame&)>& pred) const {
    std::vector<frame> out;
    for (const auto& f : frames)
      if (!f.is_probe() && pred(f)) out.push_back(f);
    return out;
  }
  std::size_t count(const std::function<bool(const frame&)>& pred) const { return matching(pred).size(); }
  // Every frame it saw, one a line (for failure messages; long lists cut).
  std::string listing(std::size_t at_most = 40) const {
    std::string s;
    std::size_t n = 0;
    for (const auto& f : frames) {
      if (n++ == at_most) {
        s += "  ... " + std::to_string(frames.size() - at_most) + " more\n";
        break;
      }
      s += "  " + f.ifc + " " + f.text + "\n";
    }
    return s;
  }
  void stop() {
    drain();
    proc.signal(SIGINT);
    auto r = proc.wait(std::chrono::seconds(30));
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);) take(l);
  }
};

// Runs a can-utils generator (cangen ...) to its end while every dump keeps
// reading. True when it exited 0.
inline bool run_pumping(const std::vector<std::string>& argv, std::vector<bus_dump*> dumps,
                        std::chrono::seconds timeout = std::chrono::seconds(180)) {
  std::vector<std::string> sh{"sh", "-c", "\"$0\" \"$@\" && echo generator-done || echo \"generator-failed $?\""};
  sh.insert(sh.end(), argv.begin(), argv.end());
  auto gen = child::spawn(sh);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto line = gen.read_line(std::chrono::milliseconds(20))) {
      auto r = gen.wait(std::chrono::seconds(10));
      for (auto* d : dumps) d->drain();
      if (*line == "generator-done") return true;
      ADD_FAILURE() << argv[0] << ": " << *line << ": " << r.err;
      return false;
    }
    for (auto* d : dumps) d->drain();
  }
  ADD_FAILURE() << argv[0] << " did not finish within " << timeout.count() << " s";
  return false;
}

// Sends `probe` (a cansend frame carrying probe_data) on `from` every half
// second until `to` shows a probe frame with ID `expect_id`: then the bridge
// passes frames that way. Bounded: 120 tries.
inline bool wait_crossing(const std::string& from, const std::string& probe, bus_dump& to,
                          const std::string& expect_id) {
  for (int i = 0; i < 120; ++i) {
    auto sent = run({"cansend", from, probe}, std::chrono::seconds(30));
    if (sent.exit_code != 0) {
      ADD_FAILURE() << "cansend " << from << " " << probe << ": " << sent.err;
      return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto line = to.proc.read_line(std::chrono::milliseconds(100))) {
        to.take(*line);
        if (!to.frames.empty() && to.frames.back().is_probe() && to.frames.back().id == expect_id) return true;
      }
    }
  }
  ADD_FAILURE() << "no probe " << probe << " sent on " << from << " reached " << to.ifc << " as " << expect_id
                << " in 60 s; it saw:\n"
                << to.listing();
  return false;
}

// Frames with this ID, for bus_dump::matching and count.
inline auto with_id(const std::string& id) {
  return [id](const frame& f) { return f.id == id; };
}

// The frames' texts ("123#0011..."), in order.
inline std::vector<std::string> texts(const std::vector<frame>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.push_back(f.text);
  return out;
}

// A vcan of a test's own, removed at the end of the test.
struct private_vcan {
  explicit private_vcan(std::string n, int mtu = 16) : name(std::move(n)) {
    auto added = run({"ip", "link", "add", "dev", name, "type", "vcan"}, std::chrono::seconds(30));
    EXPECT_EQ(added.exit_code, 0) << "ip link add (needs root and the vcan module): " << added.err;
    if (added.exit_code != 0) return;
    if (mtu != 16) {
      EXPECT_EQ(run({"ip", "link", "set", "dev", name, "mtu", std::to_string(mtu)}, std::chrono::seconds(30)).exit_code,
                0);
    }
    up = run({"ip", "link", "set", "up", name}, std::chrono::seconds(30)).exit_code == 0;
  }
  ~private_vcan() { run({"ip", "link", "del", "dev", name}, std::chrono::seconds(30)); }
  private_vcan(const private_vcan&) = delete;
  private_vcan& operator=(const private_vcan&) = delete;
  std::string name;
  bool up = false;
};

}  // namespace anysock::test
