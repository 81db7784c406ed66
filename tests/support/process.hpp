// Runs other programs from tests: our own binary and real peers nobody here
// wrote (socat, nc, python3, can-utils, BlueZ tools). Every wait is bounded;
// a child still running when its handle goes away is killed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace anysock::test {

struct process_result {
  int exit_code = -1;   // -1 when killed by a signal
  int signal = 0;       // the signal that ended it, or 0
  bool timed_out = false;
  std::string out, err;
};

class child {
 public:
  // argv[0] is looked up in PATH. `input` is written to its stdin, which is
  // then closed (unless keep_stdin_open).
  static child spawn(const std::vector<std::string>& argv, const std::string& input = "",
                     bool keep_stdin_open = false);
  child(child&&) noexcept;
  child& operator=(child&&) = delete;
  ~child();

  pid_t pid() const { return pid_; }
  // Writes to its stdin (kept open at spawn); false once that is closed or
  // the child stopped reading. close_input() sends it EOF.
  bool write_input(const std::string& text);
  void close_input();
  // Waits for one whole line on stdout (without the newline), or nullopt on
  // EOF or timeout. Bytes after it stay buffered for wait().
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  void signal(int sig);
  // Waits for exit; on timeout kills it (SIGKILL) and says so.
  process_result wait(std::chrono::milliseconds timeout);
  // Resident set size in KiB, from /proc, or -1.
  long rss_kib() const;

 private:
  child() = default;
  void pump(int timeout_ms);
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string out_buf_, err_buf_;
  bool exited_ = false;
  int status_ = 0;
};

process_result run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                   const std::string& input = "");

// Whether a program is on PATH.
bool have_program(const std::string& name);

}  // namespace anysock::test
