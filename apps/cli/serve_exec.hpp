// The exec service of `duplex serve exec CMD...`: exec/run runs the command once per request,
// with the request's JSON text on its stdin, and answers with what it printed.
#pragma once

#include <duplex/rpc/service.hpp>

#include <string>
#include <vector>

namespace duplex_cli {

// One word: a shell command line, run by /bin/sh -c. More: the program and its arguments.
duplex::rpc::service exec_service(const std::vector<std::string>& command);

}  // namespace duplex_cli
