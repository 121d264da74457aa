#include "duplex/runtime.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "runtime/quiet_scheduler.hpp"
#include "runtime/runtime_state.hpp"

namespace duplex {

namespace {
std::size_t default_scheduler_threads() {
  auto cores = std::thread::hardware_concurrency();
  return cores == 0 ? 2 : cores;
}
}  // namespace

void runtime::configure(caf::actor_system_config& config, const runtime_options& options) {
  // CAF 0.17 starts 4 workers even on 2 cores: size the pool deliberately.
  auto threads =
      options.scheduler_threads ? options.scheduler_threads : default_scheduler_threads();
  config.set("scheduler.max-threads", threads);
  // An idle work-stealing worker first spins briefly, then polls its queue 500 times with a
  // 50 us sleep between polls (more with the kernel's timer slack), and only then blocks on a
  // condition variable that an enqueue from outside CAF signals. Every message the transport
  // thread or an application thread posts while a worker is in those sleeps waits out the
  // rest of one, on every hop of every round trip. Skipping the sleeping phase blocks an idle
  // worker after the spin and wakes it on enqueue: latency without busy polling.
  config.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  // Channel actors are short-lived; their exits need not wake CAF's clock thread.
  detail::use_quiet_scheduler(config);
  // Errors of remote calls reach actor code as caf::error in this category (rpc/actors.hpp).
  config.add_error_category(caf::atom("duplex"),
                            [](std::uint8_t code, caf::atom_value, const caf::message& context) {
                              std::string text(to_string(static_cast<errc>(code)));
                              if (context.match_elements<std::string>())
                                text += ": " + context.get_as<std::string>(0);
                              return text;
                            });
}

runtime::runtime(runtime_options options, std::function<void(caf::actor_system_config&)> customize)
    : state_(std::make_unique<detail::runtime_state>()) {
  options.validate().value();
  state_->options = options;
  state_->owned_config = std::make_unique<caf::actor_system_config>();
  configure(*state_->owned_config, options);
  if (customize) customize(*state_->owned_config);
  state_->owned_system = std::make_unique<caf::actor_system>(*state_->owned_config);
  state_->system = state_->owned_system.get();
  state_->net = std::make_shared<detail::transport>(options.io_threads);
}

runtime::runtime(caf::actor_system& system, runtime_options options)
    : state_(std::make_unique<detail::runtime_state>()) {
  options.validate().value();
  state_->options = options;
  state_->system = &system;
  state_->net = std::make_shared<detail::transport>(options.io_threads);
}

runtime::~runtime() {
  // The transport thread stops first so no event reaches an actor of a stopping system.
  state_->net.reset();
  if (state_->owned_system) {
    // Duplex's actors are hidden; the system does not wait for channels left open.
    state_->owned_system.reset();
  }
}

caf::actor_system& runtime::system() {
  return *state_->system;
}
codec_registry& runtime::codecs() {
  return state_->codecs;
}
const runtime_options& runtime::options() const {
  return state_->options;
}

log_options log_options::use_stderr_logger() {
  log_options out;
  // Not registered with spdlog's global registry: several runtimes may each have one.
  out.logger =
      std::make_shared<spdlog::logger>("duplex", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  return out;
}

}  // namespace duplex
