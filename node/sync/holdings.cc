#include "node/sync/holdings.h"

#include <algorithm>

namespace polder::sync {

Status Holdings::Load(EventStore& store) {
  beyond_gap_.clear();
  auto v = store.Vector(&beyond_gap_);
  if (!v) return MakeUnexpected(v.error());
  vector_ = std::move(*v);
  auto n = store.EventCount();
  if (!n) return MakeUnexpected(n.error());
  held_ = *n;
  return {};
}

void Holdings::Stored(const MemberKey& author, std::uint64_t seq, const EventId& id) {
  auto& head = vector_.heads[author];
  if (seq == head.seq + 1) {
    head.seq = seq;
    head.id = id;
    // Events held past a gap join the run once it closes.
    auto bg = beyond_gap_.find(author);
    if (bg != beyond_gap_.end()) {
      auto& m = bg->second;
      for (auto it = m.begin(); it != m.end() && it->first <= head.seq + 1;) {
        if (it->first == head.seq + 1) {
          head.seq = it->first;
          head.id = it->second;
        }
        it = m.erase(it);
      }
      if (m.empty()) beyond_gap_.erase(bg);
    }
  } else if (seq > head.seq + 1) {
    beyond_gap_[author][seq] = id;
  }
  if (head.seq == 0) vector_.heads.erase(author);
  ++held_;
}

void Holdings::Forked(const MemberKey& author, std::uint64_t seq, const EventId& id) {
  auto& head = vector_.heads[author];
  head.forked = true;
  if (seq == head.seq && id < head.id) head.id = id;
  ++held_;
}

// Held like any event new to the store: past a gap it waits beside the run, never as an entry of
// seq 0 (which peers refuse as malformed).
void Holdings::Authored(const MemberKey& author, std::uint64_t seq, const EventId& id) {
  Stored(author, seq, id);
}

void Holdings::Evicted(EventStore& store, const MemberKey& author, std::uint64_t n) {
  held_ -= std::min<std::uint64_t>(held_, n);
  std::map<std::uint64_t, EventId> beyond;
  auto head = store.VectorOf(author, &beyond);
  if (!head) return;  // read error: anti-entropy and the next Load() set it right
  if (head->seq == 0) {
    vector_.heads.erase(author);
  } else {
    vector_.heads[author] = *head;
  }
  if (beyond.empty()) {
    beyond_gap_.erase(author);
  } else {
    beyond_gap_[author] = std::move(beyond);
  }
}

}  // namespace polder::sync
