#include "node/sync/syncer.h"

#include <algorithm>
#include <limits>

#include "storage/rulebook/decode.h"

namespace polder::sync {
namespace {

// Our own events passed the gate already: no clock skew to check when reading their id back.
constexpr std::int64_t kNoSkewCheckMs = std::numeric_limits<std::int64_t>::max() / 2;

}  // namespace

Syncer::Syncer(EventStore& store, Options options)
    : store_(store),
      clock_(std::move(options.clock)),
      catch_up_(store_, peers_, holdings_, stats_, options.initial_credit,
                [this] { return Now(); }),
      push_(store_, peers_, holdings_, stats_, [this] { return Now(); }),
      announcer_(store_, peers_, stats_,
                 Announcer::Options{options.identity, std::move(options.listen_addresses),
                                    options.now_ms, options.seed, clock_},
                 on_peer_announced),
      pipeline_(
          store_, peers_, holdings_, catch_up_, push_, stats_, std::move(options.now_ms),
          [this] { return Now(); }, Pipeline::Hooks{on_event_stored, on_stored, on_progress}) {
  pipeline_.set_schedule_flush(std::move(options.schedule_flush));
  pipeline_.set_offload(std::move(options.offload));
}

std::chrono::steady_clock::time_point Syncer::Now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::time_point{};
}

Status Syncer::Load() { return holdings_.Load(store_); }

std::vector<PeerId> Syncer::peers() const {
  std::vector<PeerId> out;
  for (const auto& [id, p] : peers_) out.push_back(id);
  return out;
}

std::size_t Syncer::known_authors(PeerId peer) const {
  const Peer* p = peers_.Find(peer);
  return p ? p->known.heads.size() : 0;
}

std::optional<MemberKey> Syncer::member_of(PeerId peer) const {
  const Peer* p = peers_.Find(peer);
  if (!p) return std::nullopt;
  return p->member;
}

PeerId Syncer::AddPeer(const MemberKey& member, std::shared_ptr<Link> link) {
  const PeerId id = peers_.Add(member, std::move(link));
  Peer& p = *peers_.Find(id);
  SendHello(p, /*reply=*/true, catch_up_.Added(id, p));
  announcer_.Greet(p);
  return id;
}

void Syncer::RemovePeer(PeerId peer) {
  const Peer* gone = peers_.Find(peer);
  if (!gone) return;
  const bool was_eager = !gone->push.pruned;
  peers_.Remove(peer);
  push_.Removed(was_eager, catch_up_.source());
  catch_up_.Removed(peer);
}

void Syncer::OnMessage(PeerId id, ByteView message) {
  Peer* found = peers_.Find(id);
  if (!found || found->cut_off) return;  // nothing more from a peer being cut off
  Peer& p = *found;
  stats_.bytes_in += message.size();
  v1::SyncMessage m;
  if (!m.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    return peers_.CutOff(p, CutOffReason::kMalformed, "malformed sync message");
  }
  switch (m.msg_case()) {
    case v1::SyncMessage::kHello: return OnHello(p, m.hello());
    case v1::SyncMessage::kVector: return OnVector(p, m.vector());
    case v1::SyncMessage::kEvents: return pipeline_.OnEvents(id, p, m.events());
    case v1::SyncMessage::kCredit: return catch_up_.OnCredit(p, m.credit().bytes());
    case v1::SyncMessage::kPeers: return announcer_.OnPeers(p, m.peers());
    case v1::SyncMessage::kPrune: return push_.OnAuthors(p, m.prune(), /*prune=*/true);
    case v1::SyncMessage::kGraft: return push_.OnAuthors(p, m.graft(), /*prune=*/false);
    case v1::SyncMessage::kHave: return push_.OnHave(id, p, m.have());
    case v1::SyncMessage::kWant: return push_.OnWant(p, m.want());
    // A message type of a later version (the frame bounds its size): ignored and counted, so
    // that an upgraded peer keeps its session (docs/protocol.md §12 "Forward compatibility").
    default: ++stats_.messages_ignored; return;
  }
}

void Syncer::SendHello(Peer& p, bool reply, std::uint64_t credit) {
  v1::SyncMessage m;
  auto* h = m.mutable_hello();
  h->set_version(kSyncVersion);
  const Digest32 d = holdings_.vector().Digest();
  h->set_vector_digest(d.str());
  h->set_events_held(holdings_.held());
  h->set_reply(reply);
  h->set_credit_bytes(credit);
  peers_.Send(p, m);
}

void Syncer::Probe(PeerId peer) {
  if (Peer* p = peers_.Find(peer)) SendHello(*p, /*reply=*/false, 0);
}

