// Replica is this node's copy of one circle's signed events, kept in SQLite, with the derived
// state (members, proposals, votes, flags, ...) that the events imply.
//
// Every event, from the CLI, a file or (later) the network, enters through Ingest(): the one
// validation gate. Derived state is a pure function of the set of stored events: it is the least
// fixpoint of "an event is applied when its author is admitted, its predecessor in the author's log
// is applied and the events it refers to are applied", with an equivocating author's log frozen
// below the first sequence number at which two different events exist. Events that cannot be
// applied yet wait in the pending set and are applied as soon as what they wait for arrives.
//
// Thread-safety: not thread-safe. One writer per replica file (callers hold the home's lock);
// other processes may read concurrently (WAL).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "polder/v1/api.pb.h"
#include "polder/v1/event.pb.h"
#include "proto/bytes.h"
#include "storage/event.h"
#include "storage/limits.h"
#include "storage/version_vector.h"

namespace polder::storage {

enum class Outcome {
  kApplied,       // passed the gate; derived state updated
  kPending,       // stored, waits for its author's admission or a referenced event
  kDuplicate,     // already held: nothing changed
  kEquivocation,  // a second, different event at an existing (author, seq): kept as proof
  kVoid,          // takes its place in the author's log but breaks a rule: no effect; `refusal`
                  // says which
  kRefused,       // not stored; `refusal` says why
};
const char* ToString(Outcome outcome);

struct IngestResult {
  Outcome outcome = Outcome::kRefused;
  EventId id{};
  MemberKey author{};  // set once the event decoded
  std::uint64_t seq = 0;
  std::optional<Refusal> refusal;  // set when refused
  std::string waiting_for;         // pending: what it waits for, in words
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
  // A replica that belongs to no circle yet joins this circle with the first event it stores
  // (founding a circle; a first import). Nothing stored, nothing joined.
  std::optional<CircleId> adopt_circle;
};

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

// A member's signed announcement of where their node listens (node/sync keeps the format).
struct StoredPeer {
  MemberKey member{};
  std::int64_t announced_ms = 0;
  std::string addresses;  // newline-separated host:port
  Bytes announcement;     // the signed bytes, to pass on to other peers
};

// Counts, for status lines and tests.
struct ReplicaCounts {
  std::uint64_t events = 0;  // stored events, all states
  std::uint64_t applied = 0;
  std::uint64_t pending = 0;  // waiting for something that may still arrive
  std::uint64_t frozen = 0;   // held as proof or beyond a fork; never applied
  std::uint64_t forked_authors = 0;
};

// The pending set now, and what its bounds evicted.
struct PendingStats {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;    // body + signature
  std::uint64_t evicted = 0;  // since this Replica was opened
};

struct OwnLogState {
  std::uint64_t head_seq = 0;  // applied head of this author's log
  std::optional<EventId> head_id;
  std::int64_t head_ts = 0;
  std::uint64_t max_seen_seq = 0;  // highest sequence of this author held in any state
  bool forked = false;
};

class Replica {
 public:
  // Opens or creates the replica file, applying schema migrations.
  static Result<std::unique_ptr<Replica>> Open(const std::filesystem::path& file);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // The circle this replica belongs to; unset until a charter is created or a first import.
  std::optional<CircleId> circle() const { return circle_; }
  Status SetCircle(const CircleId& circle);

  // Runs every event of `batch` through the gate in one transaction. Refused events change
  // nothing; when this returns a value, everything it applied is durable (synchronous=FULL).
  // An error (I/O, corruption) rolls the whole batch back.
  Result<std::vector<IngestResult>> Ingest(std::span<const Bytes> batch, const IngestOptions& opt);
  Result<IngestResult> IngestOne(ByteView event, const IngestOptions& opt);
  // The same for events already through Decode() (e.g. on several threads, see DecodeBatch):
  // the stateful half of the gate, in one transaction. Decode with the same `opt.now_ms`.
  Result<std::vector<IngestResult>> IngestDecoded(std::vector<Result<DecodedEvent, Refusal>> batch,
                                                  const IngestOptions& opt);

