// The anysock program's subcommands. Each returns the process exit code.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "anysock/client.hpp"
#include "anysock/error.hpp"
#include "anysock/registry.hpp"
#include "anysock/server.hpp"

namespace anysock::cli {

// Exit codes, documented in the README and in --help.
enum exit_code : int {
  exit_ok = 0,
  exit_echo_failed = 1,  // the echo did not match, or the peer left early
  exit_usage = 2,        // bad URI, option or argument
  exit_network = 3,      // cannot bind, resolve, connect; I/O error
  exit_timeout = 4,      // no answer in time
};

int exit_code_for(const error& e);
// Prints "anysock: <message>" on stderr and returns its exit code.
int fail(const error& e);
// e, with how to raise the limit when it is --timeout's that was met.
error with_timeout_hint(error e, std::chrono::milliseconds timeout);

struct serve_args {
  std::vector<std::string> uris{"tcp://[::1]:50007"};
  unsigned threads = 1;
  std::size_t max_links = 0;
  double idle_timeout_s = 0;
  double drain_timeout_s = 5;
  unsigned busy_poll_us = 0;
};

struct send_args {
  std::string uri;
  std::vector<std::string> messages;
  double timeout_s = 5;
  std::size_t window = default_echo_window;
  bool quiet = false;
};

struct bench_args {
  std::string uri;
  std::size_t connections = 1;
  std::size_t size = 64;
  std::size_t pipeline = 1;
  double duration_s = 0;  // 0: 5 s, or 60 s as the bound of --count
  double warmup_s = 1;
  std::uint64_t count = 0;
  double hold_s = 0;
  double timeout_s = 5;
  unsigned threads = 1;
  bool json = false;
};

struct bridge_args {
  serve_args serving;  // its uris: A and B
  bool once = false;
  std::size_t queue = 1024;
};

struct socketcand_args {
  std::vector<std::string> buses;
  std::string listen = "127.0.0.1:29536";
  std::size_t max_links = 0;
  std::size_t queue = 1024;
  bool fd = false, remote = false, errors = false;
  bool beacon = false;
  std::string beacon_to = "255.255.255.255:42000";
  double beacon_every_s = 3;
};

int serve(const registry& reg, const serve_args& a);
int bridge(const registry& reg, const bridge_args& a);
// serve and bridge: binds every URI of `a` for `use`, runs `service` on each
// link until SIGINT/SIGTERM; `on_server` sees the server before it starts.
int run_server(const registry& reg, const serve_args& a, std::string_view what, endpoint_use use,
               link_service service, const std::function<void(server&)>& on_server = {});
int bench(const registry& reg, const bench_args& a);
int send(const registry& reg, const send_args& a);
int socketcand(const socketcand_args& a);

}  // namespace anysock::cli
