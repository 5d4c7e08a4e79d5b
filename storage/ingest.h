// What the replica's ingest gate reports for each event, and the options it takes
// (docs/protocol.md §4). The rules themselves are the rulebook's (storage/rulebook/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "proto/bytes.h"
#include "storage/limits.h"
#include "storage/rulebook/refusal.h"

namespace polder::storage {

enum class Outcome {
  kApplied,       // passed the gate; derived state updated
  kAwaiting,      // placed in its author's log; its effect waits for an event it refers to
                  // (`waiting_for` says which)
  kPending,       // stored, waits for its author's admission or the previous event of its log
  kDuplicate,     // already held: nothing changed
  kEquivocation,  // a second, different event at an existing (author, seq): kept as proof
  kVoid,          // takes its place in the author's log but breaks a rule: no effect; `refusal`
                  // says which
  kRefused,       // not stored; `refusal` says why
  kFrozen,        // stored after a revoked device's last counted seq: counts for nothing (kept,
                  // bounded, in case the revocation stops counting; docs/protocol.md §5a)
};
const char* ToString(Outcome outcome);

struct IngestResult {
  Outcome outcome = Outcome::kRefused;
  EventId id{};
  MemberKey author{};  // set once the event decoded
  std::uint64_t seq = 0;
  std::optional<rulebook::Refusal> refusal;  // set when refused or void
  std::string waiting_for;                   // pending, awaiting: what it waits for, in words
};

struct IngestOptions {
  IngestOptions() = default;
  explicit IngestOptions(std::int64_t now, std::int64_t max_pending_events = kMaxPendingEvents)
      : now_ms(now), max_pending(max_pending_events) {}

  std::int64_t now_ms = 0;  // the local clock, for the future-timestamp rule
  // Bounds of the pending set (storage/limits.h); tests make them small.
  std::int64_t max_pending = kMaxPendingEvents;
  std::int64_t max_pending_bytes = kMaxPendingBytes;
  std::int64_t max_pending_per_author = kMaxPendingPerAuthor;
  std::int64_t max_pending_bytes_per_author = kMaxPendingBytesPerAuthor;
  std::int64_t max_stranger_authors = kMaxStrangerAuthors;
  // A replica that belongs to no circle yet joins this circle with the first event it stores
  // (founding a circle; a first import). Nothing stored, nothing joined.
  std::optional<CircleId> adopt_circle;
};

}  // namespace polder::storage
