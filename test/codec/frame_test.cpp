// The wire codec: every frame kind round-trips, batches decode in order, and hostile or broken
// input is a connection error (errc::internal), never a crash or an unbounded allocation.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "codec/frame.hpp"

using namespace duplex;
using namespace duplex::wire;

namespace {

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

// Bytes written out one by one, so that 0x00 needs no escaping.
std::string raw(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

std::string encoded(const frame& f) {
  std::string out;
  encode(f, out);
  return out;
}

std::string encoded(const std::vector<frame>& frames) {
  std::string out;
  for (const auto& f : frames) encode(f, out);
  return out;
}

template <class Fill>
std::string packed(Fill fill) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  fill(pk);
  return std::string(buffer.data(), buffer.size());
}

result<std::vector<frame>> decode(const std::string& batch, const decode_limits& limits = {}) {
  return decode_batch(batch.data(), batch.size(), limits);
}

frame decode_one(const std::string& batch, const decode_limits& limits = {}) {
  auto decoded = decode(batch, limits);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error().to_string());
  BOOST_REQUIRE_EQUAL(decoded->size(), 1u);
  return decoded->front();
}

frame round_trip(const frame& f) {
  return decode_one(encoded(f));
}

void check_internal(const std::string& batch, const decode_limits& limits = {}) {
  auto decoded = decode(batch, limits);
  BOOST_REQUIRE_MESSAGE(!decoded, "a bad batch decoded");
  BOOST_TEST(static_cast<int>(decoded.code()) == static_cast<int>(errc::internal));
  BOOST_TEST(!decoded.error().message.empty());
}

void check_same(const frame& a, const frame& b) {
  BOOST_TEST(to_string(a.kind) == to_string(b.kind));
  BOOST_TEST(a.channel == b.channel);
  BOOST_TEST(a.parent == b.parent);
  BOOST_TEST(a.service == b.service);
  BOOST_TEST((a.headers == b.headers));
  BOOST_TEST(to_string(a.payload) == to_string(b.payload));
  BOOST_TEST(a.value == b.value);
  BOOST_TEST(static_cast<int>(a.status.code) == static_cast<int>(b.status.code));
  BOOST_TEST(a.status.message == b.status.message);
  BOOST_TEST(a.hello->version_major == b.hello->version_major);
  BOOST_TEST(a.hello->version_minor == b.hello->version_minor);
  BOOST_TEST(a.hello->peer_id == b.hello->peer_id);
  BOOST_TEST(a.hello->session_id == b.hello->session_id);
  BOOST_TEST(a.hello->window == b.hello->window);
  BOOST_TEST(a.hello->max_payload == b.hello->max_payload);
}

frame make(frame_kind kind, std::uint64_t channel) {
  frame f;
  f.kind = kind;
  f.channel = channel;
  return f;
}

// One frame of every kind with every field set to something other than its default.
std::vector<frame> one_of_each_kind() {
  std::vector<frame> out;
  auto hello = make(frame_kind::hello, 0);
  hello.hello = {1, 7, "peer-\xe2\x98\xba", "session-1", 8388624, 4194304};
  out.push_back(hello);
  auto open = make(frame_kind::open, 3);
  open.parent = 1;
  open.service = "echo";
  open.headers = {{"content-type", "application/json"}, {"bin", raw({0x00, 0xff, 0x00})}};
  out.push_back(open);
  auto data = make(frame_kind::data, 3);
  data.payload = {0x00, 0x01, 0x00, 0xff};
  out.push_back(data);
  auto trailers = make(frame_kind::trailers, 3);
  trailers.headers = {{"t", raw({0xab, 0xab, 0xab})}};
  out.push_back(trailers);
  out.push_back(make(frame_kind::end, 3));
  auto error = make(frame_kind::error, 5);
  error.status = {errc::unavailable, "gone"};
  out.push_back(error);
  auto cancel = make(frame_kind::cancel, 7);
  cancel.status = {errc::cancelled, "x"};
  out.push_back(cancel);
  auto credit = make(frame_kind::credit, 3);
  credit.value = 65536;
  out.push_back(credit);
  auto ping = make(frame_kind::ping, 0);
  ping.value = 42;
  out.push_back(ping);
  auto pong = make(frame_kind::pong, 0);
  pong.value = 43;
  out.push_back(pong);
  auto bye = make(frame_kind::bye, 0);
  bye.status = {errc::already_exists, "dup"};
  out.push_back(bye);
  return out;
}

