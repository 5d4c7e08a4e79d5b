// Metrics: the node's figures in the Prometheus text format, for GET /metrics on the local API
// (docs/protocol.md, section 14). The node copies its plain counters (node/sync, storage) into a
// MetricsSnapshot on its own thread; RenderMetrics() turns a snapshot into text on any thread. Only
// this file's .cc knows prometheus-cpp (core: registry and text serializer; no second HTTP server).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "node/sync/syncer.h"

namespace polder::api {

struct MetricsSnapshot {
  sync::SyncStats sync;                // counters of the sync protocol
  std::uint64_t sync_lag_events = 0;   // what connected peers hold that this replica lacks
  std::uint64_t sessions_inbound = 0;  // ready sessions (handshake done, member checked)
  std::uint64_t sessions_outbound = 0;
  std::uint64_t pending_events = 0;  // the replica's pending set, now
  std::uint64_t pending_bytes = 0;
  std::uint64_t pending_evicted = 0;  // evicted from it since the node started
  // Inbound connections refused before a session with a member began, by reason (the session
  // layer's close reason, or `not_accepted`: a member the node does not accept now).
  std::map<std::string, std::uint64_t> handshakes_refused;
};

// The snapshot as Prometheus text exposition format (version 0.0.4).
std::string RenderMetrics(const MetricsSnapshot& snapshot);

// Content-Type of RenderMetrics()'s output.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace polder::api
