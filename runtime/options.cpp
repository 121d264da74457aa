#include "duplex/options.hpp"

#include "codec/frame.hpp"

namespace duplex {

namespace {
error invalid(const std::string& what) {
  return {errc::invalid_argument, what};
}
}  // namespace

result<void> peer_options::validate() const {
  if (pending_messages == 0) return invalid("pending_messages must be at least 1");
  if (pending_bytes < max_payload + wire::data_frame_overhead)
    return invalid("pending_bytes must hold one max_payload message plus " +
                   std::to_string(wire::data_frame_overhead) + " bytes");
  if (max_pending_opens == 0) return invalid("max_pending_opens must be at least 1");
  if (max_payload == 0) return invalid("max_payload must be at least 1");
  if (max_payload > (std::size_t{1} << 31)) return invalid("max_payload must be at most 2 GiB");
  if (channel_window < max_payload + wire::data_frame_overhead)
    return invalid("channel_window (" + std::to_string(channel_window) +
                   ") must hold one max_payload message plus " +
                   std::to_string(wire::data_frame_overhead) + " bytes");
  if (connection_window < channel_window)
    return invalid("connection_window must be at least channel_window");
  if (linger.count() < 0) return invalid("linger must not be negative");
  if (heartbeat_interval.count() <= 0) return invalid("heartbeat_interval must be positive");
  if (heartbeat_timeout < heartbeat_interval)
    return invalid("heartbeat_timeout must be at least heartbeat_interval");
  if (handshake_interval.count() <= 0) return invalid("handshake_interval must be positive");
  if (reconnect_interval.count() <= 0) return invalid("reconnect_interval must be positive");
  if (reconnect_interval_max < reconnect_interval)
    return invalid("reconnect_interval_max must be at least reconnect_interval");
  if (handler_threads == 0) return invalid("handler_threads must be at least 1");
  if (max_handler_threads < handler_threads)
    return invalid("max_handler_threads must be at least handler_threads");
  if (max_channels_per_remote == 0) return invalid("max_channels_per_remote must be at least 1");
  if (max_header_bytes == 0) return invalid("max_header_bytes must be at least 1");
  return security.validate();
}

result<void> runtime_options::validate() const {
  if (io_threads < 1) return invalid("io_threads must be at least 1");
  if (scheduler_threads > 256) return invalid("scheduler_threads must be at most 256");
  return {};
}

}  // namespace duplex
