#include "tests/sync/memory_store.h"

#include <algorithm>

#include "node/sync/limits.h"
#include "storage/rulebook/decode.h"
#include "storage/rulebook/refusal.h"
#include "storage/rulebook/sign.h"

namespace polder::sync {

bool MemoryStore::Add(const std::vector<Bytes>& events, std::int64_t now_ms) {
  std::vector<Result<rulebook::DecodedEvent, rulebook::Refusal>> batch;
  for (const auto& e : events) batch.push_back(rulebook::Decode(e, now_ms));
  auto r = IngestDecoded(std::move(batch), now_ms);
  if (!r) return false;
  for (const auto& i : *r) {
    if (i.outcome == IngestOutcome::kRefused) return false;
  }
  return true;
}

storage::AuthorHead MemoryStore::HeadOf(const MemberKey& author,
                                        std::map<std::uint64_t, EventId>* beyond) const {
  storage::AuthorHead head;
  auto it = by_author_.find(author);
  if (it == by_author_.end()) return head;
  for (const auto& [seq, versions] : it->second) {
    head.forked = head.forked || versions.size() > 1;
    EventId smallest = events_[versions.front()].id;
    for (std::size_t v : versions) smallest = std::min(smallest, events_[v].id);
    if (seq == head.seq + 1) {
      head.seq = seq;
      head.id = smallest;
    } else if (beyond) {
      (*beyond)[seq] = smallest;
    }
  }
  return head;
}

Result<storage::VersionVector> MemoryStore::Vector(storage::BeyondGap* beyond) {
  storage::VersionVector v;
  for (const auto& [author, seqs] : by_author_) {
    std::map<std::uint64_t, EventId> past;
    const auto head = HeadOf(author, &past);
    if (head.seq > 0) v.heads[author] = head;
    if (beyond && !past.empty()) (*beyond)[author] = std::move(past);
  }
  return v;
}

Result<storage::AuthorHead> MemoryStore::VectorOf(const MemberKey& author,
                                                  std::map<std::uint64_t, EventId>* beyond) {
  return HeadOf(author, beyond);
}

Result<CatchUpPage> MemoryStore::ReadEvents(
    const CatchUpCursor& cursor, std::size_t max_events, std::size_t max_bytes,
    const std::function<bool(const MemberKey&, std::uint64_t)>& skip) {
  CatchUpPage page;
  auto i = static_cast<std::size_t>(cursor.position);
  const std::size_t stop =
      i + std::min(events_.size() - std::min(i, events_.size()), kCatchUpRowsPerRead);
  for (; i < stop && page.events.size() < max_events && page.bytes < max_bytes; ++i) {
    const Stored& e = events_[i];
    if (skip(e.author, e.seq)) continue;
    page.events.push_back(e.bytes);
    page.keys.emplace_back(e.author, e.seq);
    page.bytes += e.bytes.size();
  }
  page.next.position = static_cast<std::int64_t>(i);
  page.end = i == events_.size();
  return page;
}

Result<std::vector<Bytes>> MemoryStore::ForkProof(const MemberKey& author) {
  auto it = by_author_.find(author);
  if (it == by_author_.end()) return std::vector<Bytes>{};
  for (const auto& [seq, versions] : it->second) {
    if (versions.size() > 1) {
      return std::vector<Bytes>{events_[versions[0]].bytes, events_[versions[1]].bytes};
    }
  }
  return std::vector<Bytes>{};
}

Result<std::vector<Bytes>> MemoryStore::EventsOf(const MemberKey& author, std::uint64_t from_seq,
                                                 std::size_t max) {
  std::vector<Bytes> out;
  auto it = by_author_.find(author);
  if (it == by_author_.end()) return out;
  for (auto s = it->second.lower_bound(from_seq); s != it->second.end() && out.size() < max; ++s) {
    out.push_back(events_[s->second.front()].bytes);
  }
  return out;
}

Result<std::optional<Bytes>> MemoryStore::EventBytes(const EventId& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::optional<Bytes>{};
  return std::optional<Bytes>{events_[it->second].bytes};
}

Result<std::vector<Ingested>> MemoryStore::IngestDecoded(
    std::vector<Result<rulebook::DecodedEvent, rulebook::Refusal>> batch, std::int64_t) {
  std::vector<Ingested> out;
  for (auto& d : batch) {
    Ingested r;
    if (!d) {
      r.refusal = d.error();
      out.push_back(std::move(r));
      continue;
    }
    r.id = d->id;
    r.author = d->author;
    r.seq = d->body.seq();
    if (by_id_.count(r.id)) {
      r.outcome = IngestOutcome::kDuplicate;
      out.push_back(std::move(r));
      continue;
    }
    auto& versions = by_author_[r.author][r.seq];
    r.outcome = versions.empty() ? IngestOutcome::kStored : IngestOutcome::kEquivocation;
    versions.push_back(events_.size());
    by_id_[r.id] = events_.size();
    events_.push_back(
        Stored{r.id, r.author, r.seq, rulebook::Envelope(d->body_bytes, d->signature)});
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<PeerRecord>> MemoryStore::Peers() {
  std::vector<PeerRecord> out;
  for (const auto& [member, p] : peers_) out.push_back(p);
  return out;
}

Status MemoryStore::PutPeer(const PeerRecord& peer) {
  auto [it, added] = peers_.try_emplace(peer.member, peer);
  if (!added && it->second.announced_ms < peer.announced_ms) it->second = peer;
  return {};
}

}  // namespace polder::sync
