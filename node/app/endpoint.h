// Addresses as people and join codes write them: "host:port", IPv6 hosts in brackets
// ("[::1]:7714").
#pragma once

#include <string>

#include <asio/ip/tcp.hpp>

#include "proto/result.h"

namespace polder::app {

// Splits and parses "host:port" (an IP address, not a name); an error says what is wrong.
Result<asio::ip::tcp::endpoint> ParseEndpoint(const std::string& address);

}  // namespace polder::app
