// duplex-demo: a client and two servers in one process (one runtime) show, step by step, what
// Duplex does: writes queued before any connection, round-robin over servers, a bidirectional
// stream with half-close and trailers, an error frame, a nested channel, typed payloads and
// RPC (a typed call with a callback and a deadline, and a call the other way).
//
// It narrates on stdout and exits 0; on any unexpected result it prints what went wrong on
// stderr and exits 1. Every wait is bounded (wait_limit). The apps test checks the "step N ok"
// lines.
#include <duplex/duplex.hpp>

#include <unistd.h>

#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "demo/rpc_step.hpp"
#include "demo/services.hpp"
#include "demo/support.hpp"

using namespace duplex;
using namespace duplex_demo;

namespace {

constexpr const char* client_name = "client";
constexpr int queued_count = 3;
constexpr int round_robin_channels = 6;

peer_options named(std::string id) {
  peer_options options;
  options.peer_id = std::move(id);
  return options;
}

// Step 1, before the servers exist: a channel and its messages wait in the pending queue.
channel write_before_any_connection(peer& client, console& out) {
  out.heading(1, "Writing before any connection exists");
  out.say(client_name, "opens channel 'inbox' and writes " + std::to_string(queued_count) +
                           " messages; no server exists yet");
  auto inbox = client.open("inbox");
  for (int i = 1; i <= queued_count; ++i)
    require(inbox.write(to_bytes("queued message #" + std::to_string(i)), wait_limit),
            "write to the channel that waits for a peer");
  require(inbox.close_write(), "half-close the channel that waits for a peer");
  require(inbox.meta().remote_peer_id.empty(), "the channel should not have a remote peer yet");
  require(client.peers().empty(), "no peer should be connected yet");
  require(!inbox.try_read().has_value(), "nothing should be readable yet");
  out.say(client_name,
          "every write returned at once, remote_peer_id and peers() are empty: "
          "the channel and its messages are queued");
  return inbox;
}

// Step 1, after connecting: the queued channel went to the first server that was ready.
void receive_queued(channel& inbox, peer& client, connection_watch& connections, console& out) {
  auto reply = read_text(inbox, "inbox reply");
  read_end(inbox, "inbox end");
  auto server = inbox.meta().remote_peer_id;
  out.say(client_name, "'" + reply + "' from " + server);
  require(reply == "received " + std::to_string(queued_count) + " messages",
          "inbox should have received every queued message, said '" + reply + "'");
  connections.wait_connected(2);
  std::string ids;
  for (const auto& id : client.peers()) ids += (ids.empty() ? "" : ", ") + id;
  out.say(client_name, "connected peers: " + ids);
  out.passed(1, "the queued channel and its messages arrived at " + server + " after connecting");
}

// Step 2: each open() goes to the next ready server.
void round_robin(peer& client, console& out) {
  out.heading(2, "Round-robin over both servers");
  out.say(client_name, "opens " + std::to_string(round_robin_channels) + " channels to 'whoami'");
  std::vector<channel> channels;
  for (int i = 0; i < round_robin_channels; ++i) {
    channels.push_back(client.open("whoami"));
    require(channels.back().close_write(), "whoami: close");
  }
  std::vector<std::string> answers;
  std::map<std::string, int> counts;
  for (std::size_t i = 0; i < channels.size(); ++i) {
    auto id = read_text(channels[i], "whoami answer");
    read_end(channels[i], "whoami end");
    out.say(client_name, "channel " + std::to_string(i + 1) + " answered by " + id);
    ++counts[id];
    answers.push_back(std::move(id));
  }
  for (std::size_t i = 1; i < answers.size(); ++i)
    require(answers[i] != answers[i - 1], "consecutive channels should go to different servers");
  require(counts.size() == 2 && counts.begin()->second == round_robin_channels / 2,
          "each server should answer half of the channels");
  out.passed(2, "the servers took turns");
}

// Step 3: both directions stream at once; the client half-closes with trailers, the server
// answers after that and closes with its own trailers.
void stream_with_trailers(peer& client, console& out) {
  out.heading(3, "Bidirectional stream, half-close and trailers");
  auto ch = client.open("tally");
  const std::vector<std::string> words{"alpha", "beta", "gamma", "delta"};
  for (const auto& word : words) {
    out.say(client_name, "sends '" + word + "'");
    require(ch.write(to_bytes(word), wait_limit), "tally: write");
    out.say(client_name, "got '" + read_text(ch, "tally: acknowledgement") + "'");
  }
  metadata trailers{{"words-sent", std::to_string(words.size())}, {"sender", client_name}};
  out.say(client_name, "writes trailers " + describe(trailers) + " and half-closes");
  require(ch.write_trailers(trailers), "tally: trailers");
  require(ch.close_write(), "tally: half-close");
  require(ch.write(to_bytes("too late")).code() == errc::failed_precondition,
          "a write after the half-close should fail with failed_precondition");
  out.say(client_name, "its side is closed (a further write fails), its reading side is open");
  auto total = read_text(ch, "tally: total");
  out.say(client_name, "got '" + total + "' after its own half-close");
  read_end(ch, "tally: end");
  auto server_trailers = ch.meta().trailers;
  out.say(client_name, "end-of-stream; server trailers in meta(): " + describe(server_trailers));
  require(server_trailers["words-received"] == std::to_string(words.size()),
          "the server's trailers should count " + std::to_string(words.size()) + " words");
  out.passed(3, "both sides streamed, half-closed and read each other's trailers");
}

// Step 4: messages written before an error frame arrive before it.
void error_frame(peer& client, console& out) {
  out.heading(4, "An error frame after some data");
  out.say(client_name, "opens 'report' and ends its side at once: it only listens");
  auto ch = client.open("report");
  require(ch.close_write(), "report: close");
  int rows = 0;
  auto next = ch.read(wait_limit);
  for (; next.is_message(); next = ch.read(wait_limit)) {
    ++rows;
    out.say(client_name, "data: '" + to_string(*next) + "'");
  }
  require(next.is_error(), "report: expected an error frame, got " + describe(next));
  const auto& err = next.error();
  out.say(client_name, "error: code " + std::string(to_string(err.code)) + " (" +
                           std::to_string(static_cast<unsigned>(err.code)) + "), message '" +
                           err.message + "'");
  require(
      rows == report_rows && err.code == report_error_code && err.message == report_error_message,
      "report: expected " + std::to_string(report_rows) + " rows and " +
          std::string(to_string(report_error_code)) + ", got " + std::to_string(rows) +
          " rows and " + err.to_string());
  out.passed(4, "the data arrived, then the error code and message");
}

// Step 5: the server opens a channel inside the client's channel; it ends with the parent.
void nested_channel(peer& client, signals& done, console& out) {
  out.heading(5, "A nested channel");
  out.say(client_name, "opens 'nest' and waits for the server's nested channel");
  auto parent = client.open("nest");
  auto nested = require(parent.accept(wait_limit), "accept the nested channel");
  auto meta = nested.meta();
  out.say(client_name, "accepted nested channel '" + meta.service + "' from " +
                           meta.remote_peer_id + ", headers " + describe(meta.headers));
  out.say(client_name, "nested message: '" + read_text(nested, "nested message") + "'");
  out.say(client_name, "answers 'pong' on the nested channel");
  require(nested.write(to_bytes("pong"), wait_limit), "write on the nested channel");
  read_end(parent, "the server's end of the parent");
  out.say(client_name, "the server ended its side of the parent; the client ends its side too");
  require(parent.close_write(), "close the parent");
  done.wait(nest_finished);
  auto after = nested.read(wait_limit);
  require(after.is_error() && after.error().code == errc::cancelled,
          "the nested channel should end (cancelled) with its parent, got " + describe(after));
  out.say(client_name, "nested channel after the parent closed: " + after.error().to_string());
  out.passed(5, "the nested channel carried messages both ways and closed with its parent");
}

// Step 6: one struct, described once, over the msgpack and the JSON codec.
void typed_payloads(peer& client, console& out) {
  out.heading(6, "Typed payloads: msgpack and JSON");
  const std::vector<reading> readings{
      {"greenhouse", 21.5, 1}, {"greenhouse", 22.25, 2}, {"greenhouse", 20.75, 3}};
  for (const metadata& headers : {metadata{}, metadata{{content_type_header, json_content_type}}}) {
    auto ch = client.open("thermo", headers);
    std::string content_type(ch.payload_codec().content_type());
    out.say(client_name, "channel with headers " + describe(headers) + " uses " + content_type +
                             "; write_as() " + std::to_string(readings.size()) + " readings");
    for (const auto& r : readings) require(ch.write_as(r, wait_limit), "thermo: write_as");
    require(ch.close_write(), "thermo: close");
    auto answer = require(ch.read_as<summary>(wait_limit), "thermo: read_as summary");
    require(answer.has_value(), "thermo: expected a summary, got end-of-stream");
    out.say(client_name, "read_as(): " + describe(*answer));
    auto end = require(ch.read_as<summary>(wait_limit), "thermo: read_as end");
    require(!end.has_value(), "thermo: expected end-of-stream after the summary");
    require(answer->count == readings.size() && answer->mean_celsius == 21.5 &&
                answer->content_type == content_type,
            "thermo: unexpected " + describe(*answer));
  }
  out.passed(6, "the same struct travelled as msgpack and as JSON");
}

// Removes the socket file of a named ipc endpoint once the peers are gone: libzmq 4.3 leaves
// it behind when the listening socket closes (it only unlinks a stale file at the next bind).
class ipc_socket_file {
 public:
  ipc_socket_file()
      : path_(std::filesystem::temp_directory_path() /
              ("duplex-demo-" + std::to_string(::getpid()))) {}
  ~ipc_socket_file() {
    std::error_code ignored;  // nothing to do if it is already gone
    std::filesystem::remove(path_, ignored);
  }
  ipc_socket_file(const ipc_socket_file&) = delete;
  ipc_socket_file& operator=(const ipc_socket_file&) = delete;

