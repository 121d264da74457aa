#include "actors/channel_finish.hpp"

#include "actors/channel_table.hpp"
#include "codec/frame.hpp"

namespace duplex::detail {

void finish_without_actor(channel_core& core, channel_table& table, transport* net,
                          connection_id conn, std::uint64_t channel,
                          std::uint64_t connection_credit_threshold) {
  core.close_nested();
  core.gate.fail({errc::failed_precondition, "the channel is closed"});
  auto credit = table.release_unstarted(conn, channel, connection_credit_threshold);
  if (credit > 0 && net) {
    std::string frame;
    wire::encode_value(wire::frame_kind::credit, 0, credit, frame);
    net->send_credit(conn, std::move(frame));
  }
}

}  // namespace duplex::detail
