// Tunables of the local API, in one place. ApiSettings (settings.h) overrides the ones a user may
// want to change; the rest are fixed here.
#pragma once

#include <chrono>
#include <cstddef>

namespace polder::api {

// How long a request waits for the node's thread to start its task before giving up with 503
// (nothing is done then; see node_handle.h). The node's thread is busy for long only while it
// commits a large batch, so 30 s covers a slow disk; ApiSettings::node_wait overrides it.
inline constexpr auto kDefaultNodeWait = std::chrono::milliseconds(30'000);
// The largest request body the server reads: an event's JSON payload is far below it.
inline constexpr std::size_t kMaxRequestBodyBytes = 1 << 20;
// The server drops a connection that sends or reads nothing for this long.
inline constexpr auto kServerReadTimeout = std::chrono::seconds(10);
inline constexpr auto kServerWriteTimeout = std::chrono::seconds(10);
// The bearer token: random bytes, written hex-encoded in the Authorization header.
inline constexpr std::size_t kTokenBytes = 32;
// A command's calls to the node. The read timeout is above kDefaultNodeWait, so a node that is
// merely busy answers (503 or the result) before the command gives up.
inline constexpr auto kClientConnectTimeout = std::chrono::seconds(2);
inline constexpr auto kClientReadTimeout = std::chrono::seconds(40);
// Finding the node (GET /healthz): a node that does not answer this fast is taken as gone.
inline constexpr auto kProbeConnectTimeout = std::chrono::seconds(1);
inline constexpr auto kProbeReadTimeout = std::chrono::seconds(2);

}  // namespace polder::api
