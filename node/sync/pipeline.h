// Pipeline: the way in for events received from peers. Received batches wait in an inbox; the
// inbox is taken in groups of whole batches (about kGroupBytes); a group is verified (parse,
// limits, signatures: the stateless half of the gate) on this thread or, when large and an
// offload is set, on another thread while this one commits the group before it; then it is
// committed through the store in one transaction, in arrival order. What the commit stored
// updates the holdings, is pushed on, reshapes the push tree, and returns the senders' credit.
//
// Thread-safety: none; everything but the offloaded verification runs on the syncer's thread.
// Ownership: borrows the store, the peer table, the holdings, the catch-up and the push tree
// from the Syncer that owns it. A verification still running when the Pipeline is destroyed
// finishes without effect.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "node/sync/catch_up.h"
#include "node/sync/event_store.h"
#include "node/sync/holdings.h"
#include "node/sync/peers.h"
#include "node/sync/push_tree.h"
#include "node/sync/stats.h"
#include "polder/v1/wire.pb.h"
#include "storage/rulebook/decode.h"
#include "storage/rulebook/refusal.h"

namespace polder::sync {

class Pipeline {
 public:
  // Runs `work` on another thread and then `then` on the syncer's thread.
  using Offload = std::function<void(std::function<void()> work, std::function<void()> then)>;
  // The owner's hooks (they may be set after construction; see Syncer).
  struct Hooks {
    const std::function<void(const EventId&, std::size_t bytes)>& on_event_stored;
    const std::function<void(std::size_t stored)>& on_stored;
    const std::function<void()>& on_progress;
  };
  // `clock` (monotonic; the Syncer's, never empty) refills the duplicate allowances.
  Pipeline(EventStore& store, Peers& peers, Holdings& holdings, CatchUp& catch_up, PushTree& push,
           SyncStats& stats, std::function<std::int64_t()> now_ms,
           std::function<std::chrono::steady_clock::time_point()> clock, Hooks hooks)
      : store_(store),
        peers_(peers),
        holdings_(holdings),
        catch_up_(catch_up),
        push_(push),
        stats_(stats),
        now_ms_(std::move(now_ms)),
        clock_(std::move(clock)),
        hooks_(hooks) {}

  // Asks the owner to call Flush() soon, so that events arriving together (from any peer) are
  // committed in one transaction. Unset: every batch commits at once.
  void set_schedule_flush(std::function<void()> f) { schedule_flush_ = std::move(f); }
  // Set: large groups are verified there (see Offload). Unset: here, one after the other.
  void set_offload(Offload f) { offload_ = std::move(f); }

  // An EventBatch from `p` (push or catch-up): bounds and credit checked, pushed events already
  // held set aside (charged to the sender's duplicate allowance), the rest queued.
  void OnEvents(PeerId from, Peer& p, const v1::EventBatch& b);
  // Verifies and commits everything received, group by group, unless a group is being verified
  // elsewhere (its completion flushes again).
  void Flush();
  // A group is being verified off this thread.
  bool verifying() const { return verifying_; }
  // Bytes of received events waiting to be verified and committed.
  std::size_t inbox_bytes() const { return inbox_bytes_; }

 private:
  // One received EventBatch, waiting to be verified and committed.
  struct Inbound {
    PeerId from;
    bool push;
    std::vector<Bytes> events;
    std::uint64_t credit = 0;    // catch-up bytes to grant again once committed
    std::size_t uncredited = 0;  // bytes no credit covered (Peer::InboxState::uncredited)
    std::size_t bytes = 0;       // of the events
  };
  struct CreditDue {
    PeerId to;
    std::uint64_t bytes;
  };
  // Events received together: verified (possibly on another thread), then committed here.
  struct Job {
    std::vector<PeerId> from;
    std::vector<bool> push;
    std::vector<Bytes> events;
    std::vector<CreditDue> credits;
    std::int64_t now_ms = 0;
    std::vector<Result<rulebook::DecodedEvent, rulebook::Refusal>> decoded;
  };
  std::shared_ptr<Job> TakeInbox();
  bool Offloadable(const Job& job) const;
  void VerifyHere(Job& job);
  void VerifyElsewhere(std::shared_ptr<Job> job);
  void Commit(Job& job);
  // Charges `bytes` of duplicates to the peer's allowance; false when that exhausts it (the peer
  // was cut off).
  bool ChargeDuplicates(Peer& p, std::size_t bytes);

  EventStore& store_;
  Peers& peers_;
  Holdings& holdings_;
  CatchUp& catch_up_;
  PushTree& push_;
  SyncStats& stats_;
  std::function<std::int64_t()> now_ms_;
  std::function<std::chrono::steady_clock::time_point()> clock_;
  Hooks hooks_;
  std::function<void()> schedule_flush_;
  Offload offload_;
  std::deque<Inbound> inbox_;
  std::size_t inbox_bytes_ = 0;       // of every Inbound in inbox_
  std::size_t inbox_uncredited_ = 0;  // of which no credit covers (kMaxInboxBytes)
  bool flush_scheduled_ = false;
  bool verifying_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // offloaded work checks it
};

}  // namespace polder::sync
