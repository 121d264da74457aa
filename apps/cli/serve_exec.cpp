#include "serve_exec.hpp"

#include <csignal>
#include <cstring>

#include "child_process.hpp"
#include "json_message.hpp"
#include "json_text.hpp"

namespace duplex_cli {

namespace rpc = duplex::rpc;

namespace {

// What fits in one response message (the default max_payload).
constexpr std::size_t max_output_bytes = 4u << 20;

std::vector<std::string> program_and_arguments(const std::vector<std::string>& command) {
  if (command.size() == 1) return {"/bin/sh", "-c", command.front()};
  return command;
}

std::string spelled(const std::vector<std::string>& command) {
  std::string out;
  for (auto& word : command) out += (out.empty() ? "" : " ") + word;
  return out;
}

std::string trimmed(std::string text) {
  text.erase(text.find_last_not_of(" \t\r\n") + 1);
  return text;
}

// A run that did not exit with 0, with its stderr as the reason.
duplex::error failed_run(const process_outcome& run) {
  std::string message = run.signal != 0
                            ? "the command was killed by " + std::string(strsignal(run.signal))
                            : "the command exited with status " + std::to_string(run.exit_code);
  auto err = trimmed(run.err);
  if (!err.empty()) message += ": " + err;
  return {duplex::errc::unknown, std::move(message)};
}

}  // namespace

rpc::service exec_service(const std::vector<std::string>& command) {
  auto argv = program_and_arguments(command);
  rpc::service exec("exec", "Runs `" + spelled(command) + "` once per request");
  exec.unary<json_message, json_message>(
      {"run",
       "Runs the command with the request's JSON text and a newline on stdin; answers with its "
       "stdout (the JSON document it printed, else its text as a string). A non-zero exit "
       "fails the call with unknown and stderr in the message",
       "Any", "Any"},
      [argv](const json_message& request,
             rpc::call_context& context) -> duplex::result<json_message> {
        auto input = dump_json(request.value) + "\n";
        auto run = run_process(
            argv, input, [&context] { return context.cancelled(); }, max_output_bytes);
        if (!run) return context.cancelled() ? context.cancel_reason() : run.error();
        if (run->signal != 0 || run->exit_code != 0) return failed_run(*run);
        return json_message{output_as_json(run->out)};
      });
  return exec;
}

}  // namespace duplex_cli
