#include "session.hpp"

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>

namespace duplex_cli {

namespace {

duplex::peer_options peer_settings(const std::string& peer_id, const key_settings& keys) {
  duplex::peer_options options;
  options.peer_id = peer_id;
  options.security = keys.security;
  return options;
}

duplex::runtime_options runtime_settings() {
  duplex::runtime_options options;
  options.scheduler_threads = 2;  // a command makes one call at a time
  return options;
}

std::string describe_wait(const location& where, const std::string& endpoint) {
  return where.bind ? "no peer connected to " + endpoint : "could not connect to " + endpoint;
}

}  // namespace

struct session::arrivals {
  std::mutex mutex;
  std::condition_variable changed;
  std::string first_peer;
  std::optional<duplex::peer_event> rejection;
};

session::session(const std::string& peer_id, const key_settings& keys)
    : arrivals_(std::make_shared<arrivals>()),
      connect_(keys.connect),
      runtime_(runtime_settings()),
      peer_(runtime_, peer_settings(peer_id, keys)),
      node_(peer_, services_) {
  peer_.on_event([seen = arrivals_](const duplex::peer_event& event) {
    std::lock_guard<std::mutex> lock(seen->mutex);
    if (event.what == duplex::peer_event::kind::connected && seen->first_peer.empty())
      seen->first_peer = event.remote_peer_id;
    else if (event.what == duplex::peer_event::kind::rejected && !seen->rejection)
      seen->rejection = event;
    seen->changed.notify_all();
  });
}

session::~session() {
  peer_.on_event(nullptr);
  // Before the node stops: the peer's shutdown tells the callers of unfinished calls
  // unavailable, where the node's own stop would tell them cancelled.
  peer_.shutdown();
}

duplex::result<std::string> session::open(const location& where) {
  if (where.bind) return peer_.bind(where.endpoint);
  if (auto connected = peer_.connect(where.endpoint, connect_); !connected)
    return connected.error();
  connected_to_ = where.endpoint;
  return where.endpoint;
}

duplex::result<std::string> session::wait_for_peer(clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(arrivals_->mutex);
  arrivals_->changed.wait_until(
      lock, deadline, [this] { return !arrivals_->first_peer.empty() || arrivals_->rejection; });
  if (!arrivals_->first_peer.empty()) return arrivals_->first_peer;
  if (arrivals_->rejection) {
    const auto& reason = arrivals_->rejection->reason;
    // A failed handshake (CURVE) comes from the endpoint, and its message names it.
    if (arrivals_->rejection->remote_peer_id == connected_to_) return reason;
    return duplex::error{reason.code, "the connection was rejected: " + reason.message};
  }
  return duplex::error{duplex::errc::deadline_exceeded, "no peer within the timeout"};
}

duplex::result<std::string> meet_remote(session& s, const location& where,
                                        const time_budget& budget) {
  auto endpoint = s.open(where);
  if (!endpoint) return endpoint.error();
  if (where.bind) std::cerr << "listening on " << *endpoint << std::endl;
  auto remote = s.wait_for_peer(budget.connect_deadline());
  if (remote) return remote;
  if (remote.code() == duplex::errc::deadline_exceeded)
    return duplex::error{remote.code(), describe_wait(where, *endpoint) + " within the timeout"};
  if (remote.error().message.find(*endpoint) != std::string::npos) return remote.error();
  return duplex::error{remote.code(), *endpoint + ": " + remote.error().message};
}

}  // namespace duplex_cli