  std::string endpoint() const { return "ipc://" + path_.string(); }

 private:
  std::filesystem::path path_;
};

void run_demo(console& out) {
  signals done;  // outlives the peers, whose handlers raise it
  ipc_socket_file ipc_file;
  runtime rt;
  peer client{rt, named(client_name)};
  connection_watch connections{client};
  auto inbox = write_before_any_connection(client, out);

  peer server_tcp{rt, named("server-tcp")};
  peer server_ipc{rt, named("server-ipc")};
  serve_demo_services(server_tcp, out, done);
  serve_demo_services(server_ipc, out, done);
  auto tcp_endpoint = require(server_tcp.bind("tcp://127.0.0.1:0"), "bind server-tcp");
  auto ipc_endpoint = require(server_ipc.bind(ipc_file.endpoint()), "bind server-ipc");
  out.say(server_tcp.id(), "bound " + tcp_endpoint);
  out.say(server_ipc.id(), "bound " + ipc_endpoint);
  out.say(client_name, "connects to both");
  require(client.connect(tcp_endpoint), "connect to server-tcp");
  require(client.connect(ipc_endpoint), "connect to server-ipc");
  receive_queued(inbox, client, connections, out);

  round_robin(client, out);
  stream_with_trailers(client, out);
  error_frame(client, out);
  nested_channel(client, done, out);
  typed_payloads(client, out);
  rpc_calls(client, server_tcp, out);
}

}  // namespace

int main() {
  console out;
  try {
    run_demo(out);  // the peers are shut down and their handlers done when it returns
  } catch (const std::exception& e) {
    std::cerr << "duplex-demo: FAILED: " << e.what() << std::endl;
    for (const auto& server_failure : out.failures())
      std::cerr << "duplex-demo: server side: " << server_failure << std::endl;
    return 1;
  }
  if (auto failures = out.failures(); !failures.empty()) {
    for (const auto& server_failure : failures)
      std::cerr << "duplex-demo: FAILED on the server side: " << server_failure << std::endl;
    return 1;
  }
  out.line("\nduplex-demo: all 7 steps passed");
  return 0;
}
