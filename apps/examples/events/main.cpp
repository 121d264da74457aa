// duplex-example-events: an event server that calls its subscribers back.
//
//   duplex-example-events                    the whole demonstration: starts the server and
//                                            the subscribers as processes, publishes, checks
//   duplex-example-events server --endpoint ipc:///tmp/events
//   duplex-example-events subscriber --endpoint ipc:///tmp/events --name alice --expect 12
//
// Each takes the key flags of common/key_flags.hpp; the demonstration only --key FILE.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <mutex>
#include <stdexcept>

#include "modes.hpp"

namespace events_example {

void say(std::string_view who, std::string_view text) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::cout << "[" << who << "] " << text << std::endl;
}

}  // namespace events_example

int main(int argc, char** argv) {
  using namespace events_example;
  CLI::App app{"Duplex example: an event server that calls its subscribers back"};
  app.require_subcommand(0, 1);
  app.footer(duplex_examples::key_flags_help);
  duplex_examples::key_flags keys;
  try {
    keys = duplex_examples::key_flags::take(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }

  std::string endpoint;
  auto* server = app.add_subcommand("server", "Serve events/subscribe and events/publish");
  server->add_option("--endpoint", endpoint, "Where to bind")->required();

  std::string name;
  std::int64_t expected_events = 0;
  auto* subscriber = app.add_subcommand("subscriber", "Subscribe and print events");
  subscriber->add_option("--endpoint", endpoint, "The server's endpoint")->required();
  subscriber->add_option("--name", name, "This subscriber's peer id")->required();
  subscriber->add_option("--expect", expected_events, "Events it must receive, 1..n in order")
      ->required();
  CLI11_PARSE(app, argc, argv);

  try {
    if (server->parsed()) return run_server(endpoint, keys);
    if (subscriber->parsed()) return run_subscriber(endpoint, name, expected_events, keys);
    return run_driver(std::filesystem::read_symlink("/proc/self/exe").string(), keys);
  } catch (const std::exception& e) {
    std::cerr << "duplex-example-events: FAILED: " << e.what() << std::endl;
    return 1;
  }
}
