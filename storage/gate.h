// Gate: the replica's ingest path for one decoded event — the circle, the (author, seq) probe for
// duplicates and equivocations, the rulebook's verdict, storing the event in its state (applied,
// void, pending or frozen), waking what waited for it — and the rebuild of all derived state from
// the stored events. The rules are the rulebook's (storage/rulebook/judge.h); this is where the
// replica follows them. Internal to storage/; the Replica owns the transactions.
//
// Thread-safety: not thread-safe; used inside the replica's write transactions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/db.h"
#include "storage/effects.h"
#include "storage/ingest.h"
#include "storage/pending_set.h"
#include "storage/rulebook/decode.h"
#include "storage/sql_state.h"

namespace polder::storage {

class Gate {
 public:
  Gate(Db& db, SqlState& state, Effects& effects, PendingSet& pending)
      : db_(db), state_(state), effects_(effects), pending_(pending) {}

  // Starts a batch in the write transaction just begun: counters and caches from the tables.
  void Begin();
  // One event of the batch. `circle` is the replica's circle; a replica that has none adopts
  // opt.adopt_circle with the first event it stores (and `circle` is then set).
  IngestResult Ingest(Result<rulebook::DecodedEvent, rulebook::Refusal> decoded,
                      const IngestOptions& opt, std::optional<CircleId>& circle);
  // Ends the batch before its commit: the rebuild an equivocation asked for, then the log heads
  // and the apply counter written back.
  void Finish();
  // Forgets what the batch cached (after a rollback).
  void Forget() { state_.Reset(); }
  // Recomputes all derived state from the stored events alone, inside the caller's transaction.
  void Rebuild();

 private:
  struct Stored {
    std::int64_t rowid = 0;
    EventId id;
    MemberKey author;
    v1::EventBody body;
    std::int64_t bytes = 0;  // body + signature, as counted against the pending set's bounds
    bool awaiting = false;   // placed in its author's log, its effect waiting
  };
  // A stored event that is not placed, or placed with its effect awaiting, read back; nullopt if
  // settled or unreadable.
  std::optional<Stored> Load(std::int64_t rowid);
  // The rulebook's verdict on an event, recorded when it is placed (with effect, void or
  // awaiting): the derived rows, the author's head, the applied-kind cache.
  rulebook::Verdict Decide(const EventId& id, const MemberKey& author, const v1::EventBody& b);
  // The rulebook's verdict on the effect of a placed event that awaited it, recorded.
  rulebook::Verdict DecideEffect(const EventId& id, const MemberKey& author,
                                 const v1::EventBody& b);
  void Record(const EventId& id, const v1::EventBody& b, const rulebook::Verdict& v);
  // Records a verdict on an event already stored (woken, or during a rebuild).
  void Settle(const Stored& ev, const rulebook::Verdict& v, bool was_pending);
  // Applies everything that was waiting for one of `keys`, transitively.
  void Wake(std::vector<std::string> keys);
  IngestResult Equivocation(const rulebook::DecodedEvent& ev, const EventId& other,
                            IngestResult out);
  // Freezes `author`'s log from `seq`, where `one` and `other` were both signed.
  void RecordFork(const MemberKey& author, std::uint64_t seq, const EventId& one,
                  const EventId& other);
  // Before the charter (of `founder`) is stored: drops what else the founder signed at seq 1 and
  // records the forks among the events held, which count only from the charter on.
  void ArriveCharter(const MemberKey& founder);

  // Claims and revocations deleted from the store (the device_acts_deleted trigger noted their
  // devices): each device's freeze looked at again, before anything else is judged.
  void DeviceActsGone();
  // A claim or revocation just stored: noted in device_acts, and its device's freeze looked at
  // again.
  void NoteDeviceAct(const rulebook::DecodedEvent& ev);
  // A device's freeze (its revocation) may have changed: the replica follows it, marking what
  // now lies beyond it frozen, or asking for a rebuild when placed events or a lifted freeze are
  // involved.
  void Refreeze(const MemberKey& device);
  // Marks `author`'s events at or beyond `from` that wait for their place as frozen.
  void MarkFrozen(const MemberKey& author, std::uint64_t from);
  std::int64_t Insert(const rulebook::DecodedEvent& ev, bool placed,
                      const std::optional<std::string>& waiting, int void_code);
  void MarkApplied(std::int64_t rowid, int void_code, const std::optional<std::string>& awaiting);
  // A placed event's awaited effect is decided: with effect, or void (`void_code` >= 0).
  void SettleEffect(std::int64_t rowid, int void_code);
  void SetWaiting(std::int64_t rowid, const std::string& key);
  void Delete(std::int64_t rowid);

  Db& db_;
  SqlState& state_;
  Effects& effects_;
  PendingSet& pending_;
  std::int64_t next_apply_order_ = 1;
  std::int64_t awaiting_ = 0;  // placed events whose effect awaits (Wake has work when > 0)
  // Set when an equivocation unapplies events; the rebuild runs once, before the batch commits.
  bool rebuild_needed_ = false;
};

}  // namespace polder::storage
