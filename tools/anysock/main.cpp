// anysock: one echo over every socket family.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "anysock/builtin_transports.hpp"
#include "anysock/log.hpp"
#include "commands.hpp"

namespace {

const char* exit_codes_help =
    "Exit codes: 0 ok, 1 echo mismatch or peer left early, 2 bad URI/option/argument,\n"
    "            3 cannot bind/resolve/connect or I/O error, 4 timed out.\n";

}  // namespace

// A server or a load generator with thousands of links needs descriptors:
// take the hard limit the administrator allows rather than the soft 1024.
void raise_descriptor_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

int main(int argc, char** argv) {
  using namespace anysock;
  raise_descriptor_limit();
  registry reg;
  add_builtin_transports(reg);

  CLI::App app{"anysock: one echo service and client over every socket family"};
  app.set_version_flag("--version", std::string("anysock ") + ANYSOCK_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // --log-level works after the subcommand too
  app.footer(reg.describe() + exit_codes_help);
  std::string level = "info";
  app.add_option("--log-level", level, "trace, debug (shows payloads), info, warn, error or off")
      ->capture_default_str();

  cli::serve_args sa;
  auto* serve = app.add_subcommand("serve", "Echo every message back, on every URI given, until SIGINT/SIGTERM");
  serve->add_option("uris", sa.uris, "Endpoints to listen on")->capture_default_str();
  serve->add_option("-t,--threads", sa.threads, "Threads running the links")
      ->check(CLI::Range(1u, 256u))->capture_default_str();
  serve->add_option("--max-links", sa.max_links, "Refuse links beyond this many open ones (0: no limit)")
      ->capture_default_str();
  serve->add_option("--idle-timeout", sa.idle_timeout_s,
                    "Close a link idle this many seconds (0: never; a CAN bus is never idle-closed)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  serve->add_option("--drain-timeout", sa.drain_timeout_s,
                    "On SIGINT/SIGTERM, seconds to let echoes in flight finish")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  serve->add_option("--busy-poll", sa.busy_poll_us,
                    "Microseconds each thread keeps polling after its last message before it sleeps "
                    "(0: sleep at once). Lower latency at one message in flight, for a CPU kept busy")
      ->check(CLI::Range(0u, 1000000u))->capture_default_str();
  serve->footer(reg.describe());

  cli::bridge_args bra;
  bra.serving.uris.clear();
  auto* bridge = app.add_subcommand(
      "bridge", "Forward every message between A and B both ways: each link A yields gets its own B");
  bridge->add_option("endpoints", bra.serving.uris,
                     "A (listened on, or a bus opened) and B (connected, or a bus opened, for each link of A)")
      ->expected(2)->required();
  bridge->add_option("-t,--threads", bra.serving.threads, "Threads running the links")
      ->check(CLI::Range(1u, 256u))->capture_default_str();
  bridge->add_option("--max-links", bra.serving.max_links, "Refuse links of A beyond this many open ones (0: no limit)")
      ->capture_default_str();
  bridge->add_option("--idle-timeout", bra.serving.idle_timeout_s,
                     "Close a bridged link idle this many seconds (0: never; a CAN bus is never idle-closed)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  bridge->add_option("--drain-timeout", bra.serving.drain_timeout_s,
                     "On SIGINT/SIGTERM, seconds to let messages already read be written")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  bridge->add_option("--queue", bra.queue,
                     "Messages from a bus that may wait for a slow side, each way; more are dropped and counted")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))->capture_default_str();
  bridge->add_flag("--once", bra.once,
                   "When B cannot be reached or goes away, exit 3 instead of retrying (for scripts)");
  bridge->footer(reg.describe());

  cli::send_args ca;
  auto* send = app.add_subcommand("send", "Send messages to an echo service and verify each echo byte for byte");
  send->add_option("uri", ca.uri, "Endpoint to connect to")->required();
  send->add_option("messages", ca.messages,
                   "Messages to send (default: 'Hello, world' and '汉语/漢語 Hànyǔ'; "
                   "'-' reads lines from stdin)");
  send->add_option("--timeout", ca.timeout_s, "Seconds to wait to connect and for each echo")
      ->check(CLI::PositiveNumber)->capture_default_str();
  send->add_option("--window", ca.window, "Streams: bytes sent and not yet echoed at most (0: no bound)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 30))->capture_default_str();
  send->add_flag("-q,--quiet", ca.quiet, "Do not print the echoes");
  send->footer(reg.describe());

  cli::bench_args ba;
  auto* bench = app.add_subcommand("bench", "Closed-loop load on an echo endpoint: latency, throughput, every byte verified");
  bench->add_option("uri", ba.uri, "Echo endpoint to load")->required();
  bench->add_option("-c,--connections", ba.connections, "Links to open")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))->capture_default_str();
  bench->add_option("-s,--size", ba.size, "Bytes per message (streams: up to 1 MiB)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))->capture_default_str();
  bench->add_option("-p,--pipeline", ba.pipeline, "Messages in flight per link")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))->capture_default_str();
  bench->add_option("-d,--duration", ba.duration_s, "Seconds to measure (default 5; with --count, a 60 s bound)")
      ->check(CLI::NonNegativeNumber);
  bench->add_option("-n,--count", ba.count, "Round trips to measure, then stop");
  bench->add_option("-w,--warmup", ba.warmup_s, "Seconds of load before measuring")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  bench->add_option("--hold", ba.hold_s, "Idle mode: one round trip per link, then hold the links this many seconds")
      ->check(CLI::NonNegativeNumber);
  bench->add_option("--timeout", ba.timeout_s, "Seconds a link may go without progress")
      ->check(CLI::PositiveNumber)->capture_default_str();
  bench->add_option("-t,--threads", ba.threads, "Load generator threads")
      ->check(CLI::Range(1u, 256u))->capture_default_str();
  bench->add_flag("--json", ba.json, "Print one JSON summary on stdout (no progress line)");
  bench->footer(reg.describe());

  cli::socketcand_args sca;
  auto* socketcand = app.add_subcommand(
      "socketcand", "Serve CAN buses to socketcand clients (python-can, SavvyCAN, Kayak) over TCP: BCM, raw and control modes");
  socketcand->add_option("buses", sca.buses, "CAN interfaces clients may open (only these)")->required();
  socketcand->add_option("--listen", sca.listen,
                         "HOST:PORT to listen on ([::]:PORT takes IPv4 too; port 0 picks a free one)")
      ->capture_default_str();
  socketcand->add_option("--max-links", sca.max_links, "Refuse clients beyond this many connected (0: no limit)")
      ->capture_default_str();
  socketcand->add_option("--queue", sca.queue,
                         "Messages that may wait for a slow client; more frames are dropped and counted")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))->capture_default_str();
  socketcand->add_flag("--fd", sca.fd,
                       "Carry CAN FD frames in raw mode (< fdframe ID FLAGS SEC.USEC HEX >) to every client; without "
                       "it only to a client that has sent one");
  socketcand->add_flag("--rtr", sca.remote,
                       "Carry remote frames in raw mode (< rtr ID SEC.USEC [DLC] >) to every client; without it only "
                       "to a client that has sent one");
  socketcand->add_flag("--err", sca.errors,
                       "Carry error frames in raw mode (< error CLASS SEC.USEC HEX >); python-can 4.6 and later fail "
                       "on them");
  auto* beacon = socketcand->add_flag(
      "--beacon", sca.beacon, "Announce the buses with socketcand's UDP discovery beacon (SavvyCAN, Kayak find it)");
  socketcand->add_option("--beacon-to", sca.beacon_to, "HOST:PORT the beacon goes to (broadcast by default)")
      ->needs(beacon)->capture_default_str();
  socketcand->add_option("--beacon-every", sca.beacon_every_s, "Seconds between beacons")
      ->check(CLI::Range(0.1, 3600.0))->needs(beacon)->capture_default_str();
  socketcand->footer(
      "Each BUS must be an existing CAN interface that is up. A client: python-can's\n"
      "  can.Bus(interface='socketcand', host='127.0.0.1', port=29536, channel='vcan0')\n");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other bad input (CLI11's own adds a second).
    fmt::print(stderr, "anysock: {}; see anysock --help\n", e.what());
    return cli::exit_usage;
  }

  spdlog::level::level_enum lvl{};
  if (!parse_log_level(level, lvl)) {
    fmt::print(stderr, "anysock: --log-level '{}' is not a level; use trace, debug, info, warn, error or off\n",
               level);
    return cli::exit_usage;
  }
  auto logger = spdlog::stderr_color_mt("anysock");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);

  try {
    if (*serve) return cli::serve(reg, sa);
    if (*bridge) return cli::bridge(reg, bra);
    if (*send) return cli::send(reg, ca);
    if (*bench) return cli::bench(reg, ba);
    if (*socketcand) return cli::socketcand(sca);
  } catch (const std::exception& e) {
    fmt::print(stderr, "anysock: internal error: {}\n", e.what());
    return cli::exit_network;
  }
  return cli::exit_usage;
}
