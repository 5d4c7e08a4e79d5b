// PendingSet: the replica's stored events that wait (for their author's admission, the previous
// event of their author's log, or a referenced event), counted in total and per author, and the
// bounds that keep a hostile source from filling the disk (storage/limits.h, docs/protocol.md
// §4). When a new waiting event would pass a bound, the oldest pending events of the author who
// holds the most (or, for the per-author bounds, of its own author) are evicted: deleted, to be
// fetched again if they are ever needed. Limits are local: only under abuse can they make
// replicas hold different events. Internal to storage/.
//
// Thread-safety: not thread-safe; used inside the replica's write transactions.
#pragma once

#include <cstdint>
#include <map>

#include "storage/db.h"

namespace polder::storage {

struct IngestOptions;

class PendingSet {
 public:
  explicit PendingSet(Db& db) : db_(db) {}

  // Counts the pending events from the table (a transaction begins, or a rebuild ends).
  void Recount();
  void Clear();
  // One more (+1) or one fewer (-1) pending event of `author`, `bytes` long (body + signature);
  // `stranger`: the event waits for its own author's admission.
  void Count(const MemberKey& author, std::int64_t bytes, int delta, bool stranger = false);

  // Makes room for one more pending event of `author`, `bytes` long, under the bounds in `opt`:
  // first the author's own share (their oldest pending events go), then the whole set (the
  // oldest of the stranger who holds the most go; of whoever holds the most once no stranger
  // holds any, so that strangers never evict a member's gap). False when it cannot fit even in
  // an empty set.
  bool MakeRoom(const MemberKey& author, std::int64_t bytes, const IngestOptions& opt);
  // A not-yet-admitted author may hold only kMaxPendingPerStranger events (pending or frozen).
  bool StrangerQuotaFull(const MemberKey& author);
  // `author`, not yet admitted, would be one stranger more than `max` hold pending events.
  bool StrangerAuthorsFull(const MemberKey& author, std::int64_t max) const;
  std::size_t stranger_authors() const { return strangers_; }

  std::int64_t count() const { return count_; }
  std::uint64_t evicted_total() const { return evicted_total_; }
  // Authors some of whose pending events were evicted since the last call, with how many.
  std::map<MemberKey, std::uint64_t> TakeEvicted();

 private:
  struct Tally {
    std::int64_t count = 0;
    std::int64_t bytes = 0;
    bool stranger = false;  // their events wait for their own admission
  };
  // Drops `author`'s tally.
  void Forget(const MemberKey& author);
  // Deletes `author`'s oldest pending event (by arrival). False if they have none.
  bool EvictOldest(const MemberKey& author);

  Db& db_;
  std::int64_t count_ = 0;
  std::int64_t bytes_ = 0;
  std::map<MemberKey, Tally> by_author_;
  std::size_t strangers_ = 0;  // entries of by_author_ with `stranger`
  // Evictions since the replica was opened (a rolled-back batch's too), and per author since the
  // last TakeEvicted().
  std::uint64_t evicted_total_ = 0;
  std::map<MemberKey, std::uint64_t> evicted_authors_;
};

}  // namespace polder::storage
