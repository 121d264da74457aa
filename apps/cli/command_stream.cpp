// stream: JSON lines from stdin (or one request argument) go out as messages, responses are
// printed as they arrive. One form for server-streaming, client-streaming and bidi methods.
#include <atomic>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "json_call.hpp"
#include "json_text.hpp"
#include "session.hpp"
#include "stdin_lines.hpp"

namespace duplex_cli {

namespace {

// Writes the requests, then half-closes. A failure cancels the call, so that the reader
// stops too, and is returned to say why.
duplex::error write_requests(duplex::rpc::call_stream call,
                             const std::optional<nlohmann::json>& single,
                             const std::atomic<bool>& stop) {
  auto send = [&call](const nlohmann::json& request) -> duplex::error {
    return call.write(duplex::to_bytes(dump_json(request))).error();
  };
  duplex::error failure;
  if (single) {
    failure = send(*single);
  } else {
    stdin_lines lines(stop);
    std::size_t number = 0;
    while (auto line = lines.next()) {
      ++number;
      if (line->find_first_not_of(" \t\r") == std::string::npos) continue;
      auto request = parse_json(*line, "line " + std::to_string(number) + " of stdin");
      failure = request ? send(*request) : request.error();
      if (!failure.ok()) break;
    }
  }
  if (failure.ok() && !stop) failure = call.close_write().error();
  if (!failure.ok() && !stop) call.cancel();
  return failure;
}

// Prints every response until the call ends: its status.
duplex::error print_responses(duplex::rpc::call_stream call, bool pretty) {
  for (;;) {
    auto next = call.read();
    if (!next) return next.error();
    if (!*next) return {};
    auto response = response_json(**next);
    if (!response) {
      call.cancel();
      return response.error();
    }
    print_json(*response, pretty);
    if (!std::cout) {
      call.cancel();
      return {duplex::errc::cancelled, "stdout was closed"};
    }
  }
}

duplex::error run_stream(const command_line& line) {
  auto plan = plan_call(line, std::nullopt);
  if (!plan) return plan.error();
  const auto& values = plan->args.values;
  if (auto bad = check_method_name(values.at(0)); !bad.ok()) return bad;
  std::optional<nlohmann::json> single;
  if (values.size() > 1 && values[1] != "-") {
    auto request = parse_json(values[1], "the request");
    if (!request) return request.error();
    single = std::move(*request);
  }

  session local(line.peer_id(), plan->args.keys);
  auto remote = meet_remote(local, plan->args.where, plan->budget);
  if (!remote) return remote.error();
  auto options = json_call_options(*plan, *remote);
  if (!options) return options.error();
  auto call = local.rpc().open_call(values[0], std::move(*options));

  std::atomic<bool> stop{false};
  duplex::error write_failure;
  std::thread writer([&] { write_failure = write_requests(call, single, stop); });
  auto status = print_responses(call, line.pretty());
  stop = true;
  writer.join();
  // The writer cancelled the call: its failure is the reason.
  if (status.code == duplex::errc::cancelled && !write_failure.ok()) return write_failure;
  return status;
}

}  // namespace

command add_stream(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "stream",
      "Stream JSON lines from stdin to a method (any shape), print responses as they arrive");
  auto line = std::make_shared<command_line>(*sub);
  line->add_positional("METHOD", "SERVICE/METHOD to call", true);
  line->add_positional("REQUEST", "One request as JSON instead of stdin's lines (- : stdin)",
                       false);
  line->add_call_options(spell_duration(default_timeout) + " to connect, then none");
  return {sub, [line] { return run_stream(*line); }};
}

}  // namespace duplex_cli
