// What a runtime holds; shared by the peers created on it.
#pragma once

#include <caf/all.hpp>

#include <memory>

#include "duplex/runtime.hpp"
#include "transport/transport.hpp"

namespace duplex::detail {

struct runtime_state {
  runtime_options options;
  std::unique_ptr<caf::actor_system_config> owned_config;
  std::unique_ptr<caf::actor_system> owned_system;
  caf::actor_system* system = nullptr;
  std::shared_ptr<transport> net;
  codec_registry codecs;
};

}  // namespace duplex::detail
