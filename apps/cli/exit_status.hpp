// How a command's outcome becomes the process's exit status and its stderr line.
#pragma once

#include <duplex/error.hpp>

#include <string>

namespace duplex_cli {

// 0 for ok, otherwise 1 + the status code (so every code keeps its own exit status).
int exit_status(duplex::errc code);

// Prints "<code name>: <message>" on stderr and returns the exit status.
int report(const duplex::error& failure);

// The --help footer: every status code with its name and exit status.
std::string exit_status_table();

}  // namespace duplex_cli
