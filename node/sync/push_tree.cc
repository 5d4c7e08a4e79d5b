#include "node/sync/push_tree.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "node/sync/limits.h"
#include "node/sync/messages.h"

namespace polder::sync {

void PushTree::Push(std::optional<PeerId> from, ByteView event, const MemberKey& author,
                    std::uint64_t seq, const EventId& id) {
  for (auto& [pid, q] : peers_) {
    if (from && pid == *from) continue;
    if (q.known.SeqOf(author) >= seq) continue;  // it has it (as far as we know)
    if (q.push.lazy_all || q.push.lazy.count(author)) {
      // It gets these events elsewhere: tell it only that we hold this one (lazy push), with
      // the other notes for it on the next Tick.
      if (q.push.have_out.size() >= kMaxNotesPerMessage && !q.push.have_out.count(author)) {
        SendNotes(q);
      }
      auto& note = q.push.have_out[author];
      note = std::max(note, seq);
      continue;
    }
    if (q.link->queued_bytes() > kPushQueueLimitBytes) {
      ++stats_.pushes_dropped;
      continue;
    }
    v1::SyncMessage m;
    m.mutable_events()->set_push(true);
    m.mutable_events()->add_events(event.data(), event.size());
    ++stats_.pushes_sent;
    ++stats_.events_sent;
    Advance(q.known, author, seq, id);
    peers_.Send(q, m);
  }
}

void PushTree::SendAuthors(PeerId to, const std::set<MemberKey>& authors, bool prune) {
  Peer* p = peers_.Find(to);
  if (!p) return;  // (an empty list means the whole link)
  v1::SyncMessage m;
  auto* a = prune ? m.mutable_prune() : m.mutable_graft();
  for (const auto& k : authors) a->add_authors(k.str());
  if (prune) ++stats_.prunes_sent;
  // Both ways (Plumtree): a pruned link carries notes in both directions, a grafted one pushes
  // in both, so the links that push form one undirected tree rather than one-way paths that
  // can leave a group of nodes pushing only to each other.
  if (prune && authors.empty()) p->push.pruned = p->push.lazy_all = true;
  if (!prune) p->push.pruned = p->push.lazy_all = false;
  peers_.Send(*p, m);
}

std::size_t PushTree::EagerLinks(std::optional<PeerId> except) const {
  std::size_t n = 0;
  for (const auto& [id, p] : peers_) n += !p.push.pruned && id != except;
  return n;
}

void PushTree::PruneAfterDuplicate(PeerId id) {
  // Never the last link that pushes to us: without one, every event would wait for a Have
  // note and kHaveWait (and the catch-up a Have note starts).
  if (EagerLinks(id) > 0) SendAuthors(id, {}, true);
}

void PushTree::Graft(PeerId id, const std::set<MemberKey>& authors) {
  SendAuthors(id, authors, false);
}

void PushTree::Removed(bool was_eager, std::optional<PeerId> preferred) {
  // The last link that pushed to us is gone: graft one of the pruned ones, rather than wait for
  // a Have note and kHaveWait on every event.
  if (!was_eager || peers_.empty() || EagerLinks(std::nullopt) > 0) return;
  const PeerId to = preferred && peers_.Find(*preferred) ? *preferred : peers_.begin()->first;
  SendAuthors(to, {}, false);
}

void PushTree::OnAuthors(Peer& p, const v1::Authors& a, bool prune) {
  if (static_cast<std::size_t>(a.authors_size()) > kMaxNotesPerMessage) {
    return peers_.CutOff(p, CutOffReason::kTooMany, "prune or graft of too many authors");
  }
  // An empty prune stops every eager push on this link, both ways (the pruner stopped too); any
  // graft starts them again, both ways.
  if (prune && a.authors_size() == 0) p.push.lazy_all = p.push.pruned = true;
  if (!prune) p.push.lazy_all = p.push.pruned = false;
  for (const auto& bytes : a.authors()) {
    auto k = KeyFrom(bytes);
    if (!k) {
      return peers_.CutOff(p, CutOffReason::kMalformed, "malformed author in prune or graft");
    }
    if (prune) {
      if (p.push.lazy.size() < kMaxLazyAuthorsPerPeer) p.push.lazy.insert(*k);
    } else {
      p.push.lazy.erase(*k);
    }
  }
}

void PushTree::OnHave(PeerId id, Peer& p, const v1::Notes& n) {
  if (static_cast<std::size_t>(n.notes_size()) > kMaxNotesPerMessage) {
    return peers_.CutOff(p, CutOffReason::kTooMany, "too many notes");
  }
  const auto& local = holdings_.vector();
  const auto deadline = clock_() + kHaveWait;
  for (const auto& note : n.notes()) {
    auto author = KeyFrom(note.author());
    if (!author || note.seq() == 0) {
      return peers_.CutOff(p, CutOffReason::kMalformed, "malformed note");
    }
    // Each message is bounded, but notes about authors nobody here holds would otherwise add up
    // across messages: what we track for this peer stays within our own authors plus one
    // message's worth. An honest peer's vector (the greeting, anti-entropy) sets it right.
    if (!p.known.heads.count(*author) && !local.heads.count(*author) &&
        p.known.heads.size() >= local.heads.size() + kMaxNotesPerMessage) {
      ++stats_.notes_ignored;
      continue;
    }
    const std::uint64_t before = p.known.SeqOf(*author);
    Advance(p.known, *author, note.seq(), EventId{});
    if (p.known.SeqOf(*author) > before) p.noted_base.try_emplace(*author, before);
    if (local.SeqOf(*author) >= note.seq()) continue;
    if (missing_.size() >= kMaxMissingAuthors && !missing_.count(*author)) continue;  // later
    auto [it, added] = missing_.try_emplace(*author, Missing{note.seq(), id, deadline});
    if (!added && note.seq() > it->second.seq) it->second.seq = note.seq();
  }
}

void PushTree::SendNotes(Peer& p) {
  v1::SyncMessage m;
  auto* notes = m.mutable_have();
  for (const auto& [author, seq] : p.push.have_out) {
    if (p.known.SeqOf(author) >= seq) continue;  // it got the event meanwhile
    auto* note = notes->add_notes();
    note->set_author(author.str());
    note->set_seq(seq);
  }
  p.push.have_out.clear();
  if (notes->notes_size() > 0) peers_.Send(p, m);
}

void PushTree::AskForMissing(std::chrono::steady_clock::time_point now) {
  const auto& local = holdings_.vector();
  std::map<PeerId, std::vector<std::pair<MemberKey, std::uint64_t>>> want;
  for (auto it = missing_.begin(); it != missing_.end();) {
    const std::uint64_t have = local.SeqOf(it->first);
    if (have >= it->second.seq) {
      it = missing_.erase(it);
      continue;
    }
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    // The push tree did not bring it in time: ask the peer that has it, and have it push to us
    // again from now on.
    if (peers_.Find(it->second.from)) want[it->second.from].emplace_back(it->first, have + 1);
    it = missing_.erase(it);
  }
  for (const auto& [id, list] : want) {
    v1::SyncMessage m;
    for (const auto& [author, from] : list) {
      auto* note = m.mutable_want()->add_notes();
      note->set_author(author.str());
      note->set_seq(from);
    }
    peers_.Send(*peers_.Find(id), m);
    SendAuthors(id, {}, false);  // graft the whole link
  }
}

void PushTree::OnWant(Peer& p, const v1::Notes& n) {
  if (static_cast<std::size_t>(n.notes_size()) > kMaxNotesPerMessage) {
    return peers_.CutOff(p, CutOffReason::kTooMany, "too many notes");
  }
  v1::SyncMessage m;
  auto* b = m.mutable_events();
  b->set_push(true);
  std::size_t bytes = 0;
  for (const auto& note : n.notes()) {
    if (bytes > kBatchBytes) break;  // one batch per Want; the rest comes by anti-entropy
    auto author = KeyFrom(note.author());
    if (!author || note.seq() == 0) {
      return peers_.CutOff(p, CutOffReason::kMalformed, "malformed note");
    }
    auto events = store_.EventsOf(*author, note.seq(), kWantEventsPerAuthor);
    if (!events) continue;
    for (const auto& e : *events) {
      if (bytes > kBatchBytes) break;
      b->add_events(e.data(), e.size());
      bytes += e.size();
    }
  }
  if (b->events_size() > 0) {
    stats_.events_sent += static_cast<std::uint64_t>(b->events_size());
    peers_.Send(p, m);
  }
}

}  // namespace polder::sync
