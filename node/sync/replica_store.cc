#include "node/sync/replica_store.h"

#include "node/sync/limits.h"
#include "storage/replica.h"
#include "storage/rulebook/decode.h"
#include "storage/rulebook/refusal.h"

namespace polder::sync {
namespace {

// The replica reads applied events first (in apply order), then the rest (by row).
storage::EventCursor ToReplica(const CatchUpCursor& c) {
  storage::EventCursor r;
  r.applied_done = c.phase != 0;
  r.last = c.position;
  return r;
}

CatchUpCursor FromReplica(const storage::EventCursor& r) {
  return CatchUpCursor{r.applied_done ? 1 : 0, r.last};
}

IngestOutcome FromReplica(storage::Outcome o) {
  switch (o) {
    case storage::Outcome::kDuplicate: return IngestOutcome::kDuplicate;
    case storage::Outcome::kEquivocation: return IngestOutcome::kEquivocation;
    case storage::Outcome::kRefused: return IngestOutcome::kRefused;
    case storage::Outcome::kApplied:
    case storage::Outcome::kAwaiting:
    case storage::Outcome::kPending:
    case storage::Outcome::kVoid:
    case storage::Outcome::kFrozen: return IngestOutcome::kStored;
  }
  return IngestOutcome::kRefused;
}

}  // namespace

std::optional<CircleId> ReplicaStore::circle() const { return replica_.circle(); }

Result<std::uint64_t> ReplicaStore::EventCount() {
  auto c = replica_.events().Counts();
  if (!c) return MakeUnexpected(c.error());
  return c->events;
}

Result<storage::VersionVector> ReplicaStore::Vector(storage::BeyondGap* beyond) {
  return replica_.events().Vector(beyond);
}

Result<storage::AuthorHead> ReplicaStore::VectorOf(const MemberKey& author,
                                                   std::map<std::uint64_t, EventId>* beyond) {
  return replica_.events().VectorOf(author, beyond);
}

Result<CatchUpPage> ReplicaStore::ReadEvents(
    const CatchUpCursor& cursor, std::size_t max_events, std::size_t max_bytes,
    const std::function<bool(const MemberKey&, std::uint64_t)>& skip) {
  auto page =
      replica_.events().Read(ToReplica(cursor), max_events, max_bytes, skip, kCatchUpRowsPerRead);
  if (!page) return MakeUnexpected(page.error());
  CatchUpPage out;
  out.events = std::move(page->events);
  out.keys = std::move(page->keys);
  out.bytes = page->bytes;
  out.next = FromReplica(page->next);
  out.end = page->end;
  return out;
}

Result<std::vector<Bytes>> ReplicaStore::ForkProof(const MemberKey& author) {
  return replica_.events().ForkProof(author);
}

Result<std::vector<Bytes>> ReplicaStore::EventsOf(const MemberKey& author, std::uint64_t from_seq,
                                                  std::size_t max) {
  return replica_.events().EventsOf(author, from_seq, max);
}

Result<std::optional<Bytes>> ReplicaStore::EventBytes(const EventId& id) {
  return replica_.events().EventBytes(id);
}

Result<std::vector<Ingested>> ReplicaStore::IngestDecoded(
    std::vector<Result<rulebook::DecodedEvent, rulebook::Refusal>> batch, std::int64_t now_ms) {
  auto results = replica_.IngestDecoded(std::move(batch), storage::IngestOptions(now_ms));
  if (!results) return MakeUnexpected(results.error());
  std::vector<Ingested> out;
  out.reserve(results->size());
  for (auto& r : *results) {
    out.push_back(Ingested{FromReplica(r.outcome), r.id, r.author, r.seq, std::move(r.refusal)});
  }
  return out;
}

std::map<MemberKey, std::uint64_t> ReplicaStore::TakeEvicted() { return replica_.TakeEvicted(); }

Result<std::vector<PeerRecord>> ReplicaStore::Peers() {
  auto peers = replica_.peers().All();
  if (!peers) return MakeUnexpected(peers.error());
  std::vector<PeerRecord> out;
  out.reserve(peers->size());
  for (auto& p : *peers) {
    out.push_back(
        PeerRecord{p.member, p.announced_ms, std::move(p.addresses), std::move(p.announcement)});
  }
  return out;
}

Status ReplicaStore::PutPeer(const PeerRecord& peer) {
  storage::StoredPeer sp;
  sp.member = peer.member;
  sp.announced_ms = peer.announced_ms;
  sp.addresses = peer.addresses;
  sp.announcement = peer.announcement;
  return replica_.peers().Put(sp);
}

bool ReplicaStore::IsMember(const MemberKey& key) { return replica_.state().MayConnect(key); }

}  // namespace polder::sync
