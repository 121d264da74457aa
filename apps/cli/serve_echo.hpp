// The echo service of `duplex serve echo`: something to point the CLI (or any client) at.
//
//   echo/echo     unary          returns its request
//   echo/stream   bidi           returns each request as it arrives
//   echo/collect  client_stream  returns all requests as one array
//   echo/spread   server_stream  returns each element of an array request
//   echo/headers  unary          returns the call's headers as a JSON object
#pragma once

#include <duplex/rpc/service.hpp>

namespace duplex_cli {

duplex::rpc::service echo_service();

}  // namespace duplex_cli
