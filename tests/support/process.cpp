#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace anysock::test {
namespace {

void must(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

child child::spawn(const std::vector<std::string>& argv, const std::string& input, bool keep_stdin_open) {
  int in[2], out[2], err[2];
  must(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0, "pipe");
  pid_t pid = fork();
  must(pid >= 0, "fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::signal(SIGPIPE, SIG_DFL);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::string msg = "cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!write(2, msg.data(), msg.size());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  child c;
  c.pid_ = pid;
  c.in_ = in[1];
  c.out_ = out[0];
  c.err_ = err[0];
  fcntl(c.out_, F_SETFL, O_NONBLOCK);
  fcntl(c.err_, F_SETFL, O_NONBLOCK);
  c.write_input(input);
  if (!keep_stdin_open) c.close_input();
  return c;
}

bool child::write_input(const std::string& text) {
  if (text.empty()) return in_ >= 0;
  if (in_ < 0) return false;
  std::signal(SIGPIPE, SIG_IGN);
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = write(in_, text.data() + done, text.size() - done);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void child::close_input() {
  if (in_ >= 0) close(in_);
  in_ = -1;
}

child::child(child&& o) noexcept
    : pid_(o.pid_), in_(o.in_), out_(o.out_), err_(o.err_), out_buf_(std::move(o.out_buf_)),
      err_buf_(std::move(o.err_buf_)), exited_(o.exited_), status_(o.status_) {
  o.pid_ = -1;
  o.in_ = o.out_ = o.err_ = -1;
}

child::~child() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
  for (int fd : {in_, out_, err_})
    if (fd >= 0) close(fd);
}

void child::pump(int timeout_ms) {
  pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
  int nfds = 0;
  pollfd active[2];
  for (auto& f : fds)
    if (f.fd >= 0) active[nfds++] = f;
  if (nfds == 0) {
    if (timeout_ms > 0) usleep(static_cast<useconds_t>(std::min(timeout_ms, 10) * 1000));
    return;
  }
  if (poll(active, static_cast<nfds_t>(nfds), timeout_ms) <= 0) return;
  char buf[65536];
  for (int i = 0; i < nfds; ++i) {
    if (!(active[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    bool is_out = active[i].fd == out_;
    for (;;) {
      auto n = read(active[i].fd, buf, sizeof buf);
      if (n > 0) {
        (is_out ? out_buf_ : err_buf_).append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {  // EOF
        close(active[i].fd);
        (is_out ? out_ : err_) = -1;
      }
      break;
    }
  }
}

std::optional<std::string> child::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = out_buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = out_buf_.substr(0, nl);
      out_buf_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_ < 0) return std::nullopt;
    pump(static_cast<int>(std::min<long long>(left.count(), 100)));
  }
}

void child::signal(int sig) {
  if (pid_ > 0 && !exited_) kill(pid_, sig);
}

process_result child::wait(std::chrono::milliseconds timeout) {
  process_result r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exited_) {
    pid_t w = waitpid(pid_, &status_, WNOHANG);
    if (w == pid_) {
      exited_ = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      r.timed_out = true;
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      exited_ = true;
      break;
    }
    pump(20);
  }
  // Collect what is left in the pipes (bounded: the writer is gone or killed,
  // though a grandchild may still hold them open).
  for (int i = 0; i < 50 && (out_ >= 0 || err_ >= 0); ++i) pump(20);
  if (in_ >= 0) {
    close(in_);
    in_ = -1;
  }
  r.out = std::move(out_buf_);
  r.err = std::move(err_buf_);
  if (WIFEXITED(status_)) r.exit_code = WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) r.signal = WTERMSIG(status_);
  return r;
}

long child::rss_kib() const {
  std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
  std::string key;
  while (f >> key) {
    if (key == "VmRSS:") {
      long v = -1;
      f >> v;
      return v;
    }
    std::string rest;
    std::getline(f, rest);
  }
  return -1;
}

process_result run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                   const std::string& input) {
  return child::spawn(argv, input).wait(timeout);
}

bool have_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    auto candidate = p.substr(start, end - start) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace anysock::test
