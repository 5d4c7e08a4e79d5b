// Holdings: what this replica holds, as the sync protocol describes it — the version vector
// (per author, the run of sequence numbers held without a gap), the events held past a gap
// (they join the run when it closes), and how many events are held. Loaded once from the store,
// then kept up to date from what the syncer stores, authors and sees evicted, so the vector is
// never re-read on the hot path.
//
// Thread-safety: none (the syncer's thread).
#pragma once

#include <cstdint>
#include <map>

#include "node/sync/event_store.h"
#include "storage/version_vector.h"

namespace polder::sync {

class Holdings {
 public:
  // Reads the vector, the events past gaps and the count from `store`.
  Status Load(EventStore& store);

  const storage::VersionVector& vector() const { return vector_; }
  std::uint64_t held() const { return held_; }

  // An event new to the store (applied, pending or void) at (author, seq).
  void Stored(const MemberKey& author, std::uint64_t seq, const EventId& id);
  // A second, different event at (author, seq): the author forked; the entry keeps the smaller
  // id of the two at its head.
  void Forked(const MemberKey& author, std::uint64_t seq, const EventId& id);
  // An event authored here (already in the store).
  void Authored(const MemberKey& author, std::uint64_t seq, const EventId& id);
  // The store evicted `n` of the author's pending events: the author's entry is read again, so
  // the vector never claims what the store no longer holds (no peer would send it again).
  void Evicted(EventStore& store, const MemberKey& author, std::uint64_t n);

 private:
  storage::VersionVector vector_;
  storage::BeyondGap beyond_gap_;
  std::uint64_t held_ = 0;
};

}  // namespace polder::sync
