#include "serve_echo.hpp"

#include "json_message.hpp"
#include "json_text.hpp"

namespace duplex_cli {

namespace rpc = duplex::rpc;

rpc::service echo_service() {
  rpc::service echo("echo", "Returns what it gets: a peer to try the CLI and clients against");
  echo.unary<json_message, json_message>(
      {"echo", "Returns the request unchanged", "Any", "Any"},
      [](const json_message& request, rpc::call_context&) -> duplex::result<json_message> {
        return request;
      });
  echo.bidi<json_message, json_message>(
      {"stream", "Returns each request as it arrives, until the requests end", "Any", "Any"},
      [](rpc::reader<json_message>& in, rpc::writer<json_message>& out,
         rpc::call_context&) -> duplex::result<void> {
        for (;;) {
          auto next = in.read();
          if (!next) return next.error();
          if (!*next) return {};
          if (auto sent = out.write(**next); !sent) return sent;
        }
      });
  echo.client_stream<json_message, json_message>(
      {"collect", "Returns every request, in order, as one array", "Any", "Array"},
      [](rpc::reader<json_message>& in, rpc::call_context&) -> duplex::result<json_message> {
        json_message all{nlohmann::json::array()};
        for (;;) {
          auto next = in.read();
          if (!next) return next.error();
          if (!*next) return all;
          all.value.push_back(std::move((*next)->value));
        }
      });
  echo.server_stream<json_message, json_message>(
      {"spread", "Returns each element of an array request (any other request: itself)", "Any",
       "Any"},
      [](const json_message& request, rpc::writer<json_message>& out,
         rpc::call_context&) -> duplex::result<void> {
        if (!request.value.is_array()) return out.write(request);
        for (auto& element : request.value)
          if (auto sent = out.write(json_message{element}); !sent) return sent;
        return {};
      });
  echo.unary<json_message, json_message>(
      {"headers", "The call's headers as an object (the request is ignored)", "Any", "Headers"},
      [](const json_message&, rpc::call_context& context) -> duplex::result<json_message> {
        nlohmann::json headers = nlohmann::json::object();
        for (auto& [key, value] : context.headers()) headers[key] = value;
        // Header values are bytes: a round trip through text makes them valid UTF-8.
        return json_message{nlohmann::json::parse(dump_json(headers))};
      });
  return echo;
}

}  // namespace duplex_cli
