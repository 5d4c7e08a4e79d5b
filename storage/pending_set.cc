#include "storage/pending_set.h"

#include "storage/ingest.h"
#include "storage/limits.h"

namespace polder::storage {

void PendingSet::Clear() {
  count_ = 0;
  bytes_ = 0;
  by_author_.clear();
  strangers_ = 0;
}

void PendingSet::Recount() {
  Clear();
  auto& p = db_.Q(
      "SELECT author, count(*), sum(length(body) + length(sig)), max(waiting_for = author)"
      " FROM events WHERE state = 0 AND waiting_for <> X'46' GROUP BY author");
  while (p.executeStep()) {
    Tally t{p.getColumn(1).getInt64(), p.getColumn(2).getInt64(), p.getColumn(3).getInt() != 0};
    count_ += t.count;
    bytes_ += t.bytes;
    strangers_ += t.stranger;
    by_author_.emplace(ToId<MemberKey>(p.getColumn(0)), t);
  }
}

void PendingSet::Count(const MemberKey& author, std::int64_t bytes, int delta, bool stranger) {
  count_ += delta;
  bytes_ += delta * bytes;
  auto& t = by_author_[author];
  t.count += delta;
  t.bytes += delta * bytes;
  if (stranger && delta > 0 && !t.stranger) {
    t.stranger = true;
    ++strangers_;
  }
  if (t.count <= 0) Forget(author);
}

void PendingSet::Forget(const MemberKey& author) {
  auto it = by_author_.find(author);
  if (it == by_author_.end()) return;
  strangers_ -= it->second.stranger;
  by_author_.erase(it);
}

bool PendingSet::StrangerAuthorsFull(const MemberKey& author, std::int64_t max) const {
  auto it = by_author_.find(author);
  if (it != by_author_.end() && it->second.stranger) return false;
  return static_cast<std::int64_t>(strangers_) >= max;
}

bool PendingSet::EvictOldest(const MemberKey& author) {
  std::int64_t rowid = 0, bytes = 0;
  {
    auto& st = db_.Q(
        "SELECT rowid, length(body) + length(sig) FROM events"
        " WHERE author = ? AND state = 0 AND waiting_for <> X'46' ORDER BY rowid LIMIT 1");
    Bind(st, 1, author.view());
    if (!st.executeStep()) {
      Forget(author);  // the tally was stale; nothing to evict
      return false;
    }
    rowid = st.getColumn(0).getInt64();
    bytes = st.getColumn(1).getInt64();
  }
  auto& del = db_.Q("DELETE FROM events WHERE rowid = ?");
  del.bind(1, rowid);
  del.exec();
  Count(author, bytes, -1);
  ++evicted_total_;
  ++evicted_authors_[author];
  return true;
}

// Evicted events are deleted: they are not part of any version vector's run while pending past a
// gap, and a peer or a file can bring them again. Every loop evicts one event per turn, so each
// ends within the pending set's size.
bool PendingSet::MakeRoom(const MemberKey& author, std::int64_t bytes, const IngestOptions& opt) {
  if (opt.max_pending <= 0 || opt.max_pending_per_author <= 0 || bytes > opt.max_pending_bytes ||
      bytes > opt.max_pending_bytes_per_author) {
    return false;
  }
  for (;;) {
    auto it = by_author_.find(author);
    if (it == by_author_.end() || (it->second.count < opt.max_pending_per_author &&
                                   it->second.bytes + bytes <= opt.max_pending_bytes_per_author)) {
      break;
    }
    if (!EvictOldest(author)) break;
  }
  // Then the whole set: a member who floods it with events beyond a gap evicts their own, not
  // the few events another member's honest gap holds; and strangers' events go before any
  // member's (however few each stranger holds).
  while (count_ >= opt.max_pending || bytes_ + bytes > opt.max_pending_bytes) {
    auto most = by_author_.end();
    for (auto it = by_author_.begin(); it != by_author_.end(); ++it) {
      const bool first = most == by_author_.end();
      if (first || (it->second.stranger && !most->second.stranger) ||
          (it->second.stranger == most->second.stranger &&
           (it->second.count > most->second.count ||
            (it->second.count == most->second.count && it->second.bytes > most->second.bytes)))) {
        most = it;
      }
    }
    if (most == by_author_.end()) return false;
    const MemberKey victim = most->first;  // EvictOldest may erase the entry
    (void)EvictOldest(victim);
  }
  return true;
}

bool PendingSet::StrangerQuotaFull(const MemberKey& author) {
  auto& n = db_.Q("SELECT count(*) FROM events WHERE author = ? AND state = 0");
  Bind(n, 1, author.view());
  n.executeStep();
  return n.getColumn(0).getInt64() >= kMaxPendingPerStranger;
}

std::map<MemberKey, std::uint64_t> PendingSet::TakeEvicted() {
  auto out = std::move(evicted_authors_);
  evicted_authors_.clear();
  return out;
}

}  // namespace polder::storage
