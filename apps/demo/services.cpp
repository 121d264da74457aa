#include "demo/services.hpp"

#include <functional>
#include <iomanip>
#include <sstream>
#include <utility>
#include <vector>

namespace duplex_demo {

using duplex::channel;
using duplex::errc;
using duplex::to_bytes;
using duplex::to_string;

namespace {

std::string celsius(double value) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << value << " C";
  return text.str();
}

// Runs `body` as the handler of `service`; records what it throws on `out`, then lets the
// handler pool fail the channel with it.
duplex::channel_handler guarded(std::string service, std::string server, console& out,
                                std::function<void(channel&)> body) {
  return [service = std::move(service), server = std::move(server), &out,
          body = std::move(body)](channel ch) {
    try {
      body(ch);
    } catch (const std::exception& e) {
      out.record_failure(server + " '" + service + "': " + e.what());
      throw;
    }
  };
}

void inbox(channel& ch, const std::string& me, console& out) {
  int count = 0;
  auto next = ch.read(wait_limit);
  for (; next.is_message(); next = ch.read(wait_limit)) {
    ++count;
    out.say(me, "inbox received '" + to_string(*next) + "'");
  }
  require(next.is_end(), "inbox: expected end-of-stream, got " + describe(next));
  require(ch.write(to_bytes("received " + std::to_string(count) + " messages"), wait_limit),
          "inbox: reply");
  require(ch.close_write(), "inbox: close");
}

void tally(channel& ch, const std::string& me, console& out) {
  int words = 0;
  std::size_t letters = 0;
  auto next = ch.read(wait_limit);
  for (; next.is_message(); next = ch.read(wait_limit)) {
    auto word = to_string(*next);
    ++words;
    letters += word.size();
    out.say(me, "read '" + word + "', acknowledging while the stream stays open");
    require(ch.write(to_bytes("ack " + std::to_string(words) + ": " + word), wait_limit),
            "tally: acknowledge");
  }
  require(next.is_end(), "tally: expected end-of-stream, got " + describe(next));
  auto trailers = ch.meta().trailers;
  out.say(me, "saw end-of-stream; client trailers in meta(): " + describe(trailers));
  require(trailers["words-sent"] == std::to_string(words),
          "tally: trailer words-sent should be " + std::to_string(words));
  require(ch.write(to_bytes("total: " + std::to_string(words) + " words, " +
                            std::to_string(letters) + " letters"),
                   wait_limit),
          "tally: total");
  duplex::metadata own{{"words-received", std::to_string(words)},
                       {"letters", std::to_string(letters)}};
  out.say(me, "sends the total, its trailers " + describe(own) + " and closes");
  require(ch.write_trailers(own), "tally: trailers");
  require(ch.close_write(), "tally: close");
}

void report(channel& ch, const std::string& me, console& out) {
  out.say(me, "sends " + std::to_string(report_rows) + " rows, then an error frame");
  for (int row = 1; row <= report_rows; ++row)
    require(ch.write(to_bytes("row " + std::to_string(row)), wait_limit), "report: row");
  require(ch.write_error(report_error_code, report_error_message), "report: write_error");
  read_end(ch, "report: the client's end");
}

void nest(channel& parent, const std::string& me, console& out, signals& done) {
  out.say(me, "opens nested channel 'callback' inside 'nest' and writes to it");
  auto child = parent.open("callback", {{"asked-by", me}});
  require(child.write(to_bytes("ping from " + me), wait_limit), "nest: write to the nested one");
  auto answer = read_text(child, "nest: the client's nested answer");
  out.say(me, "nested channel answered '" + answer + "'; ends its side of the parent");
  require(parent.close_write(), "nest: close the parent");
  read_end(parent, "nest: the client's end of the parent");
  // Both directions of the parent are closed: the nested channel ends with it.
  auto after = child.read(wait_limit);
  require(
      after.is_error() && after.error().code == errc::cancelled,
      "nest: the nested channel should end (cancelled) with its parent, got " + describe(after));
  out.say(me, "parent closed, so the nested channel ended: " + after.error().to_string());
  done.raise(nest_finished);
}

void thermo(channel& ch, const std::string& me, console& out) {
  const auto& codec = ch.payload_codec();
  const std::string content_type(codec.content_type());
  const bool text_wire = content_type == duplex::json_content_type;
  double sum = 0;
  std::uint32_t count = 0;
  auto next = ch.read(wait_limit);
  for (; next.is_message(); next = ch.read(wait_limit)) {
    auto value = require(duplex::decode_as<reading>(codec, *next), "thermo: decode a reading");
    auto wire = text_wire ? to_string(*next) : std::to_string(next->size()) + " bytes";
    out.say(me, content_type + " on the wire: " + wire + " -> " + describe(value));
    sum += value.celsius;
    ++count;
  }
  require(next.is_end(), "thermo: expected end-of-stream, got " + describe(next));
  require(count > 0, "thermo: no readings");
  require(ch.write_as(summary{count, sum / count, content_type}, wait_limit), "thermo: summary");
  require(ch.close_write(), "thermo: close");
}

}  // namespace

std::string describe(const reading& r) {
  return "reading{sensor=" + r.sensor + ", celsius=" + celsius(r.celsius) +
         ", sequence=" + std::to_string(r.sequence) + "}";
}

std::string describe(const summary& s) {
  return "summary{count=" + std::to_string(s.count) + ", mean=" + celsius(s.mean_celsius) +
         ", decoded as " + s.content_type + "}";
}

void serve_demo_services(duplex::peer& server, console& out, signals& done) {
  const std::string me = server.id();
  server.handle("inbox",
                guarded("inbox", me, out, [me, &out](channel& ch) { inbox(ch, me, out); }));
  server.handle("whoami", guarded("whoami", me, out, [me](channel& ch) {
                  require(ch.write(to_bytes(me), wait_limit), "whoami: reply");
                  require(ch.close_write(), "whoami: close");
                  read_end(ch, "whoami: the client's end");
                }));
  server.handle("tally",
                guarded("tally", me, out, [me, &out](channel& ch) { tally(ch, me, out); }));
  server.handle("report",
                guarded("report", me, out, [me, &out](channel& ch) { report(ch, me, out); }));
  server.handle("nest", guarded("nest", me, out,
                                [me, &out, &done](channel& ch) { nest(ch, me, out, done); }));
  server.handle("thermo",
                guarded("thermo", me, out, [me, &out](channel& ch) { thermo(ch, me, out); }));
}

}  // namespace duplex_demo
