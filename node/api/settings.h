// ApiSettings: how the node's local API serves; the [api] section of polder.toml
// (node/app reads it: app::ReadApiSettings).
#pragma once

#include <chrono>

#include "node/api/limits.h"

namespace polder::api {

struct ApiSettings {
  // GET /metrics without the token (e.g. for a local Prometheus). [api] metrics_public
  bool metrics_public = false;
  // How long a request waits for the node's thread to take its task before answering 503 with
  // nothing done (node_handle.h). [api] node_wait_ms; default kDefaultNodeWait (30 s). Keep it
  // below kClientReadTimeout (40 s), or a command may give up before the node answers.
  std::chrono::milliseconds node_wait = kDefaultNodeWait;
};

}  // namespace polder::api
