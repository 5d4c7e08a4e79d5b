// EventLog: the replica's stored events as sync and decisions read them — the version vector,
// pages for catching a peer up, fork proofs, an author's events, one event's bytes, every stored
// event for a bundle or a fold, and counts by state (docs/protocol.md §12). Read-only.
//
// Thread-safety: not thread-safe; belongs to its Replica.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "proto/bytes.h"
#include "storage/version_vector.h"

namespace polder::storage {

class Db;

// Where a reader of the stored events (a peer being caught up) has got to. Applied events come
// first, in apply order; then the rest (pending, frozen), in arrival order.
struct EventCursor {
  bool applied_done = false;
  std::int64_t last = 0;  // apply_order (first phase) or rowid (second phase) last read
  bool operator==(const EventCursor&) const = default;
};

struct EventPage {
  std::vector<Bytes> events;                              // serialized SignedEvents
  std::vector<std::pair<MemberKey, std::uint64_t>> keys;  // (author, seq) of each
  std::size_t bytes = 0;
  EventCursor next;
  bool end = false;  // nothing stored after `next` (for now)
};

// Counts, for status lines and tests.
struct ReplicaCounts {
  std::uint64_t events = 0;    // stored events, all states
  std::uint64_t applied = 0;   // placed in their authors' logs (awaiting ones included)
  std::uint64_t awaiting = 0;  // placed, their effect waiting for an event they refer to
  std::uint64_t pending = 0;   // waiting for their place: something that may still arrive
  std::uint64_t frozen = 0;    // held as proof or beyond a fork; never applied
  std::uint64_t forked_authors = 0;
};

// What became of a stored event.
enum class EventState {
  kApplied,   // applied with effect
  kVoid,      // applied in its author's log without effect
  kAwaiting,  // applied in its author's log; its effect waits for an event it refers to
  kPending,   // waits for its place: its author's admission or its predecessor
  kFrozen,    // held as proof of a fork, or at or beyond its author's fork: never applied
};

// A placed event of one author whose effect awaits an event it refers to (docs/protocol.md §4),
// and what became of that event here: why the first counts for nothing so far.
struct AwaitingEvent {
  enum class Why {
    kNotHeld,   // not held here (yet)
    kPending,   // held, waiting for its own place in its author's log
    kFrozen,    // at or beyond its author's fork: it will never take effect
    kAwaiting,  // placed, itself awaiting an event it refers to
  };
  EventId id;
  std::uint64_t seq = 0;
  int kind = 0;  // the event's payload case (v1::EventBody::PayloadCase)
  EventId awaited;
  Why why = Why::kNotHeld;
  std::optional<MemberKey> awaited_author;  // when held
  std::uint64_t fork_seq = 0;               // kFrozen: the seq where that author forked
};

struct StoredEventState {
  EventId id;
  MemberKey author;
  std::uint64_t seq = 0;
  EventState state = EventState::kPending;
};

class EventLog {
 public:
  explicit EventLog(Db& db) : db_(db) {}

  // What this replica holds, per author (docs/protocol.md §12). `beyond`, when given, receives
  // the events held past a gap.
  Result<VersionVector> Vector(BeyondGap* beyond = nullptr);
  // One author's entry of Vector(), and (in `beyond`, when given) their events past a gap.
  Result<AuthorHead> VectorOf(const MemberKey& author,
                              std::map<std::uint64_t, EventId>* beyond = nullptr);
  // What a seal for a round with this deadline names (docs/protocol.md §15): per author, the last
  // event of Vector()'s run 1..seq timestamped at or before `cutoff_ms`. An author with none is
  // left out unless forked (then seq 1, whatever its timestamp), so that the fork is reported.
  Result<VersionVector> VectorAt(std::int64_t cutoff_ms);
  // Stored events after `cursor` in an order a peer can ingest without waiting, leaving out those
  // `skip(author, seq)` says the peer holds, until `max_events` or `max_bytes` (at least one), or
  // until `max_rows` stored events were looked at (then the page may hold none and not be the
  // end: read on from its `next`), so that one call's time is bounded whatever is skipped.
  Result<EventPage> Read(const EventCursor& cursor, std::size_t max_events, std::size_t max_bytes,
                         const std::function<bool(const MemberKey&, std::uint64_t)>& skip,
                         std::size_t max_rows = SIZE_MAX);
  // The two events that prove `author` forked (empty if they did not).
  Result<std::vector<Bytes>> ForkProof(const MemberKey& author);
  // An author's stored events from `from_seq` on, in sequence order, at most `max`.
  Result<std::vector<Bytes>> EventsOf(const MemberKey& author, std::uint64_t from_seq,
                                      std::size_t max);
  // The stored event with this id, if any.
  Result<std::optional<Bytes>> EventBytes(const EventId& id);

  // Every stored event in an order any replica can ingest without waiting: applied events in
  // apply order, then the rest. Calls `sink` with each serialized SignedEvent.
  Status ForEachEvent(const std::function<Status(ByteView)>& sink);
  // Every stored event's id and body bytes (signature verified on ingest), in storage order:
  // what a decision is computed from (node/decide Fold).
  Status ForEachBody(const std::function<Status(const EventId&, ByteView body)>& sink);
  // What became of every stored event, in storage order.
  Status ForEachState(const std::function<void(const StoredEventState&)>& sink);
  // `author`'s placed events whose effect awaits an event they refer to, by seq, at most `max`.
  Result<std::vector<AwaitingEvent>> AwaitingOf(const MemberKey& author, std::size_t max);

  Result<ReplicaCounts> Counts();

 private:
  Db& db_;
};

}  // namespace polder::storage
