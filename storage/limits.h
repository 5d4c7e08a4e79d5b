// Tunables of the storage module: the bounds of the replica itself (its pending set, imports).
// The bounds on one event are the rulebook's (storage/rulebook/limits.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace polder::storage {

// The pending set: events waiting for their author's admission, the previous event in their
// author's log (a gap) or a referenced event. A hostile source can only fill this much. When a
// new waiting event would pass a bound, the oldest pending events of the author who holds the
// most (or, for the per-author bounds, of its own author) are evicted: deleted, to be fetched
// again if they are ever needed (docs/protocol.md, section 4).
inline constexpr std::int64_t kMaxPendingEvents = 100'000;
inline constexpr std::int64_t kMaxPendingBytes = 128 << 20;  // body + signature bytes
// One author's share: a member whose log has a gap (honest: a few pushes that overtook a
// catch-up; hostile: a flood of events past a gap that never closes) holds at most this much.
inline constexpr std::int64_t kMaxPendingPerAuthor = 10'000;
inline constexpr std::int64_t kMaxPendingBytesPerAuthor = 16 << 20;
// One author who is not (yet) admitted may hold at most this many events (pending or frozen);
// beyond it their new events are refused rather than evicting anything.
inline constexpr std::int64_t kMaxPendingPerStranger = 1'000;
// At most this many authors who are not (yet) admitted hold pending events at once; an event of
// another one is refused (pending_full): it comes again once its author's admission is here.
// Bounds what strangers add to the version vector (80 bytes per author) and to a seal.
inline constexpr std::int64_t kMaxStrangerAuthors = 1'000;
// Events of a revoked device after its last counted seq that a replica keeps (frozen), so that a
// revocation which stops counting (its signer found forked below it, or evicted while pending)
// can be followed without losing them; beyond this they are refused.
inline constexpr std::int64_t kMaxFrozenPerRevokedDevice = 1'000;
// Events per transaction when importing a file: a crash loses at most one batch, never part of one.
// Large, because each commit costs an fsync and rewrites the random-key index pages it touched
// (bench/ingest: 1,000 → 0.43 of the raw verification rate, 5,000 → 0.74, 20,000 → 0.77).
inline constexpr std::size_t kImportBatchEvents = 20'000;
// ... or this many bytes of events, whichever comes first (bounds the memory of one batch).
inline constexpr std::size_t kImportBatchBytes = 16 << 20;
// A bundle file holds at most this many events (bounds the memory of one import).
inline constexpr std::uint64_t kMaxBundleEvents = 10'000'000;

}  // namespace polder::storage
