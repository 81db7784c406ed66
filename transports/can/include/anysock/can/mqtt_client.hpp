// One connection to an MQTT broker, libmosquitto driven from an Asio
// executor: its external-loop API (mosquitto_loop_read/write/misc) on a
// posix::stream_descriptor that watches the library's socket, so a
// connection costs no thread. libmosquitto's own reconnect runs only inside
// loop_forever and its getaddrinfo blocks, so both are done here: the broker
// is resolved with Asio and reconnected on a timer (1 s doubling to 30 s),
// said once per outage.
//
// What arrives on the bus's topics is decoded at once into a bounded queue;
// QoS 0 frames are batched into one write per handler (mqtt_batch.hpp), QoS 1
// ones go through libmosquitto (packet IDs, acknowledgements) and wait in a
// bounded queue while the socket is full. Whatever either queue had to drop,
// and what came malformed, is counted, logged (rate-limited) and summed up
// when the connection ends.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "anysock/can/mqtt_batch.hpp"
#include "anysock/can/mqtt_uri.hpp"
#include "anysock/link.hpp"
#include "anysock/log.hpp"

struct mosquitto;
struct mosquitto_message;
typedef struct mqtt5__property mosquitto_property;

namespace anysock::can::mqtt {

struct client_counters {
  std::uint64_t published = 0, received = 0;
  std::uint64_t malformed = 0;     // payloads from others that are not this format
  std::uint64_t own = 0;           // our own frames a 3.1.1 broker sent back (not delivered)
  std::uint64_t rx_dropped = 0;    // arrived while the receive queue was full
  std::uint64_t offline_dropped = 0;  // sent while the broker was unreachable
};

class client : public std::enable_shared_from_this<client> {
 public:
  // Messages waiting to be taken, and waiting for the socket.
  static constexpr std::size_t rx_limit = 4096, tx_limit = 1024;

  static result<std::shared_ptr<client>> create(bus_config c, asio::any_io_executor ex);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Resolves and connects, waits for the broker's CONNACK and subscribes;
  // one line for whatever fails. Afterwards an outage is reconnected here.
  asio::awaitable<result<void>> connect(std::chrono::seconds timeout);
  // Moves a connected client, no operation in flight, to another executor
  // (an io_context not yet running when it was connected).
  std::shared_ptr<client> moved_to(const asio::any_io_executor& ex);

  // A decoded payload from another node, else nullopt.
  std::optional<payload> take();
  // Queues or writes a payload; false when the batch or tx_limit is full
  // (then wait on `room`). While the broker is unreachable it is dropped and
  // counted.
  bool publish(std::string bytes);
  // Publishes `offline` on the status topic and disconnects.
  void close();

  // Cancelled whenever a payload arrives, room frees up, or the client fails.
  asio::steady_timer arrived, room;
  // Set when the connection cannot go on (another client took this node's
  // session): every later operation ends with it.
  error_code failure;
  const bus_config& config() const { return config_; }
  const std::string& name() const { return name_; }
  const client_counters& counters() const { return counters_; }

 private:
  client(bus_config c, asio::any_io_executor ex, struct mosquitto* m);
  void attach();
  void detach();
  void wait_readable();
  void wait_writable();
  void on_readable();
  void tick();
  void flush();
  void write_batch();
  bool publish_now(const std::string& bytes);
  void lost(int rc);
  asio::awaitable<void> reconnect();
  asio::awaitable<result<void>> connect_once(std::chrono::seconds timeout);
  void deliver(const mosquitto_message& m);
  void say_counters() const;

  static void on_connect(struct mosquitto*, void* self, int rc, int flags, const mosquitto_property*);
  static void on_disconnect(struct mosquitto*, void* self, int rc, const mosquitto_property*);
  static void on_message(struct mosquitto*, void* self, const mosquitto_message* m, const mosquitto_property*);
  static void on_publish(struct mosquitto*, void* self, int mid, int rc, const mosquitto_property*);
  static void on_subscribe(struct mosquitto*, void* self, int mid, int count, const int* granted,
                           const mosquitto_property*);

  bus_config config_;
  std::string name_;  // "mqtt bus fleet/rig7 at 127.0.0.1:1883 as node rig7"
  std::string frame_topic_, status_topic_, frame_prefix_;
  asio::any_io_executor ex_;
  struct mosquitto* mosq_;
  mosquitto_property* expiry_ = nullptr;  // qos=1 on MQTT 5: each PUBLISH's message expiry
  asio::posix::stream_descriptor socket_;
  asio::steady_timer misc_, connack_, retry_;
  asio::ip::tcp::resolver resolver_;
  unsigned generation_ = 0;  // bumped by detach: waits of an older socket are stale
  bool reading_ = false, writing_ = false, ticking_ = false;
  bool connected_ = false, closing_ = false, reconnecting_ = false;
  int connack_rc_ = -1;        // CONNACK's reason, -1 while none came
  std::string lost_why_;       // why the connection went, for the connect that waits
  std::chrono::steady_clock::time_point connected_at_{};
  int quick_losses_ = 0;       // connections in a row the broker closed soon after CONNACK
  int in_flight_ = 0;          // qos=1: PUBLISHes not yet acknowledged
  std::deque<payload> rx_;
  std::deque<std::string> tx_;  // qos=1
  publish_batch batch_;          // qos=0
  bool batch_posted_ = false;    // write_batch is posted
  client_counters counters_;
  rate_limited malformed_log_, drop_log_;
};

}  // namespace anysock::can::mqtt
