#include "node/sync/catch_up.h"

#include <algorithm>

#include "node/sync/limits.h"
#include "node/sync/messages.h"
#include "storage/limits.h"
#include "storage/rulebook/limits.h"

namespace polder::sync {

std::uint64_t CatchUp::Added(PeerId id, Peer& p) {
  const std::uint64_t credit = source_ ? 0 : initial_credit_bytes_;
  if (!source_) BecomeSource(id, p);
  p.catch_up.credit_in = credit;
  return credit;
}

void CatchUp::BecomeSource(PeerId id, Peer& p) {
  source_ = id;
  p.catch_up.since = clock_();
}

void CatchUp::CheckStall() {
  if (!source_) return;
  Peer* s = peers_.Find(*source_);
  if (!s || s->catch_up.stalled || (s->have_vector && Lead(*s) == 0)) return;
  const auto now = clock_();
  if (now - s->catch_up.since < kSourceStall) return;
  s->catch_up.stalled = true;
  ++stats_.sources_stalled;
  PickSource();
}

void CatchUp::Removed(PeerId id) {
  if (source_ != id) return;
  source_.reset();
  PickSource();
}

void CatchUp::GrantedInHello(Peer& p, std::uint64_t bytes) {
  p.catch_up.credit_out += std::min<std::uint64_t>(bytes, kMaxHelloCreditBytes);
}

void CatchUp::OnCredit(Peer& p, std::uint64_t bytes) {
  p.catch_up.credit_out += bytes;
  Stream(p);
}

void CatchUp::StreamFromStart(Peer& p) {
  if (holdings_.vector().AheadOf(p.known) > 0) {
    p.catch_up.streaming = true;
    p.catch_up.cursor = {};
    Stream(p);
  } else {
    p.catch_up.streaming = false;
  }
}

void CatchUp::Pump() {
  for (auto& [id, p] : peers_) Stream(p);
}

void CatchUp::Stream(Peer& p) {
  auto& c = p.catch_up;
  while (c.streaming && c.credit_out > 0 && p.link->queued_bytes() < kPushQueueLimitBytes) {
    const std::size_t max_bytes =
        static_cast<std::size_t>(std::min<std::uint64_t>(kBatchBytes, c.credit_out));
    auto page = store_.ReadEvents(
        c.cursor, kBatchEvents, max_bytes,
        [&](const MemberKey& author, std::uint64_t seq) { return p.known.SeqOf(author) >= seq; });
    if (!page) {
      c.streaming = false;
      return;
    }
    c.cursor = page->next;
    if (!page->events.empty()) {
      v1::SyncMessage m;
      auto* b = m.mutable_events();
      for (std::size_t i = 0; i < page->events.size(); ++i) {
        b->add_events(page->events[i].data(), page->events[i].size());
        const auto& [author, seq] = page->keys[i];
        auto& k = p.known.heads[author];
        if (seq == k.seq + 1) k.seq = seq;  // the id is not needed for skipping
      }
      c.credit_out -= std::min<std::uint64_t>(c.credit_out, page->bytes);
      stats_.events_sent += page->events.size();
      peers_.Send(p, m);
    }
    if (page->end) {
      c.streaming = false;
    } else if (page->events.empty()) {
      return;  // looked at kCatchUpRowsPerRead events the peer holds: on at the next pump
    }
  }
}

bool CatchUp::Spend(Peer& p, std::uint64_t event_bytes) {
  // A page may pass the credit by the one event that crosses it.
  if (event_bytes > p.catch_up.credit_in + rulebook::kMaxEventBytes) return false;
  p.catch_up.credit_in -= std::min<std::uint64_t>(p.catch_up.credit_in, event_bytes);
  p.catch_up.since = clock_();
  return true;
}

void CatchUp::Return(Peer& p, std::uint64_t bytes) {
  p.catch_up.credit_in += bytes;
  p.catch_up.since = clock_();
  peers_.Send(p, CreditMessage(bytes));
}

std::uint64_t CatchUp::Lead(const Peer& p) const {
  const auto& local = holdings_.vector();
  if (p.noted_base.empty()) return p.known.AheadOf(local);
  std::uint64_t lead = 0;
  for (const auto& [author, head] : p.known.heads) {
    std::uint64_t seq = head.seq;
    auto nb = p.noted_base.find(author);
    if (nb != p.noted_base.end()) seq = std::min(seq, nb->second);
    const std::uint64_t ours = local.SeqOf(author);
    if (seq > ours) lead += seq - ours;
  }
  return lead;
}

void CatchUp::PickSource() {
  if (source_) {
    const Peer* s = peers_.Find(*source_);
    if (s && !s->catch_up.stalled && (!s->have_vector || Lead(*s) > 0)) {
      return;  // still has more for us (or has not told us yet)
    }
  }
  Peer* best = nullptr;
  PeerId best_id = 0;
  std::uint64_t most = 0;
  // Peers that did not stall first; a stalled one only when no other holds more.
  for (const bool stalled_too : {false, true}) {
    for (auto& [id, p] : peers_) {
      if (!p.have_vector || (source_ && id == *source_) || (p.catch_up.stalled && !stalled_too)) {
        continue;
      }
      const std::uint64_t ahead = Lead(p);
      if (ahead > most) {
        most = ahead;
        best = &p;
        best_id = id;
      }
    }
    if (best) break;
  }
  if (!best) return;  // the current source (if any) stays; nobody holds more
  BecomeSource(best_id, *best);
  // It streams from what we hold now, not from what we held when we last told it.
  peers_.Send(*best, VectorMessage(holdings_.vector()));
  best->catch_up.credit_in += initial_credit_bytes_;
  peers_.Send(*best, CreditMessage(initial_credit_bytes_));
}

std::uint64_t CatchUp::Expected() const {
  std::uint64_t most = 0;
  for (const auto& [id, p] : peers_) {
    if (p.have_vector && !p.catch_up.stalled) {
      most = std::max(most, p.known.AheadOf(holdings_.vector()));
    }
  }
  return most;
}

}  // namespace polder::sync
