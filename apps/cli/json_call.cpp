#include "json_call.hpp"

#include "json_text.hpp"

namespace duplex_cli {

duplex::error check_method_name(const std::string& name) {
  if (name.find('/') != std::string::npos) return {};
  return {duplex::errc::invalid_argument, "'" + name + "' is not SERVICE/METHOD"};
}

duplex::result<call_plan> plan_call(const command_line& line,
                                    std::optional<milliseconds> whole_command) {
  auto args = line.resolve();
  if (!args) return args.error();
  auto headers = line.headers();
  if (!headers) return headers.error();
  auto timeout = line.timeout();
  return call_plan{std::move(*args), std::move(*headers),
                   time_budget(timeout ? timeout : whole_command)};
}

duplex::result<duplex::rpc::call_options> json_call_options(const call_plan& plan,
                                                            const std::string& remote) {
  auto timeout = plan.budget.call_timeout();
  if (!timeout) return timeout.error();
  duplex::rpc::call_options options;
  options.content_type = duplex::json_content_type;
  options.headers = plan.headers;
  options.peer = remote;
  options.timeout = *timeout;
  return options;
}

duplex::result<nlohmann::json> call_json(duplex::rpc::caller& rpc, const std::string& method,
                                         const nlohmann::json& request,
                                         duplex::rpc::call_options options) {
  auto payload = duplex::to_bytes(dump_json(request));
  // call_raw would hide this behind the callee's "no request message" status.
  const auto limit = duplex::peer_options{}.max_payload;
  if (payload.size() > limit)
    return duplex::error{duplex::errc::resource_exhausted,
                         "the request of " + std::to_string(payload.size()) +
                             " bytes exceeds the limit of " + std::to_string(limit) + " bytes"};
  auto response = rpc.call_raw(method, std::move(payload), std::move(options));
  if (!response) return response.error();
  return response_json(*response);
}

duplex::result<nlohmann::json> response_json(const duplex::bytes& payload) {
  auto parsed = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
  if (parsed.is_discarded())
    return duplex::error{duplex::errc::internal, "the response is not JSON"};
  return parsed;
}

}  // namespace duplex_cli
