// Tunables of the session layer, in one place. Sessions accept overrides through SessionConfig.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace polder::net {

inline constexpr std::size_t kMaxNoiseMessageBytes = 65535;  // Noise spec, section 3
inline constexpr std::size_t kNoiseTagBytes = 16;
// Plaintext carried by one transport message.
inline constexpr std::size_t kMaxChunkBytes = kMaxNoiseMessageBytes - kNoiseTagBytes;
// The largest application message; checked against the length prefix before any allocation.
inline constexpr std::size_t kDefaultMaxAppMessageBytes = 4 << 20;
// Each direction's key is replaced (Noise REKEY) after this many transport messages. Both ends
// count, so it is part of the protocol: 2^20 messages is far below ChaChaPoly's limits.
inline constexpr std::uint64_t kDefaultRekeyEveryMessages = 1 << 20;
// Beyond this many queued outgoing bytes a writer waits (backpressure) instead of queueing more.
inline constexpr std::size_t kDefaultMaxQueuedWriteBytes = 8 << 20;
// What a session's send queue may hold at most. Post() (what the sync layer uses: it paces
// itself by credit and queued_bytes()) closes the session rather than queue past it: a peer that
// asks for more than it reads (requests whose replies it never collects) costs itself the
// session, never the node its memory. Room for the pacing limits and a largest message twice.
inline constexpr std::size_t kDefaultMaxQueueBytes = 16 << 20;
inline constexpr auto kDefaultHandshakeTimeout = std::chrono::seconds(10);
// A session must receive a complete Noise message at least this often (keepalives count), so a
// peer trickling bytes cannot hold a session open.
inline constexpr auto kDefaultIdleTimeout = std::chrono::seconds(90);
inline constexpr auto kDefaultKeepaliveInterval = std::chrono::seconds(30);
inline constexpr std::uint32_t kSessionProtocolVersion = 1;

}  // namespace polder::net