  // Authoring: runs `event` through the gate inside one transaction and calls `before_commit`
  // (which makes the event durable elsewhere, e.g. the author's own log) only when it was applied.
  // Commits only if `before_commit` succeeds; otherwise nothing changes.
  Result<IngestResult> IngestAuthored(ByteView event, const IngestOptions& opt,
                                      const std::function<Status()>& before_commit);

  // Recomputes all derived state from the stored events alone.
  Status Rebuild();

  // Re-verifies every stored event's signature and id; reports problems without changing anything.
  Result<v1::VerifyReport> Verify();

  // BLAKE2b-256 over a canonical form of the derived state. Equal event sets give equal digests
  // whatever order the events arrived in.
  Result<Digest32> StateDigest();

  Result<ReplicaCounts> Counts();
  Result<PendingStats> Pending();
  // Authors some of whose pending events were evicted since the last call, with how many (their
  // version-vector entries may have changed: see VectorOf). Bounded by the number of authors.
  std::map<MemberKey, std::uint64_t> TakeEvicted();
  Result<OwnLogState> OwnLog(const MemberKey& author);

  // Stored events in an order any replica can ingest without waiting: applied events in apply
  // order, then the rest. Calls `sink` with each serialized SignedEvent.
  Status ForEachEvent(const std::function<Status(ByteView)>& sink);

  // Every stored event's id and body bytes (signature already verified on ingest), in storage
  // order: what a decision is computed from (node/decide Fold).
  Status ForEachBody(const std::function<Status(const EventId&, ByteView body)>& sink);

  // Sync. What this replica holds, per author (docs/protocol.md, section 12).
  // `beyond`, when given, receives the events held past a gap.
  Result<VersionVector> Vector(BeyondGap* beyond = nullptr);
  // One author's entry of Vector(), and (in `beyond`, when given) their events held past a gap.
  Result<AuthorHead> VectorOf(const MemberKey& author,
                              std::map<std::uint64_t, EventId>* beyond = nullptr);
  // Stored events after `cursor` in an order a peer can ingest without waiting, leaving out those
  // `skip(author, seq)` says the peer holds, until `max_events` or `max_bytes` (at least one).
  Result<EventPage> ReadEvents(const EventCursor& cursor, std::size_t max_events,
                               std::size_t max_bytes,
                               const std::function<bool(const MemberKey&, std::uint64_t)>& skip);
  // The two events that prove `author` forked (empty if they did not).
  Result<std::vector<Bytes>> ForkProof(const MemberKey& author);
  // An author's stored events from `from_seq` on, in sequence order, at most `max`.
  Result<std::vector<Bytes>> EventsOf(const MemberKey& author, std::uint64_t from_seq,
                                      std::size_t max);
  // The stored event with this id, if any.
  Result<std::optional<Bytes>> EventBytes(const EventId& id);

  // Funding rounds `member` has not sealed: distinct proposal deadlines at or before `up_to_ms`
  // with no applied seal by `member`, newest first, at most `max` (docs/protocol.md §15).
  Result<std::vector<std::int64_t>> DeadlinesToSeal(const MemberKey& member, std::int64_t up_to_ms,
                                                    std::size_t max);

  // The peer table: the newest announcement per member (older ones are ignored).
  Status PutPeer(const StoredPeer& peer);
  Result<std::vector<StoredPeer>> Peers();

  // Queries used by the CLI.
  bool IsMember(const MemberKey& key);
  Result<v1::Charter> Charter();
  Result<v1::MemberList> Members();
  Result<v1::ProposalList> Proposals();
  Result<v1::ProposalDetail> ShowProposal(const EventId& id);
  Result<v1::FlagView> ShowFlag(const EventId& id);
  // Resolves a unique hex prefix of an applied event id of `kind` ("" for any kind).
  Result<EventId> ResolvePrefix(std::string_view hex_prefix, std::string_view kind);
  std::string FormatAmount(std::int64_t minor);
  std::string MemberLabel(const MemberKey& key);  // "name (FINGERP)"

 private:
  struct Impl;
  explicit Replica(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  std::optional<CircleId> circle_;
};

}  // namespace polder::storage
