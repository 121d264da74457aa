// duplex: the command-line tool for Duplex peers. JSON in, JSON out; see docs/CLI.md.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <vector>

#include "commands.hpp"
#include "exit_status.hpp"

namespace {

constexpr const char* subcommand_footer =
    "Exit status: 0 on success, otherwise 1 + the status code (duplex --help lists them).";

// Parse errors are usage errors: invalid_argument, like a bad endpoint.
int usage_error(const CLI::App& app, const CLI::ParseError& e) {
  std::cerr << duplex::to_string(duplex::errc::invalid_argument) << ": " << e.what() << '\n'
            << "Run " << app.get_name() << " --help for more information." << std::endl;
  return duplex_cli::exit_status(duplex::errc::invalid_argument);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Calls, streams and test servers for Duplex peers; JSON in, JSON out.", "duplex"};
  app.require_subcommand(1);
  app.footer(duplex_cli::exit_status_table());

  std::vector<duplex_cli::command> commands{
      duplex_cli::add_list(app),   duplex_cli::add_describe(app), duplex_cli::add_call(app),
      duplex_cli::add_stream(app), duplex_cli::add_ping(app),     duplex_cli::add_serve(app),
      duplex_cli::add_keygen(app)};
  for (auto& c : commands) c.app->footer(subcommand_footer);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e);
  }

  try {
    for (auto& c : commands)
      if (c.app->parsed()) return duplex_cli::report(c.run());
  } catch (const duplex::exception& e) {
    return duplex_cli::report(e.error());
  } catch (const std::exception& e) {
    return duplex_cli::report({duplex::errc::unknown, e.what()});
  }
  return duplex_cli::report({duplex::errc::internal, "no command ran"});
}
