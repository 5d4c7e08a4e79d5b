// EventStore: what the syncer needs from the replica, and nothing more — the version vector,
// pages of stored events for catch-up, single events and fork proofs, the ingest of events
// already decoded, and the peer table. ReplicaStore (replica_store.h) implements it over
// storage::Replica; tests may implement it in memory.
//
// Thread-safety: none; the syncer calls it from its own thread only (verification on another
// thread works on bytes, never on the store).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/bytes.h"
#include "proto/result.h"
#include "storage/rulebook/decode.h"
#include "storage/rulebook/refusal.h"
#include "storage/version_vector.h"

namespace polder::sync {

// Where a reader of the stored events (a peer being caught up) has got to. Only the store reads
// its fields; a default cursor is the beginning.
struct CatchUpCursor {
  std::int64_t phase = 0;     // the store's first or second pass
  std::int64_t position = 0;  // last position read within the phase
  bool operator==(const CatchUpCursor&) const = default;
};

// One page of stored events, in an order a peer can ingest without waiting.
struct CatchUpPage {
  std::vector<Bytes> events;                              // serialized SignedEvents
  std::vector<std::pair<MemberKey, std::uint64_t>> keys;  // (author, seq) of each
  std::size_t bytes = 0;                                  // of the events
  CatchUpCursor next;
  bool end = false;  // nothing stored after `next` (for now)
};

// A member's signed announcement of where their node listens, as the peer table keeps it.
struct PeerRecord {
  MemberKey member{};
  std::int64_t announced_ms = 0;
  std::string addresses;  // newline-separated host:port
  Bytes announcement;     // the signed bytes, to pass on to other peers
};

// What ingesting one event did, as far as the syncer cares.
enum class IngestOutcome {
  kStored,        // new to the store (applied, pending or void)
  kDuplicate,     // already held
  kEquivocation,  // a second, different event at an (author, seq) held: kept as proof of a fork
  kRefused,       // not stored; `refusal` says why
};

struct Ingested {
  IngestOutcome outcome = IngestOutcome::kRefused;
  EventId id{};
  MemberKey author{};  // set once the event decoded
  std::uint64_t seq = 0;
  std::optional<rulebook::Refusal> refusal;  // set when refused
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // The circle the store belongs to; unset before its first event.
  virtual std::optional<CircleId> circle() const = 0;
  // Events held, in any state.
  virtual Result<std::uint64_t> EventCount() = 0;

  // What the store holds per author (storage/version_vector.h); `beyond`, when given, receives
  // the events held past a gap.
  virtual Result<storage::VersionVector> Vector(storage::BeyondGap* beyond) = 0;
  // One author's entry of Vector(), and (in `beyond`, when given) their events past a gap.
  virtual Result<storage::AuthorHead> VectorOf(const MemberKey& author,
                                               std::map<std::uint64_t, EventId>* beyond) = 0;

  // Stored events after `cursor`, in an order a peer can ingest without waiting, leaving out
  // those `skip(author, seq)` says the peer holds, until `max_events` or `max_bytes` (at least
  // one event when any is left), looking at most kCatchUpRowsPerRead stored events: a page may
  // then hold none without being the end (read on from its `next`).
  virtual Result<CatchUpPage> ReadEvents(
      const CatchUpCursor& cursor, std::size_t max_events, std::size_t max_bytes,
      const std::function<bool(const MemberKey&, std::uint64_t)>& skip) = 0;
  // The two events that prove `author` forked (empty if they did not).
  virtual Result<std::vector<Bytes>> ForkProof(const MemberKey& author) = 0;
  // An author's stored events from `from_seq` on, in sequence order, at most `max`.
  virtual Result<std::vector<Bytes>> EventsOf(const MemberKey& author, std::uint64_t from_seq,
                                              std::size_t max) = 0;
  // The stored event with this id, if any.
  virtual Result<std::optional<Bytes>> EventBytes(const EventId& id) = 0;

  // The stateful half of the ingest gate for events already through rulebook::Decode (with the
  // same `now_ms`), in one transaction: one result per event, in order. An error stores nothing.
  virtual Result<std::vector<Ingested>> IngestDecoded(
      std::vector<Result<rulebook::DecodedEvent, rulebook::Refusal>> batch,
      std::int64_t now_ms) = 0;
  // Authors some of whose pending events the store evicted since the last call, with how many
  // (their Vector() entries may have gone down).
  virtual std::map<MemberKey, std::uint64_t> TakeEvicted() = 0;

  // The peer table: the newest announcement per member.
  virtual Result<std::vector<PeerRecord>> Peers() = 0;
  virtual Status PutPeer(const PeerRecord& peer) = 0;
  // Whether `key` takes part in the circle's network: an admitted member, or a device a member
  // linked and did not revoke (whose announcements count like a member's).
  virtual bool IsMember(const MemberKey& key) = 0;
};

}  // namespace polder::sync
