// Replica is this node's copy of one circle's signed events, kept in SQLite, with the derived
// state (members, proposals, votes, flags, ...) that the events imply.
//
// Every event, from the CLI, a file or the network, enters through Ingest(): the one validation
// gate. What an event does is the rulebook's (storage/rulebook/): derived state is a pure function
// of the set of stored events — the least fixpoint of the rulebook's rules, with an equivocating
// author's log frozen below the first sequence number at which two different events exist.
// Events that cannot be applied yet wait in the pending set and are applied as soon as what they
// wait for arrives.
//
// The replica's parts, each in its own file: the gate (gate.*: ingest and rebuild, following the
// rulebook; sql_state.*, effects.*, pending_set.*), the stored events as sync and decisions read
// them (event_log.h), the peer table (peer_table.h), derived-state queries (derived_state.h) and
// views for people (views.h).
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

#include "polder/v1/event.pb.h"
#include "proto/bytes.h"
#include "storage/derived_state.h"
#include "storage/event_log.h"
#include "storage/ingest.h"
#include "storage/limits.h"
#include "storage/peer_table.h"
#include "storage/rulebook/decode.h"
#include "storage/rulebook/refusal.h"
#include "storage/version_vector.h"
#include "storage/views.h"

namespace polder::storage {

// What Verify() found: events whose stored bytes no longer verify or match their id, author or
// sequence number, and whether the derived state matches a rebuild from the events.
struct VerifyProblem {
  EventId event;
  std::string message;
};
struct VerifyReport {
  std::uint64_t events_checked = 0;
  std::vector<VerifyProblem> problems;
  bool derived_state_matches = false;
  Digest32 digest;  // the state digest as stored
};

// The pending set now, and what its bounds evicted.
struct PendingStats {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;    // body + signature
  std::uint64_t evicted = 0;  // since this Replica was opened
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
  Result<std::vector<IngestResult>> IngestDecoded(
      std::vector<Result<rulebook::DecodedEvent, rulebook::Refusal>> batch,
      const IngestOptions& opt);

  // Authoring: runs `event` through the gate inside one transaction and calls `before_commit`
  // (which makes the event durable elsewhere, e.g. the author's own log) only when it took its
  // place in its author's log (applied, or awaiting an event it refers to).
  // Commits only if `before_commit` succeeds; otherwise nothing changes.
  Result<IngestResult> IngestAuthored(ByteView event, const IngestOptions& opt,
                                      const std::function<Status()>& before_commit);

  // Recomputes all derived state from the stored events alone.
  Status Rebuild();

  // Re-verifies every stored event's signature and id; reports problems without changing anything.
  Result<VerifyReport> Verify();

  // BLAKE2b-256 over a canonical form of the derived state. Equal event sets give equal digests
  // whatever order the events arrived in.
  Result<Digest32> StateDigest();

  // Copies the WAL into the database and empties the WAL file, if no reader (another process: a
  // CLI command) holds an older snapshot right now; never waits for one. Returns whether it did.
  // SQLite's own checkpoints rewind the WAL only when no reader is in the way at that moment: a
  // node's replica, read now and then by CLI commands, grew its WAL to 230 MB in five minutes.
  Result<bool> Checkpoint();

  // The size, in bytes, the WAL file is cut back to whenever a checkpoint rewinds it (a setting of
  // this connection: for tests and diagnostics).
  Result<std::int64_t> JournalSizeLimit();

  Result<PendingStats> Pending();
  // Authors some of whose pending events were evicted since the last call, with how many (their
  // version-vector entries may have changed: see EventLog::VectorOf). Bounded by the number of
  // authors.
  std::map<MemberKey, std::uint64_t> TakeEvicted();

  // The replica's read parts.
  EventLog& events() { return *events_; }
  PeerTable& peers() { return *peers_; }
  DerivedState& state() { return *state_; }
  Views& views() { return *views_; }

 private:
  struct Parts;
  explicit Replica(std::unique_ptr<Parts> parts);
  // Runs `batch` (which calls the gate) in one write transaction, rolled back on any error.
  template <class F>
  auto InTransaction(F&& batch) -> decltype(batch());

  std::unique_ptr<Parts> parts_;
  EventLog* events_;
  PeerTable* peers_;
  DerivedState* state_;
  Views* views_;
  std::optional<CircleId> circle_;
};

}  // namespace polder::storage
