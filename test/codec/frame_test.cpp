#include <boost/test/unit_test.hpp>

#include "codec/frame.hpp"

using namespace duplex;
using namespace duplex::wire;

BOOST_AUTO_TEST_SUITE(frames)

BOOST_AUTO_TEST_CASE(placeholder_roundtrip) {
  frame f;
  f.kind = frame_kind::data;
  f.channel = 7;
  f.payload = to_bytes("abc");
  msgpack::sbuffer buffer;
  encode(f, buffer);
  auto decoded = decode_batch(buffer.data(), buffer.size(), {});
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
