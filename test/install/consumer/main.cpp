// A consumer of an installed Duplex: built by find_package(Duplex) + Duplex::duplex and by
// `pkg-config --cflags --libs duplex` (see ../run_consumer_test.sh). Two peers in one runtime
// talk over inproc://; the client sends one message, the server's handler answers it, the
// client prints the answer; then one typed RPC call. Exit status 0 on success.
#include <duplex/actor_face.hpp>  // the public CAF-facing header: needs CAF's include dir
#include <duplex/duplex.hpp>      // codec.hpp includes <msgpack.hpp>: needs msgpack's
#include <duplex/rpc.hpp>         // typed RPC: templates instantiated in this program

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>

namespace {

constexpr std::chrono::milliseconds wait_limit{10'000};

int fail(const std::string& what, const duplex::error& err) {
  std::cerr << "consumer: " << what << ": " << err << '\n';
  return 1;
}

}  // namespace

int main() {
  try {
    duplex::runtime rt;

    // Exercise the header-only msgpack path (templates instantiated in this program).
    const auto* mp = rt.codecs().find(duplex::msgpack_content_type);
    if (mp == nullptr) return fail("msgpack codec", {duplex::errc::not_found, "missing"});
    auto packed = duplex::encode_as(*mp, std::string("typed"));
    if (!packed) return fail("encode_as", packed.error());
    auto unpacked = duplex::decode_as<std::string>(*mp, *packed);
    if (!unpacked || *unpacked != "typed") return fail("decode_as", unpacked.error());

    duplex::peer server{rt};
    auto endpoint = "inproc://duplex-consumer-" + std::to_string(::getpid());
    auto bound = server.bind(endpoint);
    if (!bound) return fail("bind " + endpoint, bound.error());
    // Answers each message until the client ends its stream, then ends its own (dropping the
    // handle earlier would cancel the channel).
    server.handle("greet", [](duplex::channel ch) {
      while (auto msg = ch.read(wait_limit)) {
        if (!ch.write(duplex::to_bytes("hello, " + duplex::to_string(*msg)))) return;
      }
      ch.close_write();
    });

    duplex::peer client{rt};
    auto connected = client.connect(*bound);
    if (!connected) return fail("connect " + *bound, connected.error());
    auto ch = client.open("greet");
    caf::actor face = ch.actor();  // links against libcaf_core through Duplex's interface
    if (!face) return fail("channel actor", {duplex::errc::internal, "no actor"});

    auto written = ch.write(duplex::to_bytes("consumer"), wait_limit);
    if (!written) return fail("write", written.error());
    auto reply = ch.read(wait_limit);
    if (!reply.is_message()) return fail("read", reply.error());
    std::cout << "received: " << duplex::to_string(*reply) << std::endl;
    if (duplex::to_string(*reply) != "hello, consumer") return 1;

    auto closed = ch.close_write();
    if (!closed) return fail("close_write", closed.error());
    auto end = ch.read(wait_limit);
    if (!end.is_end()) return fail("end of stream", end.error());

    // One typed RPC call, client to server.
    duplex::rpc::service_registry services;
    duplex::rpc::service greeter("greeter");
    greeter.unary<std::string, std::string>(
        {"greet", "Greets", "Name", "Greeting"},
        [](const std::string& name, duplex::rpc::call_context&) -> duplex::result<std::string> {
          return "hi, " + name;
        });
    auto added = services.add(std::move(greeter));
    if (!added) return fail("register greeter", added.error());
    duplex::rpc::node server_rpc(server, services);
    duplex::rpc::service_registry none;
    duplex::rpc::node client_rpc(client, none);
    duplex::rpc::call_options options;
    options.timeout = wait_limit;
    auto greeting = client_rpc.call<std::string>("greeter/greet", std::string("rpc"), options);
    if (!greeting) return fail("greeter/greet", greeting.error());
    std::cout << "rpc: " << *greeting << std::endl;
    if (*greeting != "hi, rpc") return 1;
    std::cout << "consumer: ok" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "consumer: exception: " << e.what() << '\n';
    return 1;
  }
}
