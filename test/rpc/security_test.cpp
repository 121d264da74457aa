// RPC over CURVE: handlers and server interceptors see the caller's authenticated key, so an
// interceptor can authorize by key.
#include <boost/test/unit_test.hpp>

#include "rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

struct key_reply {
  std::string key;
  MSGPACK_DEFINE_MAP(key)
};

// Lets only `admin_key` call methods named "*/admin"; records the keys it saw.
class admin_only : public rpc::interceptor {
 public:
  explicit admin_only(std::string admin_key) : admin_key_(std::move(admin_key)) {}
  result<void> on_start(rpc::call_info& call) override {
    if (call.method.size() > 6 && call.method.compare(call.method.size() - 6, 6, "/admin") == 0 &&
        call.peer_key != admin_key_)
      return error{errc::permission_denied, "admin methods need the admin key"};
    return {};
  }

 private:
  std::string admin_key_;
};

struct curve_rpc {
  runtime rt;
  curve_keypair server_keys = curve_keypair::generate();
  curve_keypair admin_keys = curve_keypair::generate();
  curve_keypair user_keys = curve_keypair::generate();
  std::unique_ptr<peer> server;
  rpc::service_registry services;
  std::optional<rpc::node> server_node;
  std::string endpoint;

  curve_rpc() {
    peer_options options;
    options.security.curve = server_keys;
    options.security.allowed_keys = {admin_keys.public_key, user_keys.public_key};
    server = std::make_unique<peer>(rt, options);
    rpc::service who("who");
    auto whoami = [](const rpc::empty_message&, rpc::call_context& ctx) -> result<key_reply> {
      return key_reply{ctx.peer_key()};
    };
    who.unary<rpc::empty_message, key_reply>({"whoami", "The caller's key", "Empty", "Key"},
                                             whoami);
    who.unary<rpc::empty_message, key_reply>({"admin", "Admins only", "Empty", "Key"}, whoami);
    BOOST_REQUIRE(services.add(std::move(who)));
    rpc::node_options node_options;
    node_options.server_interceptors.push_back(std::make_shared<admin_only>(admin_keys.public_key));
    server_node.emplace(*server, services, std::move(node_options));
    endpoint = *server->bind("tcp://127.0.0.1:0");
  }

  std::unique_ptr<peer> client(const curve_keypair& keys) {
    peer_options options;
    options.security.curve = keys;
    auto p = std::make_unique<peer>(rt, options);
    BOOST_REQUIRE(p->connect(endpoint, {server_keys.public_key}));
    return p;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(rpc_security)

BOOST_AUTO_TEST_CASE(handlers_and_interceptors_see_the_callers_authenticated_key) {
  curve_rpc f;
  rpc::service_registry none;
  auto admin = f.client(f.admin_keys);
  auto user = f.client(f.user_keys);
  rpc::node admin_node(*admin, none);
  rpc::node user_node(*user, none);

  auto mine = user_node.call<key_reply>("who/whoami", rpc::empty_message{}, within());
  BOOST_REQUIRE_MESSAGE(mine, mine.error().to_string());
  BOOST_TEST(mine->key == f.user_keys.public_key);

  auto refused = user_node.call<key_reply>("who/admin", rpc::empty_message{}, within());
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().code == errc::permission_denied);

  auto allowed = admin_node.call<key_reply>("who/admin", rpc::empty_message{}, within());
  BOOST_REQUIRE_MESSAGE(allowed, allowed.error().to_string());
  BOOST_TEST(allowed->key == f.admin_keys.public_key);
}

BOOST_AUTO_TEST_CASE(a_caller_with_a_key_off_the_list_gets_unauthenticated_within_its_deadline) {
  curve_rpc f;
  rpc::service_registry none;
  auto stranger = f.client(curve_keypair::generate());
  rpc::node stranger_node(*stranger, none);
  auto r = stranger_node.call<key_reply>("who/whoami", rpc::empty_message{}, within(3s));
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code == errc::unauthenticated, r.error().to_string());
}

BOOST_AUTO_TEST_SUITE_END()
