// A CAF actor exported as the `calc` service. Prints its endpoint, then serves until its
// standard input closes (or for --for SECONDS).
//
//   duplex-example-calc-server [ENDPOINT] [--for SECONDS]
//                              [--key FILE (--allow KEY|FILE|DIR... | --allow-any)]
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "calc_protocol.hpp"
#include "common/key_flags.hpp"

namespace {

// `name` tells answers apart when several calculators serve (it also keeps CAF 0.17 from
// spawning a function-based actor without arguments, which it mishandles).
calc::calculator::behavior_type calculator_actor(const std::string& name) {
  return {
      [name](calc::add_atom, const calc::operands& x) -> caf::result<calc::outcome> {
        return calc::outcome{x.a + x.b, name};
      },
      [name](calc::divide_atom, const calc::operands& x) -> caf::result<calc::outcome> {
        if (x.b == 0)
          return duplex::rpc::to_caf_error({duplex::errc::invalid_argument, "division by zero"});
        return calc::outcome{x.a / x.b, name};
      },
  };
}

void serve_until_done(int seconds) {
  if (seconds > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    return;
  }
  std::string ignored;
  while (std::getline(std::cin, ignored)) {
  }
}

}  // namespace

int main(int argc, char** argv) try {
  auto keys = duplex_examples::key_flags::take(argc, argv);
  std::string endpoint = "tcp://127.0.0.1:0";
  int seconds = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--for" && i + 1 < argc)
      seconds = std::stoi(argv[++i]);
    else
      endpoint = arg;
  }
  duplex::runtime rt({}, calc::register_types);
  duplex::peer_options options;
  keys.apply(options);  // it only binds
  duplex::peer server(rt, options);
  auto bound = server.bind(endpoint);
  if (!bound) {
    std::cerr << bound.error() << "\n";
    return 1;
  }
  auto actor = rt.system().spawn(calculator_actor, std::string("calculator-1"));
  duplex::rpc::service_registry services;
  services.add(
      duplex::rpc::export_actor("calc", actor, calc::methods(), "A calculator actor", "1.0.0"));
  duplex::rpc::node rpc(server, services);
  std::cout << *bound << std::endl;  // the first line: where to connect
  serve_until_done(seconds);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "duplex-example-calc-server: " << e.what() << "\n";
  return 2;
}
