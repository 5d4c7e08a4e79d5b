// ApiSettings: how the node's local API serves; the [api] section of polder.toml
// (node/app reads it: app::ReadApiSettings).
#pragma once

namespace polder::api {

struct ApiSettings {
  // GET /metrics without the token (e.g. for a local Prometheus). [api] metrics_public
  bool metrics_public = false;
};

}  // namespace polder::api