void Syncer::OnHello(Peer& p, const v1::Hello& h) {
  if (h.version() != kSyncVersion) {
    return peers_.CutOff(p, CutOffReason::kVersion,
                         "sync protocol version " + std::to_string(h.version()) + " not supported");
  }
  if (h.vector_digest().size() != 32) {
    return peers_.CutOff(p, CutOffReason::kMalformed, "hello without a vector digest");
  }
  const bool greeting = !p.greeted;
  // Credit comes with the greeting and in Credit messages; a later Hello (anti-entropy) grants
  // none, or a peer could grant itself restreams of the whole log with a few bytes of Hellos.
  if (greeting) catch_up_.GrantedInHello(p, h.credit_bytes());
  p.greeted = true;
  if (!h.reply()) SendHello(p, /*reply=*/true, 0);
  if (h.vector_digest() != holdings_.vector().Digest().str()) {
    // Anti-entropy (not the greeting): events pushed a moment ago may still be on their way,
    // and a full vector each way costs more than the events. Vectors go only when the
    // previous exchange also found a difference; the prober checks again kRecheckWait later.
    const auto now = Now();
    if (greeting || (p.mismatch_at && now - *p.mismatch_at <= kMismatchMemory)) {
      p.mismatch_at.reset();
      p.recheck_at.reset();
      peers_.Send(p, VectorMessage(holdings_.vector()));
    } else {
      p.mismatch_at = now;
      if (h.reply()) p.recheck_at = now + kRecheckWait;  // the answer to our probe
    }
  } else {
    // In sync: it holds what we hold.
    p.mismatch_at.reset();
    p.recheck_at.reset();
    p.known = holdings_.vector();
    p.noted_base.clear();
    p.have_vector = true;
    catch_up_.PickSource();
  }
}

void Syncer::OnVector(Peer& p, const v1::Vector& v) {
  storage::VersionVector theirs;
  for (const auto& h : v.heads()) {
    auto author = KeyFrom(h.author());
    auto head = EventId::FromBytes(AsBytes(h.head()));
    if (!author || !head || h.seq() == 0) {
      return peers_.CutOff(p, CutOffReason::kMalformed, "malformed vector entry");
    }
    auto& e = theirs.heads[*author];
    e.seq = h.seq();
    e.id = *head;
    e.forked = h.forked();
  }
  p.known = std::move(theirs);
  p.noted_base.clear();
  p.have_vector = true;
  // Our last anti-entropy exchange with it found a difference too: it learns our vector as well.
  if (p.mismatch_at) {
    p.mismatch_at.reset();
    p.recheck_at.reset();
    peers_.Send(p, VectorMessage(holdings_.vector()));
  }
  SendForkProofs(p);
  catch_up_.PickSource();
  if (on_progress) on_progress();
  catch_up_.StreamFromStart(p);
}

void Syncer::SendForkProofs(Peer& p) {
  // Proofs of forks travel first, so every node learns of a forked author.
  for (const auto& [author, head] : holdings_.vector().heads) {
    auto it = p.known.heads.find(author);
    const bool they_know = it != p.known.heads.end() && it->second.forked;
    const bool differ_here =
        it != p.known.heads.end() && it->second.seq == head.seq && it->second.id != head.id;
    std::vector<Bytes> proof;
    if (head.forked && !they_know) {
      auto fp = store_.ForkProof(author);
      if (fp) proof = std::move(*fp);
    } else if (differ_here) {  // two versions of one event: ours proves the fork to them
      auto ev = store_.EventBytes(head.id);
      if (ev && *ev) proof.push_back(std::move(**ev));
    }
    if (proof.empty()) continue;
    v1::SyncMessage m;
    auto* b = m.mutable_events();
    b->set_push(true);
    for (const auto& e : proof) b->add_events(e.data(), e.size());
    stats_.events_sent += proof.size();
    peers_.Send(p, m);
  }
}

void Syncer::Pump() { catch_up_.Pump(); }

void Syncer::Flush() { pipeline_.Flush(); }

void Syncer::Tick() {
  const auto now = Now();
  for (auto& [id, p] : peers_) {
    if (!p.push.have_out.empty()) push_.SendNotes(p);
    if (p.recheck_at && *p.recheck_at <= now) {
      p.recheck_at.reset();
      SendHello(p, /*reply=*/false, 0);
    }
  }
  push_.AskForMissing(now);
  catch_up_.CheckStall();
}

void Syncer::OnLocalEvent(ByteView event, const MemberKey& author, std::uint64_t seq) {
  auto decoded = rulebook::Decode(event, kNoSkewCheckMs);
  if (!decoded) return;
  holdings_.Authored(author, seq, decoded->id);
  ++stats_.events_authored;
  push_.Push(std::nullopt, event, author, seq, decoded->id);
}

}  // namespace polder::sync
