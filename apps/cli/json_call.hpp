// Calls with JSON payloads: the CLI sends content-type application/json and the callee's codec
// converts, so no schema is needed on this side.
#pragma once

#include <duplex/rpc.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "command_line.hpp"
#include "duration.hpp"

namespace duplex_cli {

// invalid_argument unless `name` is SERVICE/METHOD.
duplex::error check_method_name(const std::string& name);

// What a calling command knows before it connects: usage errors surface here, before any
// waiting.
struct call_plan {
  arguments args;
  duplex::metadata headers;
  time_budget budget;
};

// `whole_command`: the budget when --timeout is not given (std::nullopt: see time_budget).
duplex::result<call_plan> plan_call(const command_line& line,
                                    std::optional<milliseconds> whole_command);

// The options of a call to `remote`: JSON, the -H headers and what is left of the budget.
duplex::result<duplex::rpc::call_options> json_call_options(const call_plan& plan,
                                                            const std::string& remote);

// One unary call: `request` in, the response out (or the call's status).
duplex::result<nlohmann::json> call_json(duplex::rpc::caller& rpc, const std::string& method,
                                         const nlohmann::json& request,
                                         duplex::rpc::call_options options);

// A response payload as JSON; internal when the callee sent something else.
duplex::result<nlohmann::json> response_json(const duplex::bytes& payload);

}  // namespace duplex_cli
