// Every bound on one event, in one place: what a node refuses from the bytes alone, before it
// allocates or parses more (docs/protocol.md §2–§3). The replica's own bounds (the pending set,
// import batches) are in storage/limits.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/money.h"

namespace polder::rulebook {

// A whole signed event (envelope) as it arrives. Bounded before any parsing.
inline constexpr std::size_t kMaxEventBytes = 64 * 1024;
// Field limits inside a body (bytes of UTF-8).
inline constexpr std::size_t kMaxNameBytes = 120;  // names, organisations, roles, titles of circles
inline constexpr std::size_t kMaxShortBytes = 200;  // proposal titles, categories, topics, units
inline constexpr std::size_t kMaxTextBytes =
    8 * 1024;  // comments, rationales, mitigations, purpose fit
inline constexpr std::size_t kMaxBodyBytes = 32 * 1024;  // proposal bodies, charter purpose
// Amounts are minor units; 10^15 leaves room for sums of many proposals in int64.
inline constexpr std::int64_t kMaxAmountMinor = kMaxMoneyMinor;
inline constexpr std::uint32_t kMaxDecimals = kMaxMoneyDecimals;
// A seal lists at most this many authors' heads (at most 81 bytes each: fits one event).
inline constexpr std::size_t kMaxSealEntries = 800;
// A paged seal has at most this many parts (51,200 authors).
inline constexpr std::uint32_t kMaxSealParts = 64;
// Organisations a charter or rule change lists (120 bytes each at most: 31 KiB).
inline constexpr std::size_t kMaxOrganisations = 256;
// Founding partners a charter may list (each at most ~400 bytes, within kMaxEventBytes with the
// longest purpose).
inline constexpr std::size_t kMaxFoundingPartners = 64;
// A network key rotation seals the key to at most this many recipients per event (118 bytes each
// at most: 46 KiB); a larger circle's rotation takes several events with one key id.
inline constexpr std::size_t kMaxKeyBoxes = 400;
// A sealed 32-byte network key: the key and a sealed box's 48 bytes (ephemeral key, tag).
inline constexpr std::size_t kSealedKeyBytes = 80;
// A charter's late-flag window (DecisionRules.late_flag_window_ms) is at most 90 days.
inline constexpr std::int64_t kMaxLateFlagWindowMs = 90LL * 24 * 60 * 60 * 1000;
// An event may be at most this far ahead of the local clock when it arrives (clock skew allowance).
inline constexpr std::int64_t kMaxFutureSkewMs = 5 * 60 * 1000;
// Sequence numbers stay below this (they are stored as signed 64-bit integers).
inline constexpr std::uint64_t kSeqLimit = 1ull << 62;

}  // namespace polder::rulebook
