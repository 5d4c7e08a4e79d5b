// NodePort: the node as the local API sees it — the three things its routes need. node/app
// implements it over its Node (app::NodeApiPort); tests implement it with a fake. node/api never
// sees the node itself, so the API cannot depend on more than this.
//
// Thread-safety: none. Every call is made on the node's thread, through NodeHandle.
#pragma once

#include "node/api/metrics.h"
#include "polder/v1/api.pb.h"
#include "polder/v1/event.pb.h"
#include "proto/result.h"

namespace polder::api {

class NodePort {
 public:
  virtual ~NodePort() = default;

  // What GET /api/v1/node shows: listen address, peers, sync counters and progress.
  virtual v1::NodeView View() = 0;
  // The node's counters and gauges, for GET /metrics.
  virtual MetricsSnapshot Metrics() = 0;
  // Authors one event of this node's member from `payload` (an EventBody as a client sent it: the
  // node sets author, seq, prev and timestamp itself) and pushes it to the peers. On success the
  // event is durable; on failure nothing was authored (Errc::kRefused: the rules said no).
  virtual Result<v1::EventReceipt> Author(const v1::EventBody& payload) = 0;
};

}  // namespace polder::api
