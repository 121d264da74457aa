// JSON as the CLI reads and writes it: requests parsed from arguments and stdin, responses
// printed one document per line (or indented), program output turned into JSON.
#pragma once

#include <duplex/error.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace duplex_cli {

// invalid_argument naming `what` when `text` is not one JSON document.
duplex::result<nlohmann::json> parse_json(const std::string& text, const std::string& what);

// Compact or indented; invalid UTF-8 in strings becomes U+FFFD instead of failing.
std::string dump_json(const nlohmann::json& value, bool pretty = false);

// One document and a newline on stdout, flushed so that pipes see it at once.
void print_json(const nlohmann::json& value, bool pretty);

// All of stdin.
duplex::result<std::string> read_stdin();

// A program's output as JSON: the document it printed, else its text as a string (without
// trailing newlines, like the shell's $(...)).
nlohmann::json output_as_json(const std::string& output);

}  // namespace duplex_cli
