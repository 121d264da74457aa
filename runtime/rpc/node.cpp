#include "duplex/rpc/node.hpp"

#include <charconv>

#include "duplex/send_batch.hpp"
#include "runtime/channel_link.hpp"
#include "runtime/peer_state.hpp"
#include "runtime/rpc/rpc_state.hpp"
#include "runtime/rpc/wire_headers.hpp"

namespace duplex::rpc {
namespace detail {

namespace {

std::optional<std::int64_t> parse_integer(const std::string& text) {
  std::int64_t value = 0;
  auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (failure != std::errc{} || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return value;
}

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) names.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

}  // namespace

node_core::node_core(duplex::peer& p, service_registry& s, node_options o)
    : peer(p), services(s), options(std::move(o)) {
  add_builtins();
}

void node_core::run_blocking(std::function<void()> job) {
  peer.state().pool->submit(std::move(job));
}

call_stream node_core::start_call(const opener& open, std::string method, call_options o,
                                  bool oneway, std::size_t depth) {
  auto st = std::make_shared<call_state>();
  st->node = shared_from_this();
  st->chain = &options.client_interceptors;
  st->oneway = oneway;
  st->info = call_info{std::move(method), std::move(o.headers), o.peer, true, depth, {}};
  auto& headers = st->info.headers;

  auto now = clock::now();
  if (o.timeout.count() >= 0 && o.timeout <= max_timeout) st->deadline = now + o.timeout;
  st->nonblocking_completion = o.nonblocking_completion;
  call_context* parent = o.inherit_context ? current_context() : nullptr;
  if (parent && parent->deadline() && (!st->deadline || *parent->deadline() < *st->deadline))
    st->deadline = parent->deadline();

  if (!o.content_type.empty()) headers[content_type_header] = o.content_type;
  auto chosen = peer.state().rt->codecs().for_headers(headers);
  if (!chosen) {
    st->start_error = chosen.error();
    return call_stream(std::move(st));
  }
  st->payload_codec = *chosen;
  if (st->deadline) {
    // Rounded up, so that the callee's deadline never falls before the caller's.
    auto left = std::chrono::ceil<milliseconds>(*st->deadline - now);
    if (left.count() <= 0) {
      st->start_error =
          error{errc::deadline_exceeded, "the call's deadline passed before it started"};
      return call_stream(std::move(st));
    }
    headers[timeout_header] = std::to_string(left.count());
  }
  if (oneway) headers[oneway_header] = "1";
  if (o.callbacks && !o.callbacks->methods().empty()) {
    std::string names;
    for (auto& [name, entry] : o.callbacks->methods()) names += (names.empty() ? "" : ",") + name;
    headers[callbacks_header] = names;
  }
  if (depth > 0) headers[depth_header] = std::to_string(depth);

  for (auto& i : *st->chain) {
    if (auto verdict = i->on_start(st->info); !verdict) {
      st->start_error = verdict.error();
      return call_stream(std::move(st));
    }
  }
  auto opened = open(st->info.method, st->info.headers);
  if (!opened) {
    st->start_error = opened.error();
    return call_stream(std::move(st));
  }
  st->ch = std::move(*opened);
  if (o.callbacks) accept_callbacks(st, o.callbacks, depth + 1);

  std::weak_ptr<call_state> weak = st;
  if (st->deadline)
    st->timer = timer.schedule(*st->deadline, [weak] {
      if (auto call = weak.lock())
        call->end_locally({errc::deadline_exceeded, "the call's deadline passed"});
    });
  if (parent)
    parent->on_cancel([weak](const error& reason) {
      if (auto call = weak.lock()) call->end_locally(reason);
    });
  return call_stream(std::move(st));
}

void node_core::accept_callbacks(const std::shared_ptr<call_state>& call,
                                 std::shared_ptr<const service> callbacks, std::size_t depth) {
  struct accept_loop {
    std::weak_ptr<call_state> call;
    std::weak_ptr<node_core> node;
    std::shared_ptr<const service> callbacks;
    std::size_t depth;

    void operator()(result<channel> next) const {
      if (!next) return;  // the call ended
      auto core = node.lock();
      if (!core) return;
      auto nested = std::make_shared<channel>(std::move(*next));
      core->run_blocking([core, nested, callbacks = callbacks, depth = depth] {
        core->serve(std::move(*nested), callbacks, depth);
      });
      if (auto st = call.lock()) st->ch.accept_async(*this);
    }
  };
  call->ch.accept_async(accept_loop{call, weak_from_this(), std::move(callbacks), depth});
}

node_core::lookup node_core::find_method(const std::string& name,
                                         const std::shared_ptr<const service>& callbacks) {
  if (callbacks) {
    auto* entry = callbacks->find(name);
    if (!entry) return {nullptr, nullptr, {errc::unimplemented, "no callback '" + name + "'"}};
    return {callbacks, entry, {}};
  }
  auto slash = name.find('/');
  if (slash == std::string::npos)
    return {nullptr, nullptr, {errc::unimplemented, "'" + name + "' is not a service/method name"}};
  auto service_name = name.substr(0, slash);
  auto method_name = name.substr(slash + 1);
  auto owner = builtins.find(service_name);
  if (!owner) owner = services.find(service_name);
  if (!owner)
    return {nullptr,
            nullptr,
            {errc::unimplemented, "no service '" + service_name + "' at peer '" + peer.id() + "'"}};
  auto* entry = owner->find(method_name);
  if (!entry)
    return {nullptr,
            nullptr,
            {errc::unimplemented,
             "service '" + service_name + "' has no method '" + method_name + "'"}};
  return {owner, entry, {}};
}

void node_core::serve(channel ch, std::shared_ptr<const service> callbacks, std::size_t depth) {
  auto arrival = clock::now();
  auto meta = ch.meta();
  auto scope = std::make_shared<call_scope>();
  scope->node = weak_from_this();
  scope->method = meta.service;
  scope->headers = meta.headers;
  scope->peer_id = meta.remote_peer_id;
  scope->peer_key = meta.remote_key;
  scope->depth = depth;

  error status;
  auto& headers = scope->headers;
  if (auto it = headers.find(oneway_header); it != headers.end()) scope->oneway = it->second == "1";
  if (auto it = headers.find(callbacks_header); it != headers.end())
    scope->callback_names = split_names(it->second);
  if (auto it = headers.find(timeout_header); it != headers.end()) {
    auto ms = parse_integer(it->second);
    if (!ms || *ms > max_timeout.count())
      status = {errc::invalid_argument,
                "malformed or too large duplex-timeout header '" + it->second + "'"};
    else if (*ms <= 0)
      status = {errc::deadline_exceeded, "the call arrived after its deadline"};
    else
      scope->deadline = arrival + milliseconds{*ms};
  }
  if (status.ok() && depth > options.max_callback_depth)
    status = {errc::resource_exhausted, "callbacks nested deeper than the limit of " +
                                            std::to_string(options.max_callback_depth)};
  {
    std::lock_guard<std::mutex> lock(active_mutex);
    if (stopping && status.ok()) status = {errc::unavailable, "the RPC node is shutting down"};
    active.insert(scope);
  }
  lookup found;
  if (status.ok()) {
    found = find_method(scope->method, callbacks);
    status = found.failure;
  }

  auto st = std::make_shared<call_state>();
  st->node = shared_from_this();
  st->info =
      call_info{scope->method, scope->headers, scope->peer_id, false, depth, scope->peer_key};
  st->chain = &options.server_interceptors;
  st->payload_codec = &ch.payload_codec();
  st->deadline = scope->deadline;
  st->ch = std::move(ch);
  std::optional<send_batch> together;  // from the handler's return to the call's end

  for (auto& i : options.server_interceptors) {
    if (!status.ok()) break;
    status = i->on_start(st->info).error();
  }
  if (status.ok() && scope->oneway) (void)st->ch.close_write();  // nothing goes back
  if (status.ok()) {
    {
      std::lock_guard<std::mutex> lock(scope->mutex);
      scope->ch = &st->ch;
    }
    std::weak_ptr<call_scope> weak = scope;
    // Only a failure matters here: a channel that finishes ok then needs no actor to do it.
    duplex::detail::channel_access::on_failure(st->ch, [weak](const error& reason) {
      if (auto s = weak.lock()) s->cancel(reason);
    });
    deadline_timer::id expiry = 0;
    if (scope->deadline)
      expiry = timer.schedule(*scope->deadline, [weak] {
        if (auto s = weak.lock())
          s->end_with_status({errc::deadline_exceeded, "the call's deadline passed"});
      });
    if (scope->deadline && clock::now() >= *scope->deadline) {
      status = {errc::deadline_exceeded, "the call's deadline passed before its handler ran"};
    } else {
      call_context context(scope);
      call_stream stream(st);
      auto& current = current_context();
      auto* outer = current;
      current = &context;
      try {
        status = found.entry->run(stream, context);
      } catch (const std::exception& e) {
        status = {errc::unknown, std::string("handler failed: ") + e.what()};
      } catch (...) {
        status = {errc::unknown, "handler failed with a non-standard exception"};
      }
      current = outer;
    }
    // What the handler left to send goes with the trailers and the end, in one batch.
    together.emplace();
    if (st->response && status.ok())
      status = call_stream(st).write(std::move(*st->response)).error();
    st->response.reset();
    if (auto rejected = st->rejection()) status = *rejected;
    if (expiry != 0) timer.cancel(expiry);
  }

  std::optional<error> cancelled;
  metadata trailers;
  {
    std::lock_guard<std::mutex> lock(scope->mutex);
    cancelled = scope->cancel_reason;
    trailers = scope->trailers;
  }
  scope->end();
  if (cancelled) status = *cancelled;
  // Also when cancelled: the status of a deadline or a shutdown here goes to the caller even
  // if the handler returned before the timer or stop() sent it (a clean end without it would
  // read as success); on a channel the caller cancelled these writes just fail.
  if (!together) together.emplace();
  if (!scope->oneway) {
    trailers[status_trailer] = std::to_string(static_cast<std::uint32_t>(status.code));
    if (!status.ok()) trailers[message_trailer] = status.message;
    (void)st->ch.write_trailers(trailers);
    if (status.ok())
      (void)st->ch.close_write();
    else
      (void)st->ch.write_error(status.code, status.message);
  }
  duplex::detail::release_held_sends();  // this thread is done: it may send them itself
  together.reset();
  st->ch.close();
  for (auto& i : options.server_interceptors) i->on_finish(st->info, status, trailers);
  {
    std::lock_guard<std::mutex> lock(active_mutex);
    active.erase(scope);
  }
  active_changed.notify_all();
}

bool node_core::is_nonblocking(const std::string& name) {
  auto found = find_method(name, nullptr);
  return found.entry && found.entry->kind == shape::unary &&
         found.entry->mode == handler_mode::nonblocking;
}

void node_core::stop() {
  peer.handle_default(nullptr);
  std::atomic_store(&peer.state().context->nonblocking,
                    std::shared_ptr<const duplex::detail::peer_context::nonblocking_test>{});
  std::vector<std::shared_ptr<call_scope>> running;
  {
    std::lock_guard<std::mutex> lock(active_mutex);
    stopping = true;
    running.assign(active.begin(), active.end());
  }
  for (auto& scope : running)
    scope->end_with_status({errc::unavailable, "the RPC node is shutting down"});
  duplex::detail::release_held_sends();  // running calls may need them to end
  std::unique_lock<std::mutex> lock(active_mutex);
  active_changed.wait(lock, [this] { return active.empty(); });
}

}  // namespace detail

node::node(duplex::peer& p, service_registry& services, node_options options)
    : core_(std::make_shared<detail::node_core>(p, services, std::move(options))) {
  std::weak_ptr<detail::node_core> weak = core_;
  p.handle_default([weak](channel ch) {
    if (auto core = weak.lock()) core->serve(std::move(ch), nullptr, 0);
  });
  // Unary methods registered as nonblocking may run on the transport thread.
  auto nonblocking = std::make_shared<const duplex::detail::peer_context::nonblocking_test>(
      [weak](const std::string& name) {
        auto core = weak.lock();
        return core && core->is_nonblocking(name);
      });
  std::atomic_store(&p.state().context->nonblocking, std::move(nonblocking));
}

node::~node() {
  core_->stop();
}

call_stream node::open_call(std::string method, call_options options, bool oneway) {
  auto* core = core_.get();
  auto target = options.peer;
  auto open = [core, target](std::string service, metadata headers) -> result<channel> {
    if (target.empty()) return core->peer.open(std::move(service), std::move(headers));
    return core->peer.open_to(target, std::move(service), std::move(headers));
  };
  return core_->start_call(open, std::move(method), std::move(options), oneway, 0);
}

std::size_t node::active_calls() const {
  std::lock_guard<std::mutex> lock(core_->active_mutex);
  return core_->active.size();
}

duplex::peer& node::local_peer() {
  return core_->peer;
}
service_registry& node::services() {
  return core_->services;
}
const node_options& node::options() const {
  return core_->options;
}

}  // namespace duplex::rpc
