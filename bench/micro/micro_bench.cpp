// Micro-benchmarks of the hot paths (Google Benchmark):
//   build/release/bench/micro/micro_bench
// URI parsing (every CLI call, every connect), CAN frame text (every line
// `send` reads) and the echo loop's own cost
// per message, measured over a link whose I/O costs one posted completion
// and nothing else, so what is left is the loop, the coroutine and Asio.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstring>

#include "anysock/can/frame.hpp"
#include "anysock/echo.hpp"
#include "anysock/tcp/tcp.hpp"
#include "anysock/uri.hpp"

namespace {

namespace asio = boost::asio;
using anysock::error_code;
using anysock::message_header;

void uri_parse(benchmark::State& state) {
  for (auto _ : state) {
    auto u = anysock::parse_uri("tcp://[::1]:50007?v6only=1&nodelay=0");
    benchmark::DoNotOptimize(u);
  }
}
BENCHMARK(uri_parse);

void tcp_uri_parse(benchmark::State& state) {
  auto u = *anysock::parse_uri("tcp://[::ffff:127.0.0.1]:50007?backlog=128");
  for (auto _ : state) {
    auto s = anysock::tcp::parse(u);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(tcp_uri_parse);

void can_frame_parse(benchmark::State& state) {
  for (auto _ : state) {
    auto f = anysock::can::parse_frame("18DAF110#0102030405060708");
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(can_frame_parse);

void can_fd_frame_parse(benchmark::State& state) {
  std::string text = "123##1";
  for (int i = 0; i < 64; ++i) text += "A5";
  for (auto _ : state) {
    auto f = anysock::can::parse_frame(text);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(can_fd_frame_parse);

// A link whose receive hands over `payload` (then eof after `left`
// messages) through one posted completion, and whose send always succeeds.
template <bool Stream>
class memory_link {
 public:
  using executor_type = asio::any_io_executor;
  static constexpr bool is_stream = Stream;
  memory_link(asio::any_io_executor ex, std::size_t messages, std::size_t size)
      : ex_(std::move(ex)), left_(messages), size_(size) {}
  executor_type get_executor() { return ex_; }
  std::size_t receive_size() const { return 72; }
  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header&, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this, b](auto handler) {
          asio::post(ex_, [this, b, h = std::move(handler)]() mutable {
            if (left_ == 0) return std::move(h)(asio::error::eof, std::size_t{0});
            --left_;
            auto n = std::min(b.size(), size_);
            std::memset(b.data(), 'e', n);
            std::move(h)(error_code{}, n);
          });
        },
        token);
  }
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header&, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this, b](auto handler) { asio::post(ex_, [n = b.size(), h = std::move(handler)]() mutable { std::move(h)(error_code{}, n); }); },
        token);
  }
  std::size_t try_receive(asio::mutable_buffer, message_header&, error_code& ec) {
    ec = asio::error::would_block;
    return 0;
  }
  std::size_t try_send(asio::const_buffer b, const message_header&, error_code& ec) {
    ec = {};
    return b.size();
  }
  std::string peer() const { return "memory"; }
  void close() {}

 private:
  asio::any_io_executor ex_;
  std::size_t left_, size_;
};

static_assert(anysock::link<memory_link<true>>);

template <bool Stream>
void echo_loop_per_message(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    asio::io_context io(1);
    memory_link<Stream> l(io.get_executor(), 100000, size);
    anysock::session s(std::make_shared<const std::string>("bench"), "memory", io.get_executor(), false);
    anysock::start_echo(std::move(l), s, [](anysock::error_code) {});
    state.ResumeTiming();
    io.run();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 100000);
}
BENCHMARK(echo_loop_per_message<true>)->Name("echo_loop_stream")->Arg(64)->Unit(benchmark::kMillisecond);
BENCHMARK(echo_loop_per_message<false>)->Name("echo_loop_frame")->Arg(8)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
