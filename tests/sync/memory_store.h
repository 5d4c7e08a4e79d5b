// MemoryStore: an EventStore in memory, for running many syncers in one test without SQLite.
// It keeps every event that decodes, in arrival order, with no gate beyond decoding: no
// membership, no pending set (nothing is ever evicted), no derived state. Its catch-up pages are
// in arrival order, so a receiver that is a MemoryStore too takes them as they come.
//
// Thread-safety: none.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "node/sync/event_store.h"
#include "storage/rulebook/decode.h"
#include "storage/rulebook/refusal.h"

namespace polder::sync {

class MemoryStore final : public EventStore {
 public:
  MemoryStore(CircleId circle, std::set<MemberKey> members)
      : circle_(circle), members_(std::move(members)) {}

  // Stores already-signed events as if they had been ingested (e.g. the circle's history, or
  // an event authored here before Syncer::OnLocalEvent). False if one does not decode.
  bool Add(const std::vector<Bytes>& events, std::int64_t now_ms);

  std::optional<CircleId> circle() const override { return circle_; }
  Result<std::uint64_t> EventCount() override { return events_.size(); }
  Result<storage::VersionVector> Vector(storage::BeyondGap* beyond) override;
  Result<storage::AuthorHead> VectorOf(const MemberKey& author,
                                       std::map<std::uint64_t, EventId>* beyond) override;
  Result<CatchUpPage> ReadEvents(
      const CatchUpCursor& cursor, std::size_t max_events, std::size_t max_bytes,
      const std::function<bool(const MemberKey&, std::uint64_t)>& skip) override;
  Result<std::vector<Bytes>> ForkProof(const MemberKey& author) override;
  Result<std::vector<Bytes>> EventsOf(const MemberKey& author, std::uint64_t from_seq,
                                      std::size_t max) override;
  Result<std::optional<Bytes>> EventBytes(const EventId& id) override;
  Result<std::vector<Ingested>> IngestDecoded(
      std::vector<Result<rulebook::DecodedEvent, rulebook::Refusal>> batch,
      std::int64_t now_ms) override;
  std::map<MemberKey, std::uint64_t> TakeEvicted() override { return {}; }
  Result<std::vector<PeerRecord>> Peers() override;
  Status PutPeer(const PeerRecord& peer) override;
  bool IsMember(const MemberKey& key) override { return members_.count(key) > 0; }

 private:
  struct Stored {
    EventId id;
    MemberKey author;
    std::uint64_t seq;
    Bytes bytes;
  };
  // The author's run from 1 without a gap, and (in `beyond`) the seqs held past it.
  storage::AuthorHead HeadOf(const MemberKey& author,
                             std::map<std::uint64_t, EventId>* beyond) const;

  CircleId circle_;
  std::set<MemberKey> members_;
  std::vector<Stored> events_;            // in arrival order
  std::map<EventId, std::size_t> by_id_;  // index in events_
  std::map<MemberKey, std::map<std::uint64_t, std::vector<std::size_t>>> by_author_;
  std::map<MemberKey, PeerRecord> peers_;
};

}  // namespace polder::sync
