#include "duplex/send_batch.hpp"

#include "transport/transport.hpp"

namespace duplex {

send_batch::send_batch() {
  detail::transport::hold_sends();
}

send_batch::~send_batch() {
  detail::transport::end_hold();
}

namespace detail {
void release_held_sends() {
  transport::release_held_sends();
}
}  // namespace detail

}  // namespace duplex
