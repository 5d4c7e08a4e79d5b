// ReplicaStore: the syncer's EventStore over this node's SQLite replica. The one place in
// node/sync that knows storage::Replica; it translates between the two vocabularies and adds
// nothing else.
//
// Thread-safety: as storage::Replica (none). Ownership: borrows the replica, which must outlive
// the ReplicaStore.
#pragma once

#include "node/sync/event_store.h"
#include "storage/rulebook/decode.h"
#include "storage/rulebook/refusal.h"

namespace polder::storage {
class Replica;
}

namespace polder::sync {

class ReplicaStore final : public EventStore {
 public:
  explicit ReplicaStore(storage::Replica& replica) : replica_(replica) {}

  std::optional<CircleId> circle() const override;
  Result<std::uint64_t> EventCount() override;
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
  std::map<MemberKey, std::uint64_t> TakeEvicted() override;
  Result<std::vector<PeerRecord>> Peers() override;
  Status PutPeer(const PeerRecord& peer) override;
  bool IsMember(const MemberKey& key) override;

 private:
  storage::Replica& replica_;
};

}  // namespace polder::sync
