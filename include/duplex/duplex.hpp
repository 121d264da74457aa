// Everything of Duplex's public API.
#pragma once

#include "duplex/bytes.hpp"
#include "duplex/channel.hpp"
#include "duplex/codec.hpp"
#include "duplex/error.hpp"
#include "duplex/options.hpp"
#include "duplex/peer.hpp"
#include "duplex/read_result.hpp"
#include "duplex/runtime.hpp"
#include "duplex/security.hpp"
#include "duplex/send_batch.hpp"
