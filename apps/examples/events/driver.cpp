// The demonstration: a server and four subscribers in their own processes, this process
// publishing. Twelve events in three rounds; between rounds carol unsubscribes and dave
// crashes, and the server must notice each time while the others keep receiving.
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "common/process.hpp"
#include "events.hpp"
#include "modes.hpp"

using namespace duplex_examples;  // child_process, termination signals, key_flags

namespace events_example {

namespace {

using duplex::rpc::empty_message;

constexpr const char* me = "driver";
constexpr auto wait_limit = 10s;

void require(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error(what);
}

// The socket file of the server's ipc endpoint: libzmq leaves it behind when the server ends.
class socket_file {
 public:
  socket_file()
      : path_(std::filesystem::temp_directory_path() /
              ("duplex-example-events-" + std::to_string(::getpid()))) {}
  ~socket_file() {
    std::error_code ignored;  // nothing to do if it is already gone
    std::filesystem::remove(path_, ignored);
  }
  socket_file(const socket_file&) = delete;
  socket_file& operator=(const socket_file&) = delete;

  std::string endpoint() const { return "ipc://" + path_.string(); }

 private:
  std::filesystem::path path_;
};

server_stats stats(duplex::rpc::node& rpc) {
  duplex::rpc::call_options options;
  options.timeout = wait_limit;
  return rpc.call<server_stats>(stats_method, empty_message{}, options).value();
}

// Polls the server until it counts `count` subscriptions.
void wait_for_subscriptions(duplex::rpc::node& rpc, std::int64_t count) {
  auto give_up = std::chrono::steady_clock::now() + wait_limit;
  auto now = stats(rpc);
  while (now.subscriptions != count) {
    require(std::chrono::steady_clock::now() < give_up,
            "the server counts " + std::to_string(now.subscriptions) + " subscriptions, not " +
                std::to_string(count));
    std::this_thread::sleep_for(20ms);
    now = stats(rpc);
  }
  say(me, "the server counts " + std::to_string(count) + " subscriptions");
}

void publish(duplex::rpc::node& rpc, std::int64_t first, std::int64_t last,
             std::int64_t subscribers) {
  duplex::rpc::call_options options;
  options.timeout = wait_limit;
  for (auto sequence = first; sequence <= last; ++sequence) {
    event e{sequence, "tick " + std::to_string(sequence)};
    auto reply = rpc.call<publish_reply>(publish_method, e, options).value();
    say(me, "published #" + std::to_string(sequence) + ", delivered to " +
                std::to_string(reply.delivered) + " subscribers");
    auto should = "event #" + std::to_string(sequence) + " should reach " +
                  std::to_string(subscribers) + " subscribers";
    require(reply.delivered == subscribers, should);
  }
}

// With --key, one key pair for every process: the server lets in only its public key, the
// others connect with it and know it as the server's.
struct demonstration_keys {
  key_flags server;
  key_flags clients;
};

demonstration_keys share_key(const key_flags& given) {
  require(given.server_key.empty() && given.allow.empty() && !given.allow_any,
          "the demonstration takes --key only (the server and subscriber modes take the rest)");
  if (given.key.empty()) return {};
  return {key_flags{given.key, {}, {given.key}, false}, key_flags{given.key, given.key, {}, false}};
}

std::vector<std::string> with_keys(std::vector<std::string> argv, const key_flags& keys) {
  if (keys.key.empty()) return argv;
  argv.insert(argv.end(), {"--key", keys.key});
  if (!keys.server_key.empty()) argv.insert(argv.end(), {"--server-key", keys.server_key});
  for (auto& allowed : keys.allow) argv.insert(argv.end(), {"--allow", allowed});
  return argv;
}

// Each subscriber checks that it received events 1..expect in order, and exits 0 if so
// (dave never gets to: he is killed).
std::map<std::string, child_process> start_subscribers(const std::string& program,
                                                       const std::string& endpoint,
                                                       const key_flags& keys) {
  const std::map<std::string, int> expected_events{
      {"alice", 12}, {"bob", 12}, {"carol", 4}, {"dave", 8}};
  std::map<std::string, child_process> subscribers;
  for (const auto& [name, expect] : expected_events)
    subscribers.emplace(
        name, child_process(with_keys({program, "subscriber", "--endpoint", endpoint, "--name",
                                       name, "--expect", std::to_string(expect)},
                                      keys)));
  return subscribers;
}

void stop_cleanly(const std::string& name, child_process& process) {
  auto status = process.stop(wait_limit);
  require(status.ok(), name + " ended by " + status.describe() + ", expected exit code 0");
}

}  // namespace

int run_driver(const std::string& program, const key_flags& given) {
  auto keys = share_key(given);
  socket_file socket;
  say(me, "starting the server and the subscribers alice, bob, carol and dave" +
              std::string(given.key.empty() ? "" : ", all over CURVE"));
  child_process server(
      with_keys({program, "server", "--endpoint", socket.endpoint()}, keys.server));
  auto subscribers = start_subscribers(program, socket.endpoint(), keys.clients);

  duplex::runtime rt;
  duplex::peer_options options;
  options.peer_id = "driver";
  auto connect = keys.clients.apply(options);
  duplex::peer self{rt, options};
  duplex::rpc::service_registry no_services;  // it only publishes
  duplex::rpc::node rpc{self, no_services};
  self.connect(socket.endpoint(), connect).value();

  wait_for_subscriptions(rpc, 4);
  publish(rpc, 1, 4, 4);

  say(me, "asking carol to unsubscribe (SIGUSR1: she cancels her subscribe call)");
  ::kill(subscribers.at("carol").pid(), SIGUSR1);
  wait_for_subscriptions(rpc, 3);
  publish(rpc, 5, 8, 3);

  say(me, "crashing dave (SIGKILL: his connection just goes away)");
  subscribers.at("dave").kill();
  wait_for_subscriptions(rpc, 2);
  publish(rpc, 9, 12, 2);

  say(me, "stopping alice, bob and carol (SIGTERM: they cancel what they still have and exit)");
  for (auto name : {"alice", "bob", "carol"}) stop_cleanly(name, subscribers.at(name));
  wait_for_subscriptions(rpc, 0);
  require(stats(rpc).published == 12, "the server should count 12 events published");

  say(me, "stopping the server");
  stop_cleanly("the server", server);
  say(me, "PASSED: all events arrived in order; every subscriber that left was dropped");
  return 0;
}

}  // namespace events_example
