#include "node/app/endpoint.h"

#include <cstdlib>

namespace polder::app {

Result<asio::ip::tcp::endpoint> ParseEndpoint(const std::string& address) {
  std::string host, port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Fail(Errc::kInvalidArgument, "bad address '" + address + "' (want [v6]:port)");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) {
      return Fail(Errc::kInvalidArgument, "bad address '" + address + "' (want host:port)");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  std::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) return Fail(Errc::kInvalidArgument, "bad address '" + address + "': " + ec.message());
  char* end = nullptr;
  const unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p > 65535) {
    return Fail(Errc::kInvalidArgument, "bad port in '" + address + "'");
  }
  return asio::ip::tcp::endpoint(ip, static_cast<unsigned short>(p));
}

}  // namespace polder::app
