// Duplex RPC: typed calls, streams and callbacks over channels. See duplex/rpc/node.hpp.
#pragma once

#include "duplex/rpc/builtins.hpp"
#include "duplex/rpc/call_stream.hpp"
#include "duplex/rpc/client.hpp"
#include "duplex/rpc/context.hpp"
#include "duplex/rpc/interceptor.hpp"
#include "duplex/rpc/node.hpp"
#include "duplex/rpc/service.hpp"
