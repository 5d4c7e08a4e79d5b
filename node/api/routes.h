// The local API's routes (loopback only, bearer token):
//   GET  /healthz          liveness; no token
//   GET  /api/v1/node      NodeView (JSON)
//   POST /api/v1/author    body: EventBody (JSON, payload only) → EventReceipt (JSON)
//   GET  /metrics          Prometheus text (metrics.h); token unless settings.metrics_public
// Errors are an ErrorView (JSON) with the status http_json.h maps its code to: 401 without the
// right token, 400 for a body that is not an event payload, 422 for a payload the rules refuse,
// 503 when the node's thread did not answer in time.
#pragma once

#include <string>

#include <asio/any_io_executor.hpp>

#include "node/api/node_port.h"
#include "node/api/settings.h"

namespace httplib {
class Server;
}

namespace polder::api {

// Installs the routes on `server`. `node` is called on the thread running `node_executor` and
// must outlive the server's serving; `token` (hex) and `settings` are copied.
void InstallRoutes(httplib::Server& server, asio::any_io_executor node_executor, NodePort& node,
                   const std::string& token, const ApiSettings& settings);

}  // namespace polder::api
