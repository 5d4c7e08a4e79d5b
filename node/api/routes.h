// The local API's routes (loopback only, bearer token):
//   GET  /healthz          liveness; no token
//   GET  /api/v1/node      NodeView (JSON)
//   POST /api/v1/author    body: EventBody (JSON, payload only) → EventReceipt (JSON)
//   GET  /metrics          Prometheus text (metrics.h); token unless settings.metrics_public
// Errors are an ErrorView (JSON) with the status http_json.h maps its code to: 401 without the
// right token, 400 for a body that is not an event payload, 422 for a payload the rules refuse,
// 503 when the node's thread did not take the request in time (nothing was done: node_handle.h).
#pragma once

#include <string>

#include "node/api/node_handle.h"
#include "node/api/settings.h"

namespace httplib {
class Server;
}

namespace polder::api {

// Installs the routes on `server`. `node` must outlive the server's serving; `token` (hex) and
// `settings` are copied.
void InstallRoutes(httplib::Server& server, NodeHandle& node, const std::string& token,
                   const ApiSettings& settings);

}  // namespace polder::api
