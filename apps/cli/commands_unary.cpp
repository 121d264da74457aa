// list, describe, call and ping: one request, one response.
#include <chrono>
#include <memory>

#include "commands.hpp"
#include "json_call.hpp"
#include "json_text.hpp"
#include "session.hpp"

namespace duplex_cli {

namespace {

struct unary_request {
  std::string method;
  nlohmann::json body;
};

struct positional_spec {
  const char* name;
  const char* help;
  bool required;
};

// The request, from the command's positionals after ENDPOINT.
using request_builder =
    std::function<duplex::result<unary_request>(const std::vector<std::string>& values)>;
// Adds to a response what only the caller knows (ping's round-trip time).
using response_annotator = std::function<void(nlohmann::json& response, clock::duration took)>;

duplex::error run_unary(const command_line& line, const request_builder& build,
                        const response_annotator& annotate) {
  auto plan = plan_call(line, default_timeout);
  if (!plan) return plan.error();
  auto request = build(plan->args.values);
  if (!request) return request.error();

  session local(line.peer_id(), plan->args.keys);
  auto remote = meet_remote(local, plan->args.where, plan->budget);
  if (!remote) return remote.error();
  auto options = json_call_options(*plan, *remote);
  if (!options) return options.error();
  auto start = clock::now();
  auto response = call_json(local.rpc(), request->method, request->body, std::move(*options));
  if (!response) return response.error();
  if (annotate) annotate(*response, clock::now() - start);
  print_json(*response, line.pretty());
  return {};
}

command add_unary(CLI::App& app, const char* name, const char* help,
                  const std::vector<positional_spec>& positionals, request_builder build,
                  response_annotator annotate = nullptr) {
  auto* sub = app.add_subcommand(name, help);
  auto line = std::make_shared<command_line>(*sub);
  for (auto& p : positionals) line->add_positional(p.name, p.help, p.required);
  line->add_call_options(spell_duration(default_timeout));
  return {sub, [line, build, annotate] { return run_unary(*line, build, annotate); }};
}

// A request that needs nothing from the command line.
request_builder fixed(std::string method, nlohmann::json body) {
  return [method, body](const std::vector<std::string>&) -> duplex::result<unary_request> {
    return unary_request{method, body};
  };
}

// The REQUEST positional: JSON text, "-" for stdin, {} when absent.
duplex::result<nlohmann::json> request_body(const std::vector<std::string>& values,
                                            std::size_t index) {
  if (values.size() <= index) return nlohmann::json::object();
  if (values[index] != "-") return parse_json(values[index], "the request");
  auto text = read_stdin();
  if (!text) return text.error();
  return parse_json(*text, "the request on stdin");
}

double as_milliseconds(clock::duration took) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  return static_cast<double>(us) / 1000.0;
}

}  // namespace

command add_list(CLI::App& app) {
  return add_unary(app, "list", "List the services of a peer (duplex.reflect/list)", {},
                   fixed("duplex.reflect/list", nlohmann::json::object()));
}

command add_describe(CLI::App& app) {
  return add_unary(app, "describe", "Describe one service's methods (duplex.reflect/describe)",
                   {{"SERVICE", "The service to describe", true}},
                   [](const std::vector<std::string>& values) -> duplex::result<unary_request> {
                     return unary_request{"duplex.reflect/describe", {{"service", values.at(0)}}};
                   });
}

command add_call(CLI::App& app) {
  return add_unary(app, "call",
                   "Call a unary method with a JSON request and print the JSON response",
                   {{"METHOD", "SERVICE/METHOD to call", true},
                    {"REQUEST", "The request as JSON; - reads it from stdin (default: {})", false}},
                   [](const std::vector<std::string>& values) -> duplex::result<unary_request> {
                     if (auto bad = check_method_name(values.at(0)); !bad.ok()) return bad;
                     auto body = request_body(values, 1);
                     if (!body) return body.error();
                     return unary_request{values[0], std::move(*body)};
                   });
}

command add_ping(CLI::App& app) {
  return add_unary(app, "ping",
                   "Ping a peer (duplex.ping/ping): its id, session and the round-trip time", {},
                   fixed("duplex.ping/ping", nlohmann::json::object()),
                   [](nlohmann::json& response, clock::duration took) {
                     response["rtt_ms"] = as_milliseconds(took);
                   });
}

}  // namespace duplex_cli
