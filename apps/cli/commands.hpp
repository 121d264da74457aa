// The subcommands. Each adds itself to the app and returns what runs it once the command line
// is parsed: an ok error for success, otherwise the failure to report.
#pragma once

#include <CLI/CLI.hpp>
#include <duplex/error.hpp>

#include <functional>

namespace duplex_cli {

struct command {
  CLI::App* app;
  std::function<duplex::error()> run;
};

command add_list(CLI::App& app);
command add_describe(CLI::App& app);
command add_call(CLI::App& app);
command add_ping(CLI::App& app);
command add_stream(CLI::App& app);
command add_serve(CLI::App& app);
command add_keygen(CLI::App& app);

}  // namespace duplex_cli
