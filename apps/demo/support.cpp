#include "demo/support.hpp"

#include <iostream>

namespace duplex_demo {

void console::heading(int step, std::string_view title) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::cout << '\n' << "== " << step << ". " << title << " ==" << std::endl;
}

void console::say(std::string_view who, std::string_view text) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::cout << "  [" << who << "] " << text << std::endl;
}

void console::passed(int step, std::string_view text) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::cout << "  step " << step << " ok: " << text << std::endl;
}

void console::line(std::string_view text) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::cout << text << std::endl;
}

void console::record_failure(std::string what) {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_.push_back(std::move(what));
}

std::vector<std::string> console::failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

void signals::raise(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    raised_.insert(name);
  }
  changed_.notify_all();
}

void signals::wait(const std::string& name) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_for(lock, wait_limit, [&] { return raised_.count(name) > 0; }))
    throw failure("'" + name + "' did not happen within " + std::to_string(wait_limit.count()) +
                  " ms");
}

connection_watch::connection_watch(duplex::peer& watched) : watched_(watched) {
  // Runs on an actor thread: record and notify, nothing that blocks.
  watched_.on_event([this](const duplex::peer_event& event) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (event.what == duplex::peer_event::kind::connected) {
        ++connected_;
      } else {
        problems_.push_back(event.remote_peer_id + " " + event.reason.to_string());
      }
    }
    changed_.notify_all();
  });
}

connection_watch::~connection_watch() {
  watched_.on_event(nullptr);
}

void connection_watch::wait_connected(std::size_t count) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (changed_.wait_for(lock, wait_limit, [&] { return connected_ >= count; })) return;
  std::string message = std::to_string(connected_) + " of " + std::to_string(count) +
                        " connections completed within " + std::to_string(wait_limit.count()) +
                        " ms";
  for (const auto& problem : problems_) message += "; " + problem;
  throw failure(message);
}

void require(bool condition, std::string_view what) {
  if (!condition) throw failure(std::string(what));
}

void require(const duplex::result<void>& outcome, std::string_view what) {
  if (!outcome) throw failure(std::string(what) + ": " + outcome.error().to_string());
}

std::string read_text(duplex::channel& ch, std::string_view what) {
  auto next = ch.read(wait_limit);
  if (!next.is_message())
    throw failure(std::string(what) + ": expected a message, got " + describe(next));
  return duplex::to_string(*next);
}

void read_end(duplex::channel& ch, std::string_view what) {
  auto next = ch.read(wait_limit);
  if (!next.is_end())
    throw failure(std::string(what) + ": expected end-of-stream, got " + describe(next));
}

std::string describe(const duplex::read_result& r) {
  switch (r.what()) {
    case duplex::read_result::kind::message:
      return "message '" + duplex::to_string(*r) + "'";
    case duplex::read_result::kind::end:
      return "end-of-stream";
    case duplex::read_result::kind::error:
      break;
  }
  return "error " + r.error().to_string();
}

std::string describe(const duplex::metadata& data) {
  std::string text = "{";
  for (const auto& [key, value] : data) {
    if (text.size() > 1) text += ", ";
    text += key + "=" + value;
  }
  return text + "}";
}

}  // namespace duplex_demo
