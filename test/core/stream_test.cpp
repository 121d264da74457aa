// The two message streams of a channel: data, empty messages, large messages, headers,
// trailers, errors, half-close, close, cancel and deadlines.
#include <boost/test/unit_test.hpp>

#include <thread>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

// A server and a connected client on one endpoint.
struct pair_fixture {
  runtime rt;
  peer server{rt};
  peer client{rt};
  std::string endpoint;

  explicit pair_fixture(const std::string& bind_to = "tcp://127.0.0.1:0") {
    endpoint = *server.bind(bind_to);
    BOOST_REQUIRE(client.connect(endpoint));
  }
};

const std::string special_message = "\t\n\r \xe2\x98\xba \xf0\x9f\x98\x88";  // "\t\n\r ☺ 😈"
const std::string binary_trailer = "\xab\xab\xab";

}  // namespace

BOOST_AUTO_TEST_SUITE(streams)

BOOST_AUTO_TEST_CASE(zero_byte_message_and_empty_streams_both_ways) {
  for (const auto& endpoint : bind_endpoints("empty")) {
    BOOST_TEST_CONTEXT(endpoint) {
      pair_fixture f{endpoint};
      f.server.handle("empty", [](channel ch) {
        auto first = ch.read(wait_limit);
        if (first.is_message() && first->empty()) ch.write(bytes{});
        ch.read(wait_limit);  // end
        ch.close_write();
      });
      f.server.handle("nothing", [](channel ch) {
        ch.read(wait_limit);
        ch.close_write();
      });
      auto ch = f.client.open("empty");
      BOOST_REQUIRE(ch.write(bytes{}));
      BOOST_REQUIRE(ch.close_write());
      auto reply = ch.read(wait_limit);
      BOOST_REQUIRE_MESSAGE(reply.is_message(), reply.error().to_string());
      BOOST_TEST(reply->empty());
      BOOST_TEST(ch.read(wait_limit).is_end());

      auto empty = f.client.open("nothing");
      BOOST_REQUIRE(empty.close_write());
      auto end = empty.read(wait_limit);
      BOOST_TEST(end.is_end(), end.error().to_string());
    }
  }
}

BOOST_AUTO_TEST_CASE(large_messages_arrive_byte_exact) {
  for (const auto& endpoint : bind_endpoints("large")) {
    BOOST_TEST_CONTEXT(endpoint) {
      pair_fixture f{endpoint};
      f.server.handle("large", [](channel ch) {
        auto request = ch.read(wait_limit);
        bool exact = request.is_message() && *request == make_payload(271828, 1);
        ch.write(exact ? make_payload(314159, 2) : to_bytes("mismatch"));
        ch.close_write();
      });
      auto ch = f.client.open("large");
      BOOST_REQUIRE(ch.write(make_payload(271828, 1)));
      auto reply = ch.read(wait_limit);
      BOOST_REQUIRE(reply.is_message());
      BOOST_TEST((*reply == make_payload(314159, 2)));
    }
  }
}

BOOST_AUTO_TEST_CASE(headers_trailers_and_error_message_round_trip_byte_exact) {
  pair_fixture f;
  f.server.handle("meta", [](channel ch) {
    auto meta = ch.meta();
    ch.write(to_bytes(meta.headers["h"]));
    ch.read(wait_limit);  // the client's end; its trailers are now in meta()
    ch.write(to_bytes(ch.meta().trailers["t"]));
    ch.write_trailers({{"bin", binary_trailer}});
    ch.write_error(errc::unavailable, special_message);
  });
  auto ch = f.client.open("meta", {{"h", "header \x01\x00 value"}});
  BOOST_REQUIRE(ch.write_trailers({{"t", binary_trailer}}));
  BOOST_REQUIRE(ch.close_write());
  auto header_echo = ch.read(wait_limit);
  BOOST_REQUIRE(header_echo.is_message());
  BOOST_TEST(to_string(*header_echo) == std::string("header \x01\x00 value"));
  auto trailer_echo = ch.read(wait_limit);
  BOOST_REQUIRE(trailer_echo.is_message());
  BOOST_TEST(to_string(*trailer_echo) == binary_trailer);
  auto failure = ch.read(wait_limit);
  BOOST_REQUIRE(failure.is_error());
  BOOST_TEST(failure.error().code == errc::unavailable);
  BOOST_TEST(failure.error().message == special_message);
  BOOST_TEST(ch.meta().trailers["bin"] == binary_trailer);
  // The end of a stream is sticky.
  BOOST_TEST(ch.read(wait_limit).error().message == special_message);
}

