// An actor in another process calls the remote `calc` service as if it were a local actor.
//
//   duplex-example-calc-client ENDPOINT [--key FILE --server-key KEY|FILE]
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <future>
#include <iostream>
#include <stdexcept>
#include <string>

#include "calc_protocol.hpp"
#include "common/key_flags.hpp"

namespace {

// Asks the calculator three questions with request(...).then(...) and reports the answers.
void ask(caf::event_based_actor* self, caf::actor calculator, std::promise<int>* exit_code) {
  auto failures = std::make_shared<int>(0);
  auto pending = std::make_shared<int>(3);
  auto done = [=] {
    if (--*pending == 0) exit_code->set_value(*failures);
  };
  auto& system = self->system();
  self->request(calculator, std::chrono::seconds(5), calc::add_atom::value, calc::operands{40, 2})
      .then(
          [=](const calc::outcome& r) {
            std::cout << "add 40 2 = " << r.value << " (" << r.served_by << ")\n";
            if (r.value != 42) ++*failures;
            done();
          },
          [=, &system](caf::error& e) {
            std::cout << "add failed: " << duplex::rpc::to_error(system, e) << "\n";
            ++*failures;
            done();
          });
  self->request(calculator, std::chrono::seconds(5), calc::divide_atom::value, calc::operands{1, 4})
      .then(
          [=](const calc::outcome& r) {
            std::cout << "divide 1 4 = " << r.value << "\n";
            if (r.value != 0.25) ++*failures;
            done();
          },
          [=, &system](caf::error& e) {
            std::cout << "divide failed: " << duplex::rpc::to_error(system, e) << "\n";
            ++*failures;
            done();
          });
  self->request(calculator, std::chrono::seconds(5), calc::divide_atom::value, calc::operands{1, 0})
      .then(
          [=](const calc::outcome&) {
            std::cout << "divide 1 0 unexpectedly succeeded\n";
            ++*failures;
            done();
          },
          [=, &system](caf::error& e) {
            auto err = duplex::rpc::to_error(system, e);
            std::cout << "divide 1 0 -> " << err << "\n";
            if (err.code != duplex::errc::invalid_argument) ++*failures;
            done();
          });
}

}  // namespace

int main(int argc, char** argv) try {
  auto keys = duplex_examples::key_flags::take(argc, argv);
  if (argc != 2) {
    std::cerr << "usage: duplex-example-calc-client ENDPOINT [--key FILE --server-key KEY|FILE]\n";
    return 2;
  }
  duplex::runtime rt({}, calc::register_types);
  duplex::peer_options options;
  auto connect = keys.apply(options);
  duplex::peer client(rt, options);
  duplex::rpc::service_registry none;
  duplex::rpc::node rpc(client, none);
  if (auto connected = client.connect(argv[1], connect); !connected) {
    std::cerr << connected.error() << "\n";
    return 1;
  }
  // Calls made before the connection is up wait in the pending queue: no need to wait here.
  duplex::rpc::call_options defaults;
  defaults.timeout = std::chrono::seconds(5);
  auto calculator = duplex::rpc::remote_actor(rpc, "calc", calc::methods(), defaults);
  std::promise<int> failures;
  rt.system().spawn(ask, calculator, &failures);
  auto result = failures.get_future();
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    std::cout << "no answer within 10 s\n";
    return 1;
  }
  int failed = result.get();
  std::cout << (failed == 0 ? "all answers correct\n" : "some answers were wrong\n");
  return failed == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "duplex-example-calc-client: " << e.what() << "\n";
  return 2;
}
