// What the calculator service speaks: its messages (msgpack maps on the wire, CAF messages
// inside each process) and its method table, shared by the server and its clients.
#pragma once

#include <caf/all.hpp>
#include <duplex/rpc/actors.hpp>

#include <string>

namespace calc {

struct operands {
  double a = 0;
  double b = 0;
  MSGPACK_DEFINE_MAP(a, b)
};

struct outcome {
  double value = 0;
  std::string served_by;
  MSGPACK_DEFINE_MAP(value, served_by)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, operands& x) {
  return f(caf::meta::type_name("calc.operands"), x.a, x.b);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outcome& x) {
  return f(caf::meta::type_name("calc.outcome"), x.value, x.served_by);
}

using add_atom = caf::atom_constant<caf::atom("add")>;
using divide_atom = caf::atom_constant<caf::atom("divide")>;

using calculator = caf::typed_actor<caf::replies_to<add_atom, operands>::with<outcome>,
                                    caf::replies_to<divide_atom, operands>::with<outcome>>;

// Registers the message types with an actor system before it starts.
inline void register_types(caf::actor_system_config& config) {
  config.add_message_type<operands>("calc.operands");
  config.add_message_type<outcome>("calc.outcome");
}

// Method name -> the message it becomes, for export_actor() and remote_actor() alike.
inline duplex::rpc::actor_methods methods() {
  duplex::rpc::actor_methods table;
  table.add<add_atom, operands, outcome>({"add", "a + b", "Operands", "Outcome"});
  table.add<divide_atom, operands, outcome>(
      {"divide", "a / b; invalid_argument when b is 0", "Operands", "Outcome"});
  return table;
}

}  // namespace calc