BOOST_AUTO_TEST_CASE(data_written_before_an_error_arrives_before_it) {
  pair_fixture f;
  f.server.handle("fail", [](channel ch) {
    for (int i = 0; i < 100; ++i) ch.write(to_bytes(std::to_string(i)));
    ch.write_error(errc::aborted, "stopped");
  });
  auto ch = f.client.open("fail");
  for (int i = 0; i < 100; ++i) {
    auto r = ch.read(wait_limit);
    BOOST_REQUIRE(r.is_message());
    BOOST_TEST(to_string(*r) == std::to_string(i));
  }
  auto r = ch.read(wait_limit);
  BOOST_TEST(r.error().code == errc::aborted);
}

BOOST_AUTO_TEST_CASE(half_close_leaves_the_other_direction_open) {
  pair_fixture f;
  f.server.handle("half", [](channel ch) {
    int count = 0;
    while (ch.read(wait_limit)) ++count;  // the client ends first
    for (int i = 0; i < 3; ++i) ch.write(to_bytes("after end " + std::to_string(count)));
    ch.close_write();
  });
  auto ch = f.client.open("half");
  BOOST_REQUIRE(ch.write(to_bytes("a")));
  BOOST_REQUIRE(ch.write(to_bytes("b")));
  BOOST_REQUIRE(ch.close_write());
  BOOST_TEST(ch.write(to_bytes("c")).code() == errc::failed_precondition);
  for (int i = 0; i < 3; ++i) {
    auto r = ch.read(wait_limit);
    BOOST_REQUIRE(r.is_message());
    BOOST_TEST(to_string(*r) == "after end 2");
  }
  BOOST_TEST(ch.read(wait_limit).is_end());
}

BOOST_AUTO_TEST_CASE(read_deadline_passes_without_losing_the_next_message) {
  pair_fixture f;
  std::promise<void> go;
  auto go_future = go.get_future().share();
  f.server.handle("later", [go_future](channel ch) {
    go_future.wait_for(wait_limit);
    ch.write(to_bytes("late"));
    ch.close_write();
  });
  auto ch = f.client.open("later");
  auto early = ch.read(20ms);
  BOOST_TEST(early.error().code == errc::deadline_exceeded);
  go.set_value();
  auto r = ch.read(wait_limit);
  BOOST_REQUIRE(r.is_message());
  BOOST_TEST(to_string(*r) == "late");
}

