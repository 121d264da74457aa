#include "duplex/peer.hpp"

#include <random>

#include "actors/channel_actor.hpp"
#include "actors/channel_opener.hpp"
#include "actors/peer_actor.hpp"
#include "actors/transport_bridge.hpp"
#include "runtime/channel_link.hpp"
#include "runtime/handler_pool.hpp"
#include "runtime/peer_state.hpp"
#include "runtime/runtime_state.hpp"

namespace duplex {

namespace detail {
namespace {

std::string random_hex(std::size_t bytes) {
  std::random_device device;
  std::mt19937_64 generator(device());
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(generator() & 0xff);
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

socket_settings settings_from(const peer_options& o) {
  socket_settings s;
  s.heartbeat_interval = o.heartbeat_interval;
  s.heartbeat_timeout = o.heartbeat_timeout;
  s.reconnect_interval = o.reconnect_interval;
  s.reconnect_interval_max = o.reconnect_interval_max;
  s.handshake_interval = o.handshake_interval;
  s.security = o.security;
  // The backstop sits above the largest legal batch: one max-size frame plus a full batch.
  s.max_message_size =
      static_cast<std::int64_t>(o.max_payload * 2 + o.max_header_bytes + (1u << 20));
  s.limits.max_payload = o.max_payload;
  s.limits.max_header_bytes = o.max_header_bytes;
  return s;
}

// Runs a handler on this thread; a throwing handler ends its channel with `unknown`.
void run_handler_now(const std::shared_ptr<peer_context>& context, const caf::actor& peer,
                     const channel_ref_ptr& incoming, const handler_ptr& handler) {
  incoming->core->in_handler = true;
  try {
    (*handler)(channel{make_incoming_link(context, peer, *incoming)});
  } catch (const std::exception& e) {
    incoming->core->actor_needed();
    caf::anon_send(incoming->actor, fail_atom::value,
                   duplex::error{errc::unknown, std::string("handler failed: ") + e.what()});
  } catch (...) {
    incoming->core->actor_needed();
    caf::anon_send(incoming->actor, fail_atom::value,
                   duplex::error{errc::unknown, "handler failed with a non-standard exception"});
  }
  incoming->core->in_handler = false;
}

void run_on_pool(handler_pool& pool, std::shared_ptr<peer_context> context, caf::actor peer,
                 channel_ref_ptr incoming, handler_ptr handler) {
  pool.submit(
      [context = std::move(context), peer = std::move(peer), incoming = std::move(incoming),
       handler = std::move(handler)] { run_handler_now(context, peer, incoming, handler); });
}

}  // namespace
}  // namespace detail

peer::peer(runtime& rt, peer_options options) : state_(std::make_unique<detail::peer_state>()) {
  options.validate().value();
  auto& rts = rt.state();
  state_->rt = &rt;
  auto context = std::make_shared<detail::peer_context>();
  context->system = rts.system;
  context->net = rts.net;
  context->options = options;
  context->peer_id = options.peer_id.empty() ? "peer-" + detail::random_hex(8) : options.peer_id;
  context->session_id = detail::random_hex(16);
  context->codecs = &rts.codecs;
  context->logger = rts.options.log.logger;
  state_->pool =
      std::make_unique<detail::handler_pool>(options.handler_threads, options.max_handler_threads);
  state_->actor = detail::spawn_peer_actor(context);
  // The pool outlives every call: shutdown() stops the actor's routing before the pool.
  // The context is held weakly so that it does not own itself.
  auto* pool = state_->pool.get();
  std::weak_ptr<detail::peer_context> weak_context = context;
  caf::actor peer_actor = state_->actor;
  context->run_handler = [pool, weak_context, peer_actor](detail::channel_ref_ptr in,
                                                          detail::handler_ptr h) {
    if (auto ctx = weak_context.lock())
      detail::run_on_pool(*pool, std::move(ctx), peer_actor, std::move(in), std::move(h));
  };
  context->run_handler_here = [weak_context, peer_actor](detail::channel_ref_ptr in,
                                                         detail::handler_ptr h) {
    detail::nonblocking_scope cannot_wait;
    if (auto ctx = weak_context.lock()) detail::run_handler_now(ctx, peer_actor, in, h);
  };
  context->owner =
      rts.net->add_owner(detail::make_transport_bridge(state_->actor, context, context->channels,
                                                       context->options.connection_window),
                         detail::settings_from(options));
  state_->context = std::move(context);
}

peer::~peer() {
  if (state_) shutdown();
}

peer::peer(peer&&) noexcept = default;
peer& peer::operator=(peer&& other) noexcept {
  if (this != &other) {
    if (state_) shutdown();
    state_ = std::move(other.state_);
  }
  return *this;
}

const std::string& peer::id() const {
  return state_->context->peer_id;
}
const std::string& peer::session_id() const {
  return state_->context->session_id;
}

namespace {
error peer_is_shut_down() {
  return {errc::failed_precondition, "the peer is shut down"};
}

// Control-plane request to the peer actor from a plain thread.
template <class T, class... Ts>
result<T> ask(const caf::actor& actor, caf::actor_system& system, Ts&&... xs) {
  caf::scoped_actor self{system, true};
  result<T> out = error{errc::unavailable, "the peer actor did not answer"};
  self->request(actor, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](T value) { out = std::move(value); },
               [&](caf::error& err) {
                 out = error{errc::unavailable, "the peer actor is gone: " + system.render(err)};
               });
  return out;
}
}  // namespace

result<std::string> peer::bind(const std::string& endpoint) {
  if (state_->shut_down) return peer_is_shut_down();
  return state_->context->net->bind(state_->context->owner, endpoint);
}

result<void> peer::unbind(const std::string& endpoint) {
  if (state_->shut_down) return peer_is_shut_down();
  return state_->context->net->unbind(state_->context->owner, endpoint);
}

result<void> peer::connect(const std::string& endpoint, const connect_options& options) {
  if (state_->shut_down) return peer_is_shut_down();
  return state_->context->net->connect(state_->context->owner, endpoint, options.server_key);
}

result<void> peer::disconnect(const std::string& endpoint) {
  if (state_->shut_down) return peer_is_shut_down();
  return state_->context->net->disconnect(state_->context->owner, endpoint);
}

namespace {
channel open_channel(detail::peer_state& st, std::string target, std::string service,
                     metadata headers) {
  error codec_error;
  auto core =
      detail::make_opened_core(*st.context, std::move(service), std::move(headers), &codec_error);
  caf::actor actor;
  // Sent from this thread when a remote peer is ready; the peer actor queues or fails it else.
  if (codec_error.ok() && !st.shut_down)
    actor = detail::open_from_caller(st.context, core, st.actor, target);
  if (!actor) {
    actor = detail::spawn_channel({core, st.context, st.actor, {}});
    if (!codec_error.ok())
      caf::anon_send(actor, detail::fail_atom::value, codec_error);
    else
      caf::anon_send(st.actor, open_atom::value,
                     std::make_shared<detail::channel_ref>(detail::channel_ref{core, actor}),
                     std::move(target));
  }
  return channel{std::make_unique<detail::channel_link>(
      detail::channel_link{std::move(core), std::move(actor), st.context, st.actor})};
}
}  // namespace

channel peer::open(std::string service, metadata headers) {
  return open_channel(*state_, {}, std::move(service), std::move(headers));
}

channel peer::open_to(std::string remote_peer_id, std::string service, metadata headers) {
  if (remote_peer_id.empty()) {
    error codec_error;
    auto link = detail::make_opened_link(state_->context, state_->actor, std::move(service),
                                         std::move(headers), caf::actor{}, &codec_error);
    caf::anon_send(link->actor, detail::fail_atom::value,
                   error{errc::invalid_argument, "open_to() needs a remote peer id"});
    return channel{std::move(link)};
  }
  return open_channel(*state_, std::move(remote_peer_id), std::move(service), std::move(headers));
}

void peer::handle_default(channel_handler handler) {
  detail::handler_ptr shared;
  if (handler) shared = std::make_shared<const channel_handler>(std::move(handler));
  (void)ask<bool>(state_->actor, *state_->context->system, detail::handle_default_atom::value,
                  std::move(shared));
}

void peer::handle(std::string service, channel_handler handler) {
  auto shared = std::make_shared<const channel_handler>(std::move(handler));
  (void)ask<bool>(state_->actor, *state_->context->system, detail::handle_atom::value,
                  std::move(service), detail::handler_ptr{std::move(shared)});
}

result<channel> peer::accept(std::chrono::milliseconds timeout) {
  if (!state_->context->options.accept_unhandled)
    return error{errc::failed_precondition, "accept() needs peer_options::accept_unhandled = true"};
  std::optional<detail::clock::time_point> deadline;
  if (timeout.count() >= 0) deadline = detail::clock::now() + timeout;
  auto next = state_->context->accepted.pop(deadline);
  if (!next)
    return error{errc::deadline_exceeded,
                 "no channel within " + std::to_string(timeout.count()) + " ms"};
  if (!*next) return peer_is_shut_down();
  return channel{detail::make_incoming_link(state_->context, state_->actor, **next)};
}

void peer::accept_async(std::function<void(result<channel>)> callback) {
  if (!state_->context->options.accept_unhandled) {
    callback(error{errc::failed_precondition,
                   "accept_async() needs peer_options::accept_unhandled = true"});
    return;
  }
  auto context = state_->context;
  auto actor = state_->actor;
  context->accepted.pop_async(
      [context, actor, callback = std::move(callback)](detail::channel_ref_ptr next) {
        if (!next) return callback(peer_is_shut_down());
        callback(channel{detail::make_incoming_link(context, actor, *next)});
      });
}

std::vector<std::string> peer::peers() const {
  auto ids = ask<std::vector<std::string>>(state_->actor, *state_->context->system,
                                           detail::peers_atom::value);
  return ids ? *ids : std::vector<std::string>{};
}

std::string peer::next_peer() {
  auto id = ask<std::string>(state_->actor, *state_->context->system, detail::next_atom::value);
  return id ? *id : std::string{};
}

result<void> peer::drop(const std::string& remote_peer_id) {
  auto done = ask<result<void>>(state_->actor, *state_->context->system, detail::drop_atom::value,
                                remote_peer_id);
  if (!done) return done.error();
  return *done;
}

std::size_t peer::channel_count() const {
  auto n = ask<std::size_t>(state_->actor, *state_->context->system, detail::count_atom::value);
  return n ? *n : 0;
}

void peer::on_event(std::function<void(const peer_event&)> callback) {
  (void)ask<bool>(state_->actor, *state_->context->system, detail::events_atom::value,
                  detail::event_callback{std::move(callback)});
}

void peer::shutdown() {
  if (!state_ || state_->shut_down) return;
  state_->shut_down = true;
  auto& context = *state_->context;
  (void)ask<bool>(state_->actor, *context.system, detail::shutdown_atom::value);
  // Frames queued so far (CANCELs, BYEs, data) leave within the linger time.
  context.net->remove_owner(context.owner, context.options.linger);
  state_->pool->stop();
  // Actors of channels that finished without them, kept by handles: stopped while the system
  // lives, since a handle may outlive it.
  for (auto& unstarted : context.channels->take_unstarted())
    caf::anon_send_exit(unstarted, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(state_->actor, caf::exit_reason::user_shutdown);
  context.run_handler = nullptr;
}

caf::actor peer::actor() const {
  return state_->actor;
}

}  // namespace duplex
