#include <algorithm>

#include "duplex/send_batch.hpp"
#include "runtime/rpc/rpc_state.hpp"
#include "runtime/rpc/wire_headers.hpp"

namespace duplex::rpc {
namespace detail {

void call_scope::cancel(error reason) {
  std::vector<std::function<void(const error&)>> watchers;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (cancel_reason) return;
    cancel_reason = reason;
    watchers.swap(cancel_watchers);
  }
  cancelled_cv.notify_all();
  for (auto& w : watchers) w(reason);
}

void call_scope::abort(error reason) {
  cancel(reason);
  std::lock_guard<std::mutex> lock(mutex);
  if (active && ch) ch->cancel();
}

void call_scope::end_with_status(error reason) {
  cancel(reason);
  std::lock_guard<std::mutex> lock(mutex);
  if (!active || !ch) return;
  if (!oneway) {
    auto final_trailers = trailers;
    final_trailers[status_trailer] = std::to_string(static_cast<std::uint32_t>(reason.code));
    final_trailers[message_trailer] = reason.message;
    (void)ch->write_trailers(std::move(final_trailers));
    (void)ch->write_error(reason.code, reason.message);
  }
  ch->close();
}

void call_scope::end() {
  std::lock_guard<std::mutex> lock(mutex);
  active = false;
  ch = nullptr;
  cancel_watchers.clear();
}

}  // namespace detail

call_context::call_context(std::shared_ptr<detail::call_scope> scope) : scope_(std::move(scope)) {}

const std::string& call_context::method() const {
  return scope_->method;
}
const metadata& call_context::headers() const {
  return scope_->headers;
}
const std::string& call_context::peer_id() const {
  return scope_->peer_id;
}

const std::string& call_context::peer_key() const {
  return scope_->peer_key;
}
std::size_t call_context::depth() const {
  return scope_->depth;
}
std::optional<call_context::clock::time_point> call_context::deadline() const {
  return scope_->deadline;
}
bool call_context::oneway() const {
  return scope_->oneway;
}

bool call_context::cancelled() const {
  std::lock_guard<std::mutex> lock(scope_->mutex);
  return scope_->cancel_reason.has_value();
}

error call_context::cancel_reason() const {
  std::lock_guard<std::mutex> lock(scope_->mutex);
  return scope_->cancel_reason.value_or(error{});
}

bool call_context::wait_cancelled(std::chrono::milliseconds timeout) const {
  duplex::detail::release_held_sends();
  std::unique_lock<std::mutex> lock(scope_->mutex);
  auto is_cancelled = [this] { return scope_->cancel_reason.has_value(); };
  if (timeout.count() < 0) {
    scope_->cancelled_cv.wait(lock, is_cancelled);
    return true;
  }
  return scope_->cancelled_cv.wait_for(lock, timeout, is_cancelled);
}

void call_context::on_cancel(std::function<void(const error&)> callback) {
  std::unique_lock<std::mutex> lock(scope_->mutex);
  if (!scope_->cancel_reason) {
    if (scope_->active) scope_->cancel_watchers.push_back(std::move(callback));
    return;
  }
  auto reason = *scope_->cancel_reason;
  lock.unlock();
  callback(reason);
}

void call_context::cancel() {
  scope_->abort({errc::cancelled, "cancelled by the handler"});
}

void call_context::set_trailer(std::string key, std::string value) {
  std::lock_guard<std::mutex> lock(scope_->mutex);
  scope_->trailers[std::move(key)] = std::move(value);
}

remote_callbacks call_context::callbacks() const {
  return remote_callbacks(scope_);
}

call_context* call_context::current() {
  return detail::current_context();
}

std::vector<std::string> remote_callbacks::names() const {
  return scope_ ? scope_->callback_names : std::vector<std::string>{};
}

bool remote_callbacks::has(const std::string& name) const {
  auto list = names();
  return std::find(list.begin(), list.end(), name) != list.end();
}

bool remote_callbacks::valid() const {
  if (!scope_) return false;
  std::lock_guard<std::mutex> lock(scope_->mutex);
  return scope_->active;
}

call_stream remote_callbacks::open_call(std::string name, call_options options, bool oneway) {
  auto fail = [](error e) {
    auto st = std::make_shared<detail::call_state>();
    st->start_error = std::move(e);
    return call_stream(std::move(st));
  };
  if (!scope_) return fail({errc::failed_precondition, "no call: empty callbacks handle"});
  auto node = scope_->node.lock();
  if (!node) return fail({errc::unavailable, "the RPC node is gone"});
  if (!has(name)) return fail({errc::not_found, "the caller passed no callback '" + name + "'"});
  auto depth = scope_->depth + 1;
  if (depth > node->options.max_callback_depth)
    return fail({errc::resource_exhausted, "callbacks nested deeper than the limit of " +
                                               std::to_string(node->options.max_callback_depth)});
  auto scope = scope_;
  auto open = [scope](std::string service, metadata headers) -> result<channel> {
    std::lock_guard<std::mutex> lock(scope->mutex);
    if (!scope->active || !scope->ch)
      return error{errc::failed_precondition, "the call that passed this callback has ended"};
    return scope->ch->open(std::move(service), std::move(headers));
  };
  return node->start_call(open, std::move(name), std::move(options), oneway, depth);
}

}  // namespace duplex::rpc