BOOST_AUTO_TEST_CASE(cancel_from_another_thread_wakes_a_blocked_read_and_tells_the_remote) {
  pair_fixture f;
  std::promise<void> started;
  std::promise<errc> server_saw;
  f.server.handle("block", [&](channel ch) {
    ch.read(wait_limit);  // "start"
    started.set_value();
    auto r = ch.read(wait_limit);
    server_saw.set_value(r.is_error() ? r.error().code : errc::ok);
  });
  auto ch = f.client.open("block");
  BOOST_REQUIRE(ch.write(to_bytes("start")));
  BOOST_REQUIRE((started.get_future().wait_for(wait_limit) == std::future_status::ready));
  std::thread canceller([&ch] {
    std::this_thread::sleep_for(50ms);  // most likely while read() below blocks; either way
    ch.cancel();                        // that read must end with cancelled
  });
  auto r = ch.read(wait_limit);
  canceller.join();
  BOOST_TEST(r.error().code == errc::cancelled);
  auto seen = server_saw.get_future();
  BOOST_REQUIRE((seen.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(seen.get() == errc::cancelled);
}

BOOST_AUTO_TEST_CASE(dropping_a_handle_without_closing_cancels_the_channel_at_the_remote) {
  pair_fixture f;
  std::promise<void> started;
  std::promise<error> server_saw;
  f.server.handle("drop", [&](channel ch) {
    ch.read(wait_limit);  // "hello"
    started.set_value();
    auto r = ch.read(wait_limit);
    server_saw.set_value(r.error());
  });
  {
    auto ch = f.client.open("drop");
    BOOST_REQUIRE(ch.write(to_bytes("hello")));
    BOOST_REQUIRE((started.get_future().wait_for(wait_limit) == std::future_status::ready));
  }
  auto seen = server_saw.get_future();
  BOOST_REQUIRE((seen.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(seen.get().code == errc::cancelled);
}

BOOST_AUTO_TEST_CASE(close_ends_the_stream_and_cancels_the_remote_writer) {
  for (bool half_closed_first : {false, true}) {
    BOOST_TEST_CONTEXT("half-closed first: " << half_closed_first) {
      pair_fixture f;
      std::promise<std::pair<bool, errc>> server_saw;
      f.server.handle("talker", [&server_saw](channel ch) {
        ch.write(to_bytes("hello"));
        bool saw_end = ch.read(wait_limit).is_end();
        // Keep writing until the client's close has cancelled this direction.
        errc last = errc::ok;
        for (int i = 0; i < 5000 && last == errc::ok; ++i) {
          last = ch.write(to_bytes("chatter"), wait_limit).code();
          if (last == errc::ok) std::this_thread::sleep_for(1ms);
        }
        server_saw.set_value({saw_end, last});
      });
      auto ch = f.client.open("talker");
      auto first = ch.read(wait_limit);
      BOOST_REQUIRE(first.is_message());
      if (half_closed_first) BOOST_REQUIRE(ch.close_write());
      ch.close();
      auto seen = server_saw.get_future();
      BOOST_REQUIRE((seen.wait_for(2 * wait_limit) == std::future_status::ready));
      auto [saw_end, last] = seen.get();
      BOOST_TEST(saw_end);
      BOOST_TEST(last == errc::cancelled);
    }
  }
}

BOOST_AUTO_TEST_CASE(async_reads_and_futures_deliver_in_order) {
  pair_fixture f;
  f.server.handle("count", [](channel ch) {
    for (int i = 0; i < 5; ++i) ch.write(to_bytes(std::to_string(i)));
    ch.close_write();
  });
  auto ch = f.client.open("count");
  std::promise<std::string> first;
  ch.read_async([&first](read_result r) { first.set_value(r ? to_string(*r) : "?"); });
  auto first_future = first.get_future();
  BOOST_REQUIRE((first_future.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(first_future.get() == "0");
  for (int i = 1; i < 5; ++i) {
    auto next = ch.read_future();
    BOOST_REQUIRE((next.wait_for(wait_limit) == std::future_status::ready));
    auto r = next.get();
    BOOST_REQUIRE(r.is_message());
    BOOST_TEST(to_string(*r) == std::to_string(i));
  }
  BOOST_TEST(ch.read(wait_limit).is_end());
}

// Messages of open channels are handed to readers by the transport thread itself; a reader's
// callback must still never run there, or one slow callback would stall every connection.
BOOST_AUTO_TEST_CASE(a_blocking_read_async_callback_holds_up_no_other_channel) {
  pair_fixture f;
  f.server.handle("echo", [](channel ch) {
    while (auto r = ch.read(wait_limit)) {
      if (!r.is_message() || !ch.write(std::move(*r))) break;
    }
    ch.close_write();
  });
  auto other = f.client.open("echo");
  BOOST_REQUIRE(other.write(to_bytes("warm-up")));
  BOOST_REQUIRE(other.read(wait_limit).is_message());

  auto slow = f.client.open("echo");
  BOOST_REQUIRE(slow.write(to_bytes("first")));
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  slow.read_async([&entered, released](read_result) {
    entered.set_value();
    released.wait_for(3 * wait_limit);
  });
  BOOST_REQUIRE((entered.get_future().wait_for(wait_limit) == std::future_status::ready));

  // While that callback blocks, the other channel on the same connection still flows.
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(other.write(to_bytes("ping " + std::to_string(i))));
    auto echoed = other.read(wait_limit);
    BOOST_REQUIRE_MESSAGE(echoed.is_message(), echoed.error().to_string());
    BOOST_TEST(to_string(*echoed) == "ping " + std::to_string(i));
  }
  release.set_value();
  BOOST_REQUIRE(slow.write(to_bytes("second")));
  auto next = slow.read(wait_limit);
  BOOST_REQUIRE_MESSAGE(next.is_message(), next.error().to_string());
  BOOST_TEST(to_string(*next) == "second");
  other.close();
  slow.close();
}

BOOST_AUTO_TEST_CASE(ten_thousand_pending_async_reads_use_no_extra_threads) {
  pair_fixture f;
  // The server keeps the channels without blocking a handler thread on each.
  std::mutex held_mutex;
  std::vector<channel> held;
  f.server.handle("wait", [&](channel ch) {
    std::lock_guard<std::mutex> lock(held_mutex);
    held.push_back(std::move(ch));
  });
  auto count_threads = [] {
    std::size_t n = 0;
    for (auto& entry : std::filesystem::directory_iterator("/proc/self/task")) (void)entry, ++n;
    return n;
  };
  std::vector<channel> channels;
  std::atomic<int> answered{0};
  auto before = count_threads();
  for (int i = 0; i < 10000; ++i) {
    channels.push_back(f.client.open("wait"));
    channels.back().read_async([&answered](read_result r) {
      if (r.is_message()) ++answered;
    });
  }
  BOOST_REQUIRE(eventually(
      [&] {
        std::lock_guard<std::mutex> lock(held_mutex);
        return held.size() == 10000;
      },
      4 * wait_limit));
  BOOST_TEST(count_threads() == before);
  {
    std::lock_guard<std::mutex> lock(held_mutex);
    for (auto& ch : held) {
      ch.write(to_bytes("go"));
      ch.close_write();
    }
  }
  BOOST_TEST(eventually([&] { return answered.load() == 10000; }, 4 * wait_limit));
}

BOOST_AUTO_TEST_CASE(channels_cancelled_right_after_open_end_at_the_remote_and_leave_nothing) {
  pair_fixture f;
  std::atomic<int> started{0}, ended{0};
  f.server.handle("short", [&](channel ch) {
    ++started;
    auto r = ch.read(wait_limit);
    if (r.is_error() && r.error().code == errc::cancelled) ++ended;
  });
  for (int i = 0; i < 20; ++i) {
    auto ch = f.client.open("short");
    if (i % 2) ch.cancel();  // the rest are dropped unclosed
  }
  BOOST_TEST(
      eventually([&] { return f.client.channel_count() == 0 && f.server.channel_count() == 0; }));
  // Those that reached a server handler ended there with `cancelled`, not by its deadline.
  BOOST_TEST(eventually([&] { return started.load() == ended.load(); }));
  auto bad = f.client.open_to("", "short");
  BOOST_TEST(bad.read(wait_limit).error().code == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(read_async_rearmed_from_its_callback_does_not_recurse_per_message) {
  constexpr int count = 200000;
  pair_fixture f;
  std::promise<void> written;
  f.server.handle("many", [&written](channel ch) {
    for (int i = 0; i < count; ++i) ch.write(bytes{});
    ch.close_write();
    written.set_value();
  });
  // Shared with the callback, which must find it alive even if this test fails and returns.
  struct reader {
    std::atomic<int> received{0};
    std::promise<bool> ended;
    channel ch;
    std::function<void(read_result)> next;
  };
  auto state = std::make_shared<reader>();
  state->ch = f.client.open("many");
  // Let the messages pile up so that each callback finds the next one already waiting.
  BOOST_REQUIRE((written.get_future().wait_for(4 * wait_limit) == std::future_status::ready));
  std::weak_ptr<reader> weak = state;
  state->next = [weak](read_result r) {
    auto self = weak.lock();
    if (!self) return;
    if (r.is_message()) {
      ++self->received;
      self->ch.read_async(self->next);
    } else {
      self->ended.set_value(r.is_end());
    }
  };
  auto done = state->ended.get_future();
  state->ch.read_async(state->next);
  BOOST_REQUIRE((done.wait_for(4 * wait_limit) == std::future_status::ready));
  BOOST_TEST(done.get());
  BOOST_TEST(state->received.load() == count);
}

BOOST_AUTO_TEST_CASE(on_finish_reports_a_clean_end_a_cancel_and_an_empty_handle) {
  pair_fixture f;
  f.server.handle("echo", echo_handler());
  auto watch = [](channel& ch) {
    auto reason = std::make_shared<std::promise<error>>();
    ch.on_finish([reason](const error& e) { reason->set_value(e); });
    return reason->get_future();
  };
  auto clean = f.client.open("echo");
  auto clean_end = watch(clean);
  BOOST_REQUIRE(clean.write(to_bytes("x")));
  BOOST_REQUIRE(clean.close_write());
  BOOST_REQUIRE(clean.read(wait_limit).is_message());
  BOOST_REQUIRE(clean.read(wait_limit).is_end());
  BOOST_REQUIRE(clean_end.wait_for(wait_limit) == std::future_status::ready);
  BOOST_TEST(clean_end.get().ok());

  auto cancelled = f.client.open("echo");
  auto cancelled_end = watch(cancelled);
  BOOST_REQUIRE(cancelled.write(to_bytes("y")));
  cancelled.cancel();
  BOOST_REQUIRE(cancelled_end.wait_for(wait_limit) == std::future_status::ready);
  BOOST_TEST(cancelled_end.get().code == errc::cancelled);
  // A watcher added after the end runs at once with the same reason.
  std::optional<error> late;
  cancelled.on_finish([&late](const error& e) { late = e; });
  BOOST_REQUIRE(late.has_value());
  BOOST_TEST(late->code == errc::cancelled);

  channel empty;
  std::optional<error> none;
  empty.on_finish([&none](const error& e) { none = e; });
  BOOST_REQUIRE(none.has_value());
  BOOST_TEST(none->code == errc::failed_precondition);
}

BOOST_AUTO_TEST_SUITE_END()
