// Payload codecs: msgpack (canonical) and JSON carry the same map-shaped values, and anything
// undecodable is invalid_argument.
#include <boost/test/unit_test.hpp>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "duplex/codec.hpp"

using namespace duplex;

namespace {

struct sample {
  int a = 0;
  std::string b;
  std::vector<int> c;
  MSGPACK_DEFINE_MAP(a, b, c)
};

bytes raw(std::initializer_list<int> list) {
  bytes out;
  for (int b : list) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

int code_of(errc code) {
  return static_cast<int>(code);
}

struct registry_fixture {
  codec_registry registry;
  const codec& msgpack_codec() const {
    auto* c = registry.find(msgpack_content_type);
    BOOST_REQUIRE(c != nullptr);
    return *c;
  }
  const codec& json_codec() const {
    auto* c = registry.find(json_content_type);
    BOOST_REQUIRE(c != nullptr);
    return *c;
  }
};

template <class T>
void check_invalid(const result<T>& decoded) {
  BOOST_REQUIRE_MESSAGE(!decoded, "decoded a value from bad input");
  BOOST_TEST(code_of(decoded.code()) == code_of(errc::invalid_argument));
  BOOST_TEST(!decoded.error().message.empty());
}

// A codec that is not built in: the payload is the msgpack bytes reversed.
class reversed_codec final : public codec {
 public:
  std::string_view content_type() const override { return "application/x-reversed"; }
  result<bytes> from_msgpack(const bytes& packed) const override {
    return bytes(packed.rbegin(), packed.rend());
  }
  result<bytes> to_msgpack(const bytes& wire) const override {
    return bytes(wire.rbegin(), wire.rend());
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(payload_codecs, registry_fixture)

BOOST_AUTO_TEST_CASE(msgpack_encodes_a_struct_as_a_map_with_field_names) {
  auto wire = encode_as(msgpack_codec(), sample{1, "x", {1, 2}});
  BOOST_REQUIRE_MESSAGE(wire, wire.error().to_string());
  // {"a": 1, "b": "x", "c": [1, 2]}
  BOOST_TEST((*wire ==
              raw({0x83, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0xa1, 0x78, 0xa1, 0x63, 0x92, 0x01, 0x02})));
  auto handle = msgpack::unpack(reinterpret_cast<const char*>(wire->data()), wire->size());
  const auto& o = handle.get();
  BOOST_REQUIRE(o.type == msgpack::type::MAP);
  BOOST_REQUIRE_EQUAL(o.via.map.size, 3u);
  BOOST_TEST(o.via.map.ptr[0].key.as<std::string>() == "a");
  BOOST_TEST(o.via.map.ptr[1].key.as<std::string>() == "b");
  BOOST_TEST(o.via.map.ptr[2].key.as<std::string>() == "c");
}

BOOST_AUTO_TEST_CASE(json_gives_the_same_shape_as_json_text) {
  auto wire = encode_as(json_codec(), sample{1, "x", {1, 2}});
  BOOST_REQUIRE_MESSAGE(wire, wire.error().to_string());
  BOOST_TEST(to_string(*wire) == R"({"a":1,"b":"x","c":[1,2]})");
}

BOOST_AUTO_TEST_CASE(json_and_msgpack_share_the_canonical_form) {
  auto packed = encode_as(msgpack_codec(), sample{-7, "\xe2\x98\xba", {}});
  auto text = encode_as(json_codec(), sample{-7, "\xe2\x98\xba", {}});
  BOOST_REQUIRE(packed);
  BOOST_REQUIRE(text);
  auto canonical = json_codec().to_msgpack(*text);
  BOOST_REQUIRE_MESSAGE(canonical, canonical.error().to_string());
  BOOST_TEST((*canonical == *packed));
}

BOOST_AUTO_TEST_CASE(decode_as_round_trips_msgpack) {
  const sample in{42, std::string("bin\0ary", 7), {3, -1, 100000}};
  auto wire = encode_as(msgpack_codec(), in);
  BOOST_REQUIRE(wire);
  auto out = decode_as<sample>(msgpack_codec(), *wire);
  BOOST_REQUIRE_MESSAGE(out, out.error().to_string());
  BOOST_TEST(out->a == in.a);
  BOOST_TEST(out->b == in.b);
  BOOST_TEST(out->c == in.c);
}

BOOST_AUTO_TEST_CASE(decode_as_round_trips_json) {
  const sample in{-5, "\t\n\r \xe2\x98\xba \xf0\x9f\x98\x88", {1, 2, 3}};
  auto wire = encode_as(json_codec(), in);
  BOOST_REQUIRE(wire);
  auto out = decode_as<sample>(json_codec(), *wire);
  BOOST_REQUIRE_MESSAGE(out, out.error().to_string());
  BOOST_TEST(out->a == in.a);
  BOOST_TEST(out->b == in.b);
  BOOST_TEST(out->c == in.c);
}

BOOST_AUTO_TEST_CASE(json_text_written_by_hand_decodes_in_any_key_order) {
  auto out = decode_as<sample>(json_codec(), to_bytes(R"( { "c" : [7], "b" : "y", "a" : 9 } )"));
  BOOST_REQUIRE_MESSAGE(out, out.error().to_string());
  BOOST_TEST(out->a == 9);
  BOOST_TEST(out->b == "y");
  BOOST_TEST(out->c == std::vector<int>{7});
}

BOOST_AUTO_TEST_CASE(undecodable_msgpack_is_invalid_argument) {
  const auto& c = msgpack_codec();
  check_invalid(decode_as<sample>(c, {}));
  check_invalid(decode_as<sample>(c, raw({0xc1})));                    // never-used byte
  check_invalid(decode_as<sample>(c, raw({0x83, 0xa1, 0x61})));        // cut short
  check_invalid(decode_as<sample>(c, raw({0x80, 0x80})));              // trailing bytes
  check_invalid(decode_as<sample>(c, raw({0xdd, 0xff, 0xff, 0xff})));  // cut array32 header
  // The msgpack bomb (base64 "/9///y7byA==") and its map32 header on its own.
  check_invalid(decode_as<sample>(c, raw({0xff, 0xdf, 0xff, 0xff, 0x2e, 0xdb, 0xc8})));
  check_invalid(decode_as<sample>(c, raw({0xdf, 0xff, 0xff, 0x2e, 0xdb, 0xc8})));
  // to_msgpack itself refuses, not only decode_as.
  auto packed = c.to_msgpack(raw({0xc1}));
  BOOST_TEST(code_of(packed.code()) == code_of(errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(invalid_json_is_invalid_argument) {
  const auto& c = json_codec();
  check_invalid(decode_as<sample>(c, {}));
  check_invalid(decode_as<sample>(c, to_bytes(R"({"a":)")));
  check_invalid(decode_as<sample>(c, to_bytes("not json")));
  check_invalid(decode_as<sample>(c, to_bytes(R"({"a":1} trailing)")));
  check_invalid(decode_as<sample>(c, raw({0x83, 0xa1, 0x61, 0x01})));  // msgpack is not JSON
  auto packed = c.to_msgpack(to_bytes("{"));
  BOOST_TEST(code_of(packed.code()) == code_of(errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(a_payload_of_the_wrong_shape_is_invalid_argument) {
  check_invalid(decode_as<sample>(json_codec(), to_bytes("[1,2,3]")));
  check_invalid(decode_as<sample>(json_codec(), to_bytes(R"("text")")));
  check_invalid(decode_as<sample>(json_codec(), to_bytes(R"({"a":"text","b":"x","c":[]})")));
  check_invalid(decode_as<sample>(json_codec(), to_bytes(R"({"a":1,"b":"x","c":{"d":1}})")));
  check_invalid(decode_as<sample>(msgpack_codec(), raw({0xa4, 0x74, 0x65, 0x78, 0x74})));
  check_invalid(decode_as<sample>(msgpack_codec(), raw({0x93, 0x01, 0x02, 0x03})));
  // Decoding as a different type checks the shape too.
  auto wire = encode_as(msgpack_codec(), sample{1, "x", {}});
  BOOST_REQUIRE(wire);
  auto as_int = decode_as<int>(msgpack_codec(), *wire);
  BOOST_TEST(code_of(as_int.code()) == code_of(errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(json_refuses_msgpack_it_cannot_represent) {
  auto text = json_codec().from_msgpack(raw({0xc1}));
  BOOST_TEST(code_of(text.code()) == code_of(errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(missing_content_type_selects_msgpack) {
  auto c = registry.for_headers({});
  BOOST_REQUIRE_MESSAGE(c, c.error().to_string());
  BOOST_TEST((*c)->content_type() == msgpack_content_type);
  c = registry.for_headers({{"other", "application/json"}});
  BOOST_REQUIRE(c);
  BOOST_TEST((*c)->content_type() == msgpack_content_type);
}

BOOST_AUTO_TEST_CASE(content_type_selects_the_codec) {
  auto c = registry.for_headers({{content_type_header, json_content_type}});
  BOOST_REQUIRE_MESSAGE(c, c.error().to_string());
  BOOST_TEST((*c)->content_type() == json_content_type);
  c = registry.for_headers({{content_type_header, msgpack_content_type}});
  BOOST_REQUIRE_MESSAGE(c, c.error().to_string());
  BOOST_TEST((*c)->content_type() == msgpack_content_type);
}

BOOST_AUTO_TEST_CASE(an_unknown_content_type_is_invalid_argument) {
  for (const char* type : {"text/plain", "", "application/JSON", "application/json; q=1"}) {
    BOOST_TEST_CONTEXT("content-type '" << type << "'") {
      auto c = registry.for_headers({{content_type_header, type}});
      BOOST_REQUIRE(!c);
      BOOST_TEST(code_of(c.code()) == code_of(errc::invalid_argument));
      BOOST_TEST(c.error().message.find(type) != std::string::npos);
    }
  }
  BOOST_TEST(registry.find("text/plain") == nullptr);
}

BOOST_AUTO_TEST_CASE(an_added_codec_is_selected_by_its_content_type) {
  registry.add(std::make_shared<reversed_codec>());
  auto c = registry.for_headers({{content_type_header, "application/x-reversed"}});
  BOOST_REQUIRE_MESSAGE(c, c.error().to_string());
  auto wire = encode_as(**c, sample{3, "z", {4}});
  BOOST_REQUIRE(wire);
  BOOST_TEST(wire->front() == 0x04);  // the last byte of the msgpack form comes first
  auto out = decode_as<sample>(**c, *wire);
  BOOST_REQUIRE_MESSAGE(out, out.error().to_string());
  BOOST_TEST(out->b == "z");
  BOOST_TEST(out->c == std::vector<int>{4});
}

BOOST_AUTO_TEST_CASE(bytes_round_trip_through_msgpack_at_every_bin_length_encoding) {
  const auto& c = msgpack_codec();
  // bin 8 up to 255 bytes, bin 16 up to 65535, bin 32 beyond.
  for (std::size_t size : {0u, 1u, 255u, 256u, 65535u, 65536u}) {
    bytes payload(size);
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::uint8_t>(i * 7);
    auto wire = encode_as(c, payload);
    BOOST_REQUIRE(wire);
    auto out = decode_as<bytes>(c, *wire);
    BOOST_REQUIRE_MESSAGE(out, out.error().to_string());
    BOOST_TEST((*out == payload), "size " << size);
  }
  // A string is accepted where bytes are expected, as msgpack-cxx reads it.
  auto text = decode_as<bytes>(c, raw({0xa2, 0x68, 0x69}));
  BOOST_REQUIRE(text);
  BOOST_TEST(to_string(*text) == "hi");
}

BOOST_AUTO_TEST_CASE(a_bin_payload_cut_short_or_followed_by_more_is_invalid_argument) {
  const auto& c = msgpack_codec();
  check_invalid(decode_as<bytes>(c, raw({0xc4, 0x03, 0x01, 0x02})));        // one byte short
  check_invalid(decode_as<bytes>(c, raw({0xc4, 0x01, 0x01, 0x02})));        // one byte more
  check_invalid(decode_as<bytes>(c, raw({0xc5, 0x00})));                    // cut bin16 header
  check_invalid(decode_as<bytes>(c, raw({0xc6, 0xff, 0xff, 0xff, 0xff})));  // 4 GiB claimed
  check_invalid(decode_as<bytes>(c, raw({0x93, 0x01, 0x02, 0x03})));        // an array of ints
}

BOOST_AUTO_TEST_SUITE_END()