// The number of array elements PROTOCOL.md §2 lists for each kind.
std::uint32_t listed_fields(frame_kind kind) {
  switch (kind) {
    case frame_kind::hello:
      return 8;
    case frame_kind::open:
      return 5;
    case frame_kind::end:
      return 2;
    case frame_kind::error:
    case frame_kind::cancel:
    case frame_kind::bye:
      return 4;
    default:
      return 3;
  }
}

// Re-packs the encoding of `f` with element `index` replaced by whatever `fill` packs, or
// (with `keep` below the full size) cut down to its first `keep` elements.
template <class Fill>
std::string with_element(const frame& f, std::uint32_t index, Fill fill) {
  auto full = encoded(f);
  auto handle = msgpack::unpack(full.data(), full.size());
  const auto& array = handle.get().via.array;
  return packed([&](auto& pk) {
    pk.pack_array(array.size);
    for (std::uint32_t i = 0; i < array.size; ++i) {
      if (i == index)
        fill(pk);
      else
        pk.pack(array.ptr[i]);
    }
  });
}

std::string first_elements(const frame& f, std::uint32_t keep) {
  auto full = encoded(f);
  auto handle = msgpack::unpack(full.data(), full.size());
  const auto& array = handle.get().via.array;
  return packed([&](auto& pk) {
    pk.pack_array(keep);
    for (std::uint32_t i = 0; i < keep; ++i) pk.pack(array.ptr[i]);
  });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(frames)

BOOST_AUTO_TEST_CASE(hello_round_trips_every_field) {
  auto f = make(frame_kind::hello, 0);
  f.hello = {1,
             std::numeric_limits<std::uint32_t>::max(),
             "peer \xe2\x98\xba",
             std::string("s\0id", 4),
             max_u64,
             max_u64 - 1};
  check_same(round_trip(f), f);
}

BOOST_AUTO_TEST_CASE(hello_is_encoded_on_channel_zero) {
  auto f = make(frame_kind::hello, 99);
  f.hello = {1, 0, "a", "s1", 100, 50};
  BOOST_TEST(round_trip(f).channel == 0u);
}

BOOST_AUTO_TEST_CASE(open_round_trips_parent_service_and_binary_headers) {
  auto f = make(frame_kind::open, max_u64);
  f.parent = max_u64 - 2;
  f.service = "svc \xf0\x9f\x98\x88";
  f.headers = {{"content-type", "application/msgpack"},
               {"binary", raw({0x00, 0x00, 0x01, 0x00, 0xff})},
               {"empty", ""},
               {"key \xe2\x98\xba", std::string(1000, '\0')}};
  check_same(round_trip(f), f);
}

BOOST_AUTO_TEST_CASE(open_with_no_headers_and_empty_service_round_trips) {
  auto f = make(frame_kind::open, 1);
  check_same(round_trip(f), f);
}

BOOST_AUTO_TEST_CASE(data_round_trips_every_byte_value_on_a_64_bit_channel) {
  auto f = make(frame_kind::data, max_u64);
  for (int i = 0; i < 256; ++i) f.payload.push_back(static_cast<std::uint8_t>(i));
  f.payload.push_back(0x00);
  check_same(round_trip(f), f);
}

BOOST_AUTO_TEST_CASE(data_with_a_zero_length_payload_round_trips) {
  auto f = make(frame_kind::data, 1);
  auto back = round_trip(f);
  check_same(back, f);
  BOOST_TEST(back.payload.empty());
  BOOST_TEST(encoded(f) == raw({0x93, 0x03, 0x01, 0xc4, 0x00}));
}

BOOST_AUTO_TEST_CASE(borrowed_payloads_point_into_the_batch_up_to_the_limit_and_can_be_owned) {
  auto small = make(frame_kind::data, 3);
  small.payload.assign(max_borrowed_payload, 0xab);
  auto large = make(frame_kind::data, 5);
  large.payload.assign(max_borrowed_payload + 1, 0xcd);
  auto batch = encoded(std::vector<frame>{small, large});
  auto decoded = decode_batch(batch.data(), batch.size(), {}, /*borrow_small_payloads=*/true);
  BOOST_REQUIRE(decoded);
  BOOST_REQUIRE_EQUAL(decoded->size(), 2u);
  auto& first = (*decoded)[0];
  const auto* begin = reinterpret_cast<const std::uint8_t*>(batch.data());
  BOOST_TEST(first.payload.empty());
  BOOST_TEST((first.borrowed >= begin && first.borrowed < begin + batch.size()));
  BOOST_TEST(first.payload_size() == max_borrowed_payload);
  auto& second = (*decoded)[1];
  BOOST_TEST(!second.borrowed);  // above the limit: copied as before
  BOOST_TEST(second.payload == large.payload);
  BOOST_TEST(encoded(first) == encoded(small));  // re-encoding reads the borrowed bytes
  first.own_payload();
  BOOST_TEST(!first.borrowed);
  BOOST_TEST(first.payload == small.payload);
  check_same(first, small);
}

BOOST_AUTO_TEST_CASE(end_round_trips) {
  auto f = make(frame_kind::end, std::uint64_t{1} << 40);
  check_same(round_trip(f), f);
}

BOOST_AUTO_TEST_CASE(status_frames_round_trip_every_code_and_utf8_messages) {
  for (auto kind : {frame_kind::error, frame_kind::cancel, frame_kind::bye}) {
    for (std::uint32_t code = 0; code <= 16; ++code) {
      BOOST_TEST_CONTEXT(to_string(kind) << " code " << code) {
        auto f = make(kind, kind == frame_kind::bye ? 0 : max_u64);
        f.status = {static_cast<errc>(code), "\t\n\r \xe2\x98\xba \xf0\x9f\x98\x88"};
        check_same(round_trip(f), f);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(status_frames_with_an_empty_message_round_trip) {
  auto f = make(frame_kind::error, 5);
  f.status = {errc::internal, ""};
  check_same(round_trip(f), f);
}

BOOST_AUTO_TEST_CASE(status_codes_outside_the_table_decode_as_unknown) {
  for (std::uint64_t code : {std::uint64_t{17}, std::uint64_t{1000}, max_u64}) {
    BOOST_TEST_CONTEXT("code " << code) {
      auto batch = packed([&](auto& pk) {
        pk.pack_array(4);
        pk.pack(5);
        pk.pack(1);
        pk.pack(code);
        pk.pack(std::string("m"));
      });
      auto f = decode_one(batch);
      BOOST_TEST(static_cast<int>(f.status.code) == static_cast<int>(errc::unknown));
      BOOST_TEST(f.status.message == "m");
    }
  }
}

BOOST_AUTO_TEST_CASE(trailers_round_trip_binary_values) {
  auto f = make(frame_kind::trailers, 9);
  f.headers = {{"t", raw({0xab, 0xab, 0xab})}, {"z", raw({0x00})}};
  auto back = round_trip(f);
  check_same(back, f);
  BOOST_TEST(back.headers.at("t") == "\xab\xab\xab");
}

BOOST_AUTO_TEST_CASE(value_frames_round_trip_the_whole_64_bit_range) {
  for (auto kind : {frame_kind::credit, frame_kind::ping, frame_kind::pong}) {
    for (std::uint64_t value :
         {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{1} << 32, max_u64}) {
      BOOST_TEST_CONTEXT(to_string(kind) << " value " << value) {
        auto f = make(kind, kind == frame_kind::credit ? max_u64 : 0);
        f.value = value;
        check_same(round_trip(f), f);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(encoding_matches_the_byte_examples_of_the_protocol) {
  auto hello = make(frame_kind::hello, 0);
  hello.hello = {1, 0, "a", "s1", 8388624, 4194304};
  BOOST_TEST(encoded(hello) == raw({0x98, 0x01, 0x00, 0x01, 0x00, 0xa1, 0x61, 0xa2, 0x73, 0x31,
                                    0xce, 0x00, 0x80, 0x00, 0x10, 0xce, 0x00, 0x40, 0x00, 0x00}));
  auto open = make(frame_kind::open, 1);
  open.service = "echo";
  open.headers = {{"k", "v"}};
  BOOST_TEST(encoded(open) == raw({0x95, 0x02, 0x01, 0x00, 0xa4, 0x65, 0x63, 0x68, 0x6f, 0x81, 0xa1,
                                   0x6b, 0xc4, 0x01, 0x76}));
  auto data = make(frame_kind::data, 1);
  data.payload = to_bytes("hi");
  BOOST_TEST(encoded(data) == raw({0x93, 0x03, 0x01, 0xc4, 0x02, 0x68, 0x69}));
  BOOST_TEST(encoded(make(frame_kind::end, 1)) == raw({0x92, 0x04, 0x01}));
  auto error = make(frame_kind::error, 1);
  error.status = {errc::unavailable, "gone"};
  BOOST_TEST(encoded(error) == raw({0x94, 0x05, 0x01, 0x0e, 0xa4, 0x67, 0x6f, 0x6e, 0x65}));
  auto trailers = make(frame_kind::trailers, 1);
  trailers.headers = {{"t", "\xab\xab\xab"}};
  BOOST_TEST(encoded(trailers) ==
             raw({0x93, 0x06, 0x01, 0x81, 0xa1, 0x74, 0xc4, 0x03, 0xab, 0xab, 0xab}));
  auto cancel = make(frame_kind::cancel, 2);
  cancel.status = {errc::cancelled, "x"};
  BOOST_TEST(encoded(cancel) == raw({0x94, 0x07, 0x02, 0x01, 0xa1, 0x78}));
  auto credit = make(frame_kind::credit, 1);
  credit.value = 65536;
  BOOST_TEST(encoded(credit) == raw({0x93, 0x08, 0x01, 0xce, 0x00, 0x01, 0x00, 0x00}));
  auto ping = make(frame_kind::ping, 0);
  ping.value = 7;
  BOOST_TEST(encoded(ping) == raw({0x93, 0x09, 0x00, 0x07}));
  auto bye = make(frame_kind::bye, 0);
  bye.status = {errc::already_exists, "dup"};
  BOOST_TEST(encoded(bye) == raw({0x94, 0x0b, 0x00, 0x06, 0xa3, 0x64, 0x75, 0x70}));
}

BOOST_AUTO_TEST_CASE(fast_path_encoders_match_encode) {
  const std::uint8_t body[] = {0x00, 0x68, 0x00};
  std::string fast;
  encode_data(max_u64, body, sizeof body, fast);
  encode_simple(frame_kind::end, 5, fast);
  encode_value(frame_kind::credit, 5, max_u64, fast);
  encode_status(frame_kind::cancel, 5, {errc::internal, "why \xe2\x98\xba"}, fast);

  auto data = make(frame_kind::data, max_u64);
  data.payload.assign(body, body + sizeof body);
  auto credit = make(frame_kind::credit, 5);
  credit.value = max_u64;
  auto cancel = make(frame_kind::cancel, 5);
  cancel.status = {errc::internal, "why \xe2\x98\xba"};
  BOOST_TEST(fast == encoded(std::vector<frame>{data, make(frame_kind::end, 5), credit, cancel}));
}

BOOST_AUTO_TEST_CASE(integers_of_any_width_decode) {
  // [3, 1, b"x"] with the kind as uint64, the channel as int8 and as uint16.
  auto f = decode_one(raw({0x93, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xd0, 0x01, 0xc4, 0x01, 0x78}));
  BOOST_TEST(to_string(f.kind) == std::string("DATA"));
  BOOST_TEST(f.channel == 1u);
  BOOST_TEST(to_string(f.payload) == "x");
  f = decode_one(raw({0x92, 0xcc, 0x04, 0xcd, 0x01, 0x00}));
  BOOST_TEST(to_string(f.kind) == std::string("END"));
  BOOST_TEST(f.channel == 256u);
}

BOOST_AUTO_TEST_CASE(data_decodes_alike_for_every_channel_and_length_encoding) {
  // [3, channel, b"xy"], the channel as fixint, uint8, uint16, uint32 and uint64, the payload
  // as bin8, bin16 and bin32, and with an element more: every spelling is the same frame.
  const std::vector<std::pair<std::string, std::uint64_t>> channels{
      {raw({0x05}), 5},
      {raw({0xcc, 0x80}), 128},
      {raw({0xcd, 0x01, 0x00}), 256},
      {raw({0xce, 0x00, 0x01, 0x00, 0x00}), 65536},
      {raw({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), max_u64}};
  const std::vector<std::string> payloads{raw({0xc4, 0x02, 0x78, 0x79}),
                                          raw({0xc5, 0x00, 0x02, 0x78, 0x79}),
                                          raw({0xc6, 0x00, 0x00, 0x00, 0x02, 0x78, 0x79})};
  for (const auto& [channel_bytes, channel] : channels)
    for (const auto& payload : payloads)
      for (bool extra : {false, true}) {
        auto batch = raw({extra ? 0x94 : 0x93, 0x03}) + channel_bytes + payload +
                     (extra ? raw({0xc0}) : std::string{});
        BOOST_TEST_CONTEXT("channel " << channel << ", " << payload.size() << " payload bytes"
                                      << (extra ? ", one element more" : "")) {
          // Twice in one batch, followed by END: the decoder must stop exactly at each end.
          auto decoded = decode(batch + batch + encoded(make(frame_kind::end, 9)));
          BOOST_REQUIRE_MESSAGE(decoded, decoded.error().to_string());
          BOOST_REQUIRE_EQUAL(decoded->size(), 3u);
          for (int i = 0; i < 2; ++i) {
            BOOST_TEST(to_string((*decoded)[i].kind) == std::string("DATA"));
            BOOST_TEST((*decoded)[i].channel == channel);
            BOOST_TEST(to_string((*decoded)[i].payload) == "xy");
          }
          BOOST_TEST((*decoded)[2].channel == 9u);
        }
      }
}

BOOST_AUTO_TEST_CASE(metadata_values_may_be_str) {
  // [6, 1, {"k": "v"}] with the value as str instead of bin.
  auto f = decode_one(raw({0x93, 0x06, 0x01, 0x81, 0xa1, 0x6b, 0xa1, 0x76}));
  BOOST_TEST((f.headers == metadata{{"k", "v"}}));
}

BOOST_AUTO_TEST_CASE(extra_elements_are_ignored) {
  // [4, 1, nil, "x", {}] and [8, 2, 10, [1, 2]]
  auto decoded = decode(raw({0x95, 0x04, 0x01, 0xc0, 0xa1, 0x78, 0x80,  //
                             0x94, 0x08, 0x02, 0x0a, 0x92, 0x01, 0x02}));
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error().to_string());
  BOOST_REQUIRE_EQUAL(decoded->size(), 2u);
  BOOST_TEST(to_string((*decoded)[0].kind) == std::string("END"));
  BOOST_TEST((*decoded)[1].value == 10u);
}

BOOST_AUTO_TEST_CASE(a_batch_of_every_kind_decodes_in_order) {
  auto frames = one_of_each_kind();
  auto decoded = decode(encoded(frames));
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error().to_string());
  BOOST_REQUIRE_EQUAL(decoded->size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    BOOST_TEST_CONTEXT("frame " << i) {
      check_same((*decoded)[i], frames[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_kinds_are_skipped_between_known_frames) {
  std::string batch;
  batch += raw({0x92, 0x00, 0x01});                          // [0, 1]
  batch += encoded(make(frame_kind::end, 1));                //
  batch += raw({0x93, 0x0c, 0x01, 0xa1, 0x78});              // [12, 1, "x"]
  batch += raw({0x94, 0xcc, 0xc8, 0x05, 0x81, 0x01, 0x02});  // [200, 5, {1: 2}, ...
  batch += raw({0x92, 0x01, 0x02});                          //  ... [1, 2]]
  batch += raw({0x92, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00});  // [2^64-1, 0]
  batch += encoded(make(frame_kind::end, 2));
  batch += raw({0x92, 0x0c, 0x00});  // [12, 0] last
  auto decoded = decode(batch);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error().to_string());
  BOOST_REQUIRE_EQUAL(decoded->size(), 2u);
  BOOST_TEST((*decoded)[0].channel == 1u);
  BOOST_TEST((*decoded)[1].channel == 2u);
}

BOOST_AUTO_TEST_CASE(a_batch_of_only_unknown_kinds_decodes_to_nothing) {
  auto decoded = decode(raw({0x92, 0x0c, 0x00, 0x93, 0x7f, 0x01, 0xc0}));
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error().to_string());
  BOOST_TEST(decoded->empty());
}

BOOST_AUTO_TEST_CASE(unknown_kinds_still_need_an_array_with_an_integer_kind_and_a_channel) {
  check_internal(raw({0x91, 0x0c}));        // [12]
  check_internal(raw({0x92, 0xff, 0x00}));  // [-1, 0]
  check_internal(raw({0x92, 0xc0, 0x00}));  // [nil, 0]
}

BOOST_AUTO_TEST_CASE(an_empty_batch_is_a_connection_error) {
  check_internal("");
  auto decoded = decode_batch(nullptr, 0, {});
  BOOST_TEST(static_cast<int>(decoded.code()) == static_cast<int>(errc::internal));
}

BOOST_AUTO_TEST_CASE(every_cut_inside_a_frame_is_a_connection_error) {
  auto frames = one_of_each_kind();
  std::vector<std::size_t> boundaries{0};
  std::string batch;
  for (const auto& f : frames) {
    batch += encoded(f);
    boundaries.push_back(batch.size());
  }
  std::size_t complete = 0;
  for (std::size_t cut = 1; cut < batch.size(); ++cut) {
    BOOST_TEST_CONTEXT("first " << cut << " of " << batch.size() << " bytes") {
      auto decoded = decode(batch.substr(0, cut));
      if (cut == boundaries[complete + 1]) {
        ++complete;
        BOOST_REQUIRE_MESSAGE(decoded, decoded.error().to_string());
        BOOST_TEST(decoded->size() == complete);
      } else {
        BOOST_TEST(static_cast<int>(decoded.code()) == static_cast<int>(errc::internal));
      }
    }
  }
  BOOST_TEST(complete == frames.size() - 1);
}

BOOST_AUTO_TEST_CASE(a_trailing_partial_frame_fails_the_whole_batch) {
  auto batch = encoded(make(frame_kind::end, 1));
  batch += raw({0x93, 0x03, 0x01, 0xc4, 0x05, 0x61});  // DATA announcing 5 bytes, carrying 1
  check_internal(batch);
  check_internal(encoded(make(frame_kind::end, 1)) + raw({0xc1}));  // never-used byte
  check_internal(encoded(make(frame_kind::end, 1)) + raw({0x07}));  // a value, not a frame
}

BOOST_AUTO_TEST_CASE(a_frame_that_is_not_an_array_is_a_connection_error) {
  check_internal(raw({0x03}));                    // 3
  check_internal(raw({0xc0}));                    // nil
  check_internal(raw({0xa1, 0x78}));              // "x"
  check_internal(raw({0xc4, 0x01, 0x78}));        // b"x"
  check_internal(raw({0x81, 0x03, 0x01}));        // {3: 1}
  check_internal(raw({0x90}));                    // []
  check_internal(raw({0xca, 0x40, 0, 0, 0}));     // 2.0f
  check_internal(raw({0xd4, 0x01, 0x03}));        // ext
  check_internal(raw({0x92, 0x04, 0x01, 0x03}));  // END then a lone integer
}

BOOST_AUTO_TEST_CASE(too_few_fields_is_a_connection_error_for_every_kind) {
  for (const auto& f : one_of_each_kind()) {
    for (std::uint32_t keep = 0; keep < listed_fields(f.kind); ++keep) {
      BOOST_TEST_CONTEXT(to_string(f.kind) << " with " << keep << " elements") {
        check_internal(first_elements(f, keep));
      }
    }
    BOOST_TEST_CONTEXT(to_string(f.kind) << " complete") {
      decode_one(first_elements(f, listed_fields(f.kind)));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_type_in_any_field_is_a_connection_error) {
  for (const auto& f : one_of_each_kind()) {
    for (std::uint32_t index = 0; index < listed_fields(f.kind); ++index) {
      BOOST_TEST_CONTEXT(to_string(f.kind) << " element " << index) {
        check_internal(with_element(f, index, [](auto& pk) { pk.pack_nil(); }));
        check_internal(with_element(f, index, [](auto& pk) { pk.pack(-1); }));
        check_internal(with_element(f, index, [](auto& pk) { pk.pack(1.5); }));
        check_internal(with_element(f, index, [](auto& pk) { pk.pack(true); }));
        check_internal(with_element(f, index, [](auto& pk) { pk.pack(std::vector<int>{1}); }));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(str_and_bin_are_not_interchangeable_where_the_protocol_says_which) {
  // DATA payload as str.
  check_internal(raw({0x93, 0x03, 0x01, 0xa2, 0x68, 0x69}));
  // OPEN service as bin.
  check_internal(raw({0x95, 0x02, 0x01, 0x00, 0xc4, 0x01, 0x65, 0x80}));
  // OPEN header key as bin.
  check_internal(raw({0x95, 0x02, 0x01, 0x00, 0xa1, 0x65, 0x81, 0xc4, 0x01, 0x6b, 0xa1, 0x76}));
  // OPEN header value as an integer.
  check_internal(raw({0x95, 0x02, 0x01, 0x00, 0xa1, 0x65, 0x81, 0xa1, 0x6b, 0x01}));
  // TRAILERS as an array.
  check_internal(raw({0x93, 0x06, 0x01, 0x91, 0xa1, 0x6b}));
  // ERROR message as bin.
  check_internal(raw({0x94, 0x05, 0x01, 0x0e, 0xc4, 0x01, 0x78}));
  // HELLO peer id as bin.
  check_internal(
      raw({0x98, 0x01, 0x00, 0x01, 0x00, 0xc4, 0x01, 0x61, 0xa2, 0x73, 0x31, 0x20, 0x10}));
}

BOOST_AUTO_TEST_CASE(a_malformed_frame_fails_the_frames_before_it_too) {
  auto batch = encoded(one_of_each_kind());
  batch += raw({0x93, 0x03, 0x01, 0xa2, 0x68, 0x69});
  batch += encoded(make(frame_kind::end, 1));
  check_internal(batch);
}

BOOST_AUTO_TEST_CASE(the_msgpack_bomb_is_refused_without_allocating) {
  // base64 "/9///y7byA==": -1, then a map32 header claiming 0xffff2edb entries, then a cut ext.
  const std::string bomb = raw({0xff, 0xdf, 0xff, 0xff, 0x2e, 0xdb, 0xc8});
  BOOST_REQUIRE_EQUAL(bomb.size(), 7u);
  check_internal(bomb);
  // The same header where the decoder must parse it: as a batch, and as an element of a frame.
  // The limits, not a failed allocation, must refuse them.
  for (const auto& batch : {bomb.substr(1), raw({0x92, 0x0c, 0x00}) + bomb.substr(1),
                            raw({0x93, 0x06, 0x01}) + bomb.substr(1)}) {
    auto decoded = decode(batch);
    BOOST_REQUIRE(!decoded);
    BOOST_TEST(static_cast<int>(decoded.code()) == static_cast<int>(errc::internal));
    BOOST_TEST(decoded.error().message.find("size overflow") != std::string::npos,
               decoded.error().message);
  }
}

BOOST_AUTO_TEST_CASE(hostile_lengths_are_refused_by_the_limits) {
  const std::vector<std::string> hostile{
      raw({0x93, 0x0c, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff}),  // array32 of 2^32-1
      raw({0x93, 0x0c, 0x00, 0xdf, 0xff, 0xff, 0xff, 0xff}),  // map32 of 2^32-1
      raw({0xdd, 0x7f, 0xff, 0xff, 0xff}),                    // the frame itself, array32
      raw({0x93, 0x06, 0x01, 0xde, 0x10, 0x01}),              // map16 of 4097
  };
  for (const auto& batch : hostile) {
    auto decoded = decode(batch);
    BOOST_REQUIRE(!decoded);
    BOOST_TEST(static_cast<int>(decoded.code()) == static_cast<int>(errc::internal));
    BOOST_TEST(decoded.error().message.find("size overflow") != std::string::npos,
               decoded.error().message);
  }
  // Long strings and bins whose bytes are missing.
  check_internal(raw({0x93, 0x03, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00}));
  check_internal(raw({0x94, 0x05, 0x01, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x00}));
}

BOOST_AUTO_TEST_CASE(frames_have_at_most_16_elements) {
  auto frame_of = [](std::uint32_t elements) {
    return packed([&](auto& pk) {
      pk.pack_array(elements);
      pk.pack(4);
      pk.pack(1);
      for (std::uint32_t i = 2; i < elements; ++i) pk.pack_nil();
    });
  };
  BOOST_TEST(decode_one(frame_of(16)).channel == 1u);
  check_internal(frame_of(17));
}

BOOST_AUTO_TEST_CASE(nesting_is_limited_to_depth_4) {
  auto nested = [](int depth) {
    return packed([&](auto& pk) {
      pk.pack_array(3);
      pk.pack(12);
      pk.pack(0);
      for (int i = 1; i < depth; ++i) pk.pack_array(1);
      pk.pack(1);
    });
  };
  auto decoded = decode(nested(4));
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error().to_string());
  BOOST_TEST(decoded->empty());
  check_internal(nested(5));
}

BOOST_AUTO_TEST_CASE(headers_may_have_4096_entries_but_not_more) {
  auto open = make(frame_kind::open, 1);
  for (int i = 0; i < 4096; ++i) open.headers.emplace("k" + std::to_string(i), "v");
  BOOST_TEST(round_trip(open).headers.size() == 4096u);
  open.headers.emplace("one-more", "v");
  check_internal(encoded(open));
}

BOOST_AUTO_TEST_CASE(strings_are_limited_to_twice_the_header_limit_plus_1_kib) {
  decode_limits limits;
  limits.max_header_bytes = 100;
  const std::size_t max_text = 2 * 100 + 1024;
  auto open = make(frame_kind::open, 1);
  open.service = std::string(max_text, 's');
  BOOST_TEST(decode_one(encoded(open), limits).service.size() == max_text);
  open.service.push_back('s');
  check_internal(encoded(open), limits);
  auto error = make(frame_kind::error, 1);
  error.status = {errc::internal, std::string(max_text + 1, 'm')};
  check_internal(encoded(error), limits);
}

BOOST_AUTO_TEST_CASE(an_oversize_payload_decodes_so_that_its_channel_can_refuse_it) {
  decode_limits limits;
  limits.max_payload = 1024;
  auto data = make(frame_kind::data, 1);
  data.payload.assign(limits.max_payload + 1, 0x5a);
  auto f = decode_one(encoded(data), limits);
  BOOST_TEST(f.payload.size() == limits.max_payload + 1);
  BOOST_TEST((f.payload == data.payload));
}

BOOST_AUTO_TEST_CASE(a_payload_above_the_hard_cap_is_a_connection_error) {
  decode_limits limits;
  limits.max_payload = 1024;
  const std::size_t hard_cap = 2 * limits.max_payload + (64u << 10);
  auto data = make(frame_kind::data, 1);
  data.payload.assign(hard_cap, 0x01);
  BOOST_TEST(decode_one(encoded(data), limits).payload.size() == hard_cap);
  data.payload.push_back(0x01);
  check_internal(encoded(data), limits);
  // The frames before it in the batch do not survive either.
  check_internal(encoded(make(frame_kind::end, 3)) + encoded(data), limits);
}

BOOST_AUTO_TEST_CASE(the_default_limits_accept_4_mib_plus_one_and_refuse_above_the_cap) {
  const decode_limits limits;
  BOOST_REQUIRE_EQUAL(limits.max_payload, std::size_t{4} << 20);
  auto data = make(frame_kind::data, 1);
  data.payload.assign(limits.max_payload + 1, 0x00);
  BOOST_TEST(decode_one(encoded(data)).payload.size() == limits.max_payload + 1);
  data.payload.assign(2 * limits.max_payload + (64u << 10) + 1, 0x00);
  check_internal(encoded(data));
}

BOOST_AUTO_TEST_CASE(max_frames_bounds_a_batch) {
  decode_limits limits;
  limits.max_frames = 3;
  std::vector<frame> frames(3, make(frame_kind::end, 1));
  auto decoded = decode(encoded(frames), limits);
  BOOST_REQUIRE_MESSAGE(decoded, decoded.error().to_string());
  BOOST_TEST(decoded->size() == 3u);
  frames.push_back(make(frame_kind::end, 1));
  check_internal(encoded(frames), limits);
}

BOOST_AUTO_TEST_CASE(frame_kinds_have_protocol_names) {
  BOOST_TEST(to_string(frame_kind::hello) == std::string("HELLO"));
  BOOST_TEST(to_string(frame_kind::trailers) == std::string("TRAILERS"));
  BOOST_TEST(to_string(frame_kind::bye) == std::string("BYE"));
  BOOST_TEST(to_string(static_cast<frame_kind>(0)) == std::string("UNKNOWN"));
  BOOST_TEST(to_string(static_cast<frame_kind>(12)) == std::string("UNKNOWN"));
}

BOOST_AUTO_TEST_SUITE_END()
