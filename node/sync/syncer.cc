#include "node/sync/syncer.h"

#include <algorithm>
#include <thread>

#include "storage/event.h"
#include "storage/limits.h"

namespace polder::sync {
namespace {

std::optional<MemberKey> KeyFrom(const std::string& bytes) {
  return MemberKey::FromBytes(AsBytes(bytes));
}

// Refusals no honest node would pass on: it stores only events that pass these checks.
bool Hostile(storage::RefusalCode code) {
  switch (code) {
    case storage::RefusalCode::kTooLarge:
    case storage::RefusalCode::kMalformed:
    case storage::RefusalCode::kBadSignature:
    case storage::RefusalCode::kWrongCircle:
    case storage::RefusalCode::kBadCharter: return true;
    default: return false;
  }
}

}  // namespace

const char* ToString(CutOffReason reason) {
  switch (reason) {
    case CutOffReason::kMalformed: return "malformed";
    case CutOffReason::kUnknownMessage: return "unknown_message";
    case CutOffReason::kVersion: return "version";
    case CutOffReason::kTooMany: return "too_many";
    case CutOffReason::kBeyondCredit: return "beyond_credit";
    case CutOffReason::kInvalidEvent: return "invalid_event";
    case CutOffReason::kBadAnnouncement: return "bad_announcement";
  }
  return "unknown";
}

const char* MessageName(const v1::SyncMessage& m) {
  switch (m.msg_case()) {
    case v1::SyncMessage::kHello: return "hello";
    case v1::SyncMessage::kVector: return "vector";
    case v1::SyncMessage::kEvents: return m.events().push() ? "push" : "batch";
    case v1::SyncMessage::kCredit: return "credit";
    case v1::SyncMessage::kPeers: return "peers";
    case v1::SyncMessage::kPrune: return "prune";
    case v1::SyncMessage::kGraft: return "graft";
    case v1::SyncMessage::kHave: return "have";
    case v1::SyncMessage::kWant: return "want";
    default: return "unknown";
  }
}

Result<v1::Announcement> OpenAnnouncement(const v1::SignedAnnouncement& sa) {
  v1::Announcement a;
  if (sa.body().size() > kMaxAnnouncementBytes || !a.ParseFromString(sa.body())) {
    return Fail(Errc::kInvalidArgument, "malformed announcement");
  }
  auto member = KeyFrom(a.member());
  if (!member) return Fail(Errc::kInvalidArgument, "announcement without a member key");
  if (!crypto::Verify(*member, kAnnounceContext, AsBytes(sa.body()), AsBytes(sa.signature()))) {
    return Fail(Errc::kRefused, "announcement signature does not verify");
  }
  if (a.addresses_size() > static_cast<int>(kMaxAddressesPerAnnouncement)) {
    return Fail(Errc::kLimit, "announcement lists too many addresses");
  }
  for (const auto& addr : a.addresses()) {
    if (addr.empty() || addr.size() > kMaxAddressBytes)
      return Fail(Errc::kInvalidArgument, "bad address");
  }
  return a;
}

Syncer::Syncer(EventStore& store, Options options) : store_(store), opt_(std::move(options)) {}

Status Syncer::Load() {
  beyond_gap_.clear();
  auto v = store_.Vector(&beyond_gap_);
  if (!v) return Unexpected<Error>{v.error()};
  local_ = std::move(*v);
  auto n = store_.EventCount();
  if (!n) return Unexpected<Error>{n.error()};
  held_ = *n;
  return {};
}

std::uint64_t Syncer::Expected() const {
  std::uint64_t most = 0;
  for (const auto& [id, p] : peers_) {
    if (p.have_vector) most = std::max(most, p.known.AheadOf(local_));
  }
  return most;
}

std::vector<PeerId> Syncer::peers() const {
  std::vector<PeerId> out;
  for (const auto& [id, p] : peers_) out.push_back(id);
  return out;
}

std::size_t Syncer::known_authors(PeerId peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.known.heads.size();
}

std::optional<MemberKey> Syncer::member_of(PeerId peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  return it->second.member;
}

void Syncer::set_listen_addresses(std::vector<std::string> a) {
  if (a == opt_.listen_addresses) return;
  opt_.listen_addresses = std::move(a);
  own_announcement_.clear();
}

Bytes Syncer::Announcement() {
  if (!opt_.identity) return {};
  if (!own_announcement_.empty()) return own_announcement_;
  v1::Announcement a;
  a.set_member(opt_.identity->public_key().str());
  for (const auto& addr : opt_.listen_addresses) a.add_addresses(addr);
  a.set_timestamp_ms(opt_.now_ms ? opt_.now_ms() : 0);
  if (auto c = store_.circle()) a.set_circle_id(c->str());
  v1::SignedAnnouncement sa;
  sa.set_body(a.SerializeAsString());
  const auto sig = opt_.identity->Sign(kAnnounceContext, AsBytes(sa.body()));
  sa.set_signature(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
  const std::string s = sa.SerializeAsString();
  own_announcement_.assign(s.begin(), s.end());
  return own_announcement_;
}

PeerId Syncer::AddPeer(const MemberKey& member, std::shared_ptr<Link> link) {
  const PeerId id = next_id_++;
  Peer& p = peers_[id];
  p.member = member;
  p.link = std::move(link);
  const std::uint64_t credit = source_ ? 0 : opt_.initial_credit;
  if (!source_) source_ = id;
  p.credit_in = credit;
  SendHello(p, /*reply=*/true, credit);
  // Tell the peer where we (and the members we know of) can be reached.
  v1::SyncMessage m;
  auto* list = m.mutable_peers();
  if (opt_.identity && !opt_.listen_addresses.empty()) {
    const Bytes own = Announcement();
    list->add_announcements()->ParseFromArray(own.data(), static_cast<int>(own.size()));
  }
  // Only a sample of the peer table: the whole table at N = 64 is about 15 KB per side of every
  // new session, almost all of it known to the peer already.
  if (auto known = store_.Peers()) {
    std::vector<const PeerRecord*> others;
    for (const auto& sp : *known) {
      if (opt_.identity && sp.member == opt_.identity->public_key()) continue;
      others.push_back(&sp);
    }
    if (others.size() > kGreetingAnnouncements) {
      std::shuffle(others.begin(), others.end(), rng_);
      others.resize(kGreetingAnnouncements);
    }
    for (const auto* sp : others) {
      list->add_announcements()->ParseFromArray(sp->announcement.data(),
                                                static_cast<int>(sp->announcement.size()));
    }
  }
  if (list->announcements_size() > 0) Send(p, m);
  return id;
}

void Syncer::RemovePeer(PeerId peer) {
  auto gone = peers_.find(peer);
  if (gone == peers_.end()) return;
  const bool was_eager = !gone->second.pruned;
  peers_.erase(gone);
  // The last link that pushed to us is gone: graft one of the pruned ones, rather than wait for
  // a Have note and kHaveWait on every event.
  if (was_eager && !peers_.empty() && EagerLinks(std::nullopt) == 0) {
    SendAuthors(source_ && peers_.count(*source_) ? *source_ : peers_.begin()->first, {}, false);
  }
  if (source_ == peer) {
    source_.reset();
    PickSource();
  }
}

std::uint64_t Syncer::Lead(const Peer& p) const {
  if (p.noted_base.empty()) return p.known.AheadOf(local_);
  std::uint64_t lead = 0;
  for (const auto& [author, head] : p.known.heads) {
    std::uint64_t seq = head.seq;
    auto nb = p.noted_base.find(author);
    if (nb != p.noted_base.end()) seq = std::min(seq, nb->second);
    const std::uint64_t ours = local_.SeqOf(author);
    if (seq > ours) lead += seq - ours;
  }
  return lead;
}

void Syncer::PickSource() {
  if (source_) {
    auto it = peers_.find(*source_);
    if (it != peers_.end() && (!it->second.have_vector || Lead(it->second) > 0)) {
      return;  // still has more for us (or has not told us yet)
    }
  }
  Peer* best = nullptr;
  PeerId best_id = 0;
  std::uint64_t most = 0;
  for (auto& [id, p] : peers_) {
    if (!p.have_vector || (source_ && id == *source_)) continue;
    const std::uint64_t ahead = Lead(p);
    if (ahead > most) {
      most = ahead;
      best = &p;
      best_id = id;
    }
  }
  if (!best) return;  // the current source (if any) stays; nobody holds more
  source_ = best_id;
  // It streams from what we hold now, not from what we held when we last told it.
  SendVector(*best);
  best->credit_in += opt_.initial_credit;
  v1::SyncMessage m;
  m.mutable_credit()->set_bytes(opt_.initial_credit);
  Send(*best, m);
}

void Syncer::Send(Peer& p, const v1::SyncMessage& m) {
  const std::string s = m.SerializeAsString();
  stats_.bytes_out += s.size();
  stats_.bytes_out_by_message[MessageName(m)] += s.size();
  p.link->Send(Bytes(s.begin(), s.end()));
}

void Syncer::SendHello(Peer& p, bool reply, std::uint64_t credit) {
  v1::SyncMessage m;
  auto* h = m.mutable_hello();
  h->set_version(kSyncVersion);
  const Digest32 d = local_.Digest();
  h->set_vector_digest(d.str());
  h->set_events_held(held_);
  h->set_reply(reply);
  h->set_credit_bytes(credit);
  Send(p, m);
}

void Syncer::SendVector(Peer& p) {
  v1::SyncMessage m;
  auto* v = m.mutable_vector();
  for (const auto& [author, head] : local_.heads) {
    auto* h = v->add_heads();
    h->set_author(author.str());
    h->set_seq(head.seq);
    h->set_head(head.id.str());
    h->set_forked(head.forked);
  }
  Send(p, m);
}

void Syncer::Probe(PeerId peer) {
  auto it = peers_.find(peer);
  if (it != peers_.end()) SendHello(it->second, /*reply=*/false, 0);
}

void Syncer::OnMessage(PeerId id, ByteView message) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  stats_.bytes_in += message.size();
  v1::SyncMessage m;
  if (!m.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    return CutOff(p, CutOffReason::kMalformed, "malformed sync message");
  }
  switch (m.msg_case()) {
    case v1::SyncMessage::kHello: return OnHello(p, m.hello());
    case v1::SyncMessage::kVector: return OnVector(p, m.vector());
    case v1::SyncMessage::kEvents: return OnEvents(id, p, m.events());
    case v1::SyncMessage::kCredit: p.credit_out += m.credit().bytes(); return Stream(p);
    case v1::SyncMessage::kPeers: return OnPeers(p, m.peers());
    case v1::SyncMessage::kPrune: return OnAuthors(p, m.prune(), true);
    case v1::SyncMessage::kGraft: return OnAuthors(p, m.graft(), false);
    case v1::SyncMessage::kHave: return OnHave(id, p, m.have());
    case v1::SyncMessage::kWant: return OnWant(p, m.want());
    default: return CutOff(p, CutOffReason::kUnknownMessage, "unknown sync message");
  }
}

void Syncer::OnHello(Peer& p, const v1::Hello& h) {
  if (h.version() != kSyncVersion) {
    return CutOff(p, CutOffReason::kVersion,
                  "sync protocol version " + std::to_string(h.version()) + " not supported");
  }
  if (h.vector_digest().size() != 32) {
    return CutOff(p, CutOffReason::kMalformed, "hello without a vector digest");
  }
  p.credit_out += std::min<std::uint64_t>(h.credit_bytes(), kMaxHelloCreditBytes);
  const bool greeting = !p.greeted;
  p.greeted = true;
  if (!h.reply()) SendHello(p, /*reply=*/true, 0);
  if (h.vector_digest() != local_.Digest().str()) {
    // Anti-entropy (not the greeting): events pushed a moment ago may still be on their way,
    // and a full vector each way costs more than the events. Vectors go only when the
    // previous exchange also found a difference; the prober checks again kRecheckWait later.
    const auto now = Now();
    if (greeting || (p.mismatch_at && now - *p.mismatch_at <= kMismatchMemory)) {
      p.mismatch_at.reset();
      p.recheck_at.reset();
      SendVector(p);
    } else {
      p.mismatch_at = now;
      if (h.reply()) p.recheck_at = now + kRecheckWait;  // the answer to our probe
    }
  } else {
    // In sync: it holds what we hold.
    p.mismatch_at.reset();
    p.recheck_at.reset();
    p.known = local_;
    p.noted_base.clear();
    p.have_vector = true;
    PickSource();
  }
}

void Syncer::OnVector(Peer& p, const v1::Vector& v) {
  storage::VersionVector theirs;
  for (const auto& h : v.heads()) {
    auto author = KeyFrom(h.author());
    auto head = EventId::FromBytes(AsBytes(h.head()));
    if (!author || !head || h.seq() == 0) {
      return CutOff(p, CutOffReason::kMalformed, "malformed vector entry");
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
    SendVector(p);
  }
  // Proofs of forks travel first, so every node learns of a forked author.
  for (const auto& [author, head] : local_.heads) {
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
    Send(p, m);
  }
  PickSource();
  if (on_progress) on_progress();
  if (local_.AheadOf(p.known) > 0) {
    p.streaming = true;
    p.cursor = {};
    Stream(p);
  } else {
    p.streaming = false;
  }
}

void Syncer::Stream(Peer& p) {
  while (p.streaming && p.credit_out > 0 && p.link->queued_bytes() < kPushQueueLimitBytes) {
    const std::size_t max_bytes =
        static_cast<std::size_t>(std::min<std::uint64_t>(kBatchBytes, p.credit_out));
    auto page = store_.ReadEvents(
        p.cursor, kBatchEvents, max_bytes,
        [&](const MemberKey& author, std::uint64_t seq) { return p.known.SeqOf(author) >= seq; });
    if (!page) {
      p.streaming = false;
      return;
    }
    p.cursor = page->next;
    if (!page->events.empty()) {
      v1::SyncMessage m;
      auto* b = m.mutable_events();
      for (std::size_t i = 0; i < page->events.size(); ++i) {
        b->add_events(page->events[i].data(), page->events[i].size());
        const auto& [author, seq] = page->keys[i];
        auto& k = p.known.heads[author];
        if (seq == k.seq + 1) k.seq = seq;  // the id is not needed for skipping
      }
      p.credit_out -= std::min<std::uint64_t>(p.credit_out, page->bytes);
      stats_.events_sent += page->events.size();
      Send(p, m);
    }
    if (page->end) p.streaming = false;
  }
}

void Syncer::Pump() {
  for (auto& [id, p] : peers_) Stream(p);
}

void Syncer::Advance(storage::VersionVector& v, const MemberKey& author, std::uint64_t seq,
                     const EventId& id) {
  auto& head = v.heads[author];
  if (seq == head.seq + 1) {
    head.seq = seq;
    head.id = id;
  }
}

void Syncer::OnEvents(PeerId from, Peer& p, const v1::EventBatch& b) {
  if (b.events_size() == 0) return;
  if (static_cast<std::size_t>(b.events_size()) > kMaxBatchEventsIn) {
    return CutOff(p, CutOffReason::kTooMany,
                  "event batch of " + std::to_string(b.events_size()) + " events");
  }
  // Credit counts the events' bytes (what the sender's pages count), not the message around
  // them: counted in different units, the two sides drifted apart by a few bytes per event, and
  // a slow receiver cut off an honest source once the source used its last credit.
  std::uint64_t event_bytes = 0;
  for (const auto& e : b.events()) event_bytes += e.size();
  if (!b.push()) {
    // A page may pass the credit by the one event that crosses it.
    if (event_bytes > p.credit_in + storage::kMaxEventBytes) {
      return CutOff(p, CutOffReason::kBeyondCredit, "sent beyond its credit");
    }
    p.credit_in -= std::min<std::uint64_t>(p.credit_in, event_bytes);
  }
  Inbound in{from, b.push(), {}, b.push() ? 0 : event_bytes};
  in.events.reserve(static_cast<std::size_t>(b.events_size()));
  for (const auto& e : b.events()) in.events.emplace_back(e.begin(), e.end());
  inbox_events_ += in.events.size();
  inbox_.push_back(std::move(in));
  stats_.events_received += static_cast<std::uint64_t>(b.events_size());
  if (!opt_.schedule_flush) {
    Flush();
  } else if (!flush_scheduled_) {
    flush_scheduled_ = true;
    opt_.schedule_flush();
  }
}

std::shared_ptr<Syncer::Job> Syncer::TakeInbox() {
  // Whole received batches, in arrival order, up to about kGroupBytes.
  auto job = std::make_shared<Job>();
  std::size_t bytes = 0;
  while (!inbox_.empty() && (job->events.empty() || bytes < kGroupBytes)) {
    Inbound& in = inbox_.front();
    for (auto& e : in.events) {
      bytes += e.size();
      job->from.push_back(in.from);
      job->push.push_back(in.push);
      job->events.push_back(std::move(e));
    }
    if (in.credit > 0) job->credits.push_back(CreditDue{in.from, in.credit});
    inbox_events_ -= in.events.size();
    inbox_.pop_front();
  }
  job->now_ms = opt_.now_ms ? opt_.now_ms() : 0;
  return job;
}

void Syncer::Flush() {
  flush_scheduled_ = false;
  // While a group is being verified elsewhere, what arrives waits: groups commit in the order
  // they arrived, and the verification's completion flushes again.
  while (!verifying_ && !inbox_.empty()) {
    auto job = TakeInbox();
    if (Offloadable(*job)) {
      Offload(std::move(job));
    } else {
      VerifyHere(*job);
      Commit(*job);
    }
  }
}

bool Syncer::Offloadable(const Job& job) const {
  return opt_.offload && job.events.size() >= kOffloadMinEvents;
}

void Syncer::VerifyHere(Job& job) {
  // The stateless half of the gate (parse, checks, signature, id) on every core; the stateful
  // half (Commit) on this thread, in one transaction.
  job.decoded = storage::DecodeBatch(job.events, job.now_ms,
                                     std::max(1u, std::thread::hardware_concurrency()));
}

void Syncer::Offload(std::shared_ptr<Job> job) {
  // Pipeline: this group is verified on another thread (and every core) while this thread goes
  // on receiving and commits the group before it.
  verifying_ = true;
  ++stats_.batches_offloaded;
  opt_.offload(
      [job] {
        job->decoded = storage::DecodeBatch(job->events, job->now_ms,
                                            std::max(1u, std::thread::hardware_concurrency()));
      },
      [this, job, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.lock()) return;  // the syncer is gone; the group was never credited
        verifying_ = false;
        // The next group starts its verification before this one commits (they overlap); a
        // group too small to send away is verified after this one commits, to keep the order.
        std::shared_ptr<Job> next;
        if (!inbox_.empty()) {
          next = TakeInbox();
          if (Offloadable(*next)) {
            Offload(std::move(next));
            next.reset();
          }
        }
        Commit(*job);
        if (next) {
          VerifyHere(*next);
          Commit(*next);
        }
        Flush();
      });
}

void Syncer::Commit(Job& job) {
  auto results = store_.IngestDecoded(std::move(job.decoded), job.now_ms);
  job.decoded.clear();
  const auto& credits = job.credits;
  if (!results) {
    // Our own failure (disk, database): nothing was stored; the senders are not to blame, and
    // anti-entropy brings the events again.
    for (const auto& c : credits) {
      auto it = peers_.find(c.to);
      if (it != peers_.end()) it->second.link->Close("replica error: " + results.error().message);
    }
    return;
  }
  ++stats_.batches_committed;
  std::size_t stored = 0;
  std::map<PeerId, std::string> hostile;
  std::map<PeerId, std::set<MemberKey>> prune, graft;
  for (std::size_t i = 0; i < results->size(); ++i) {
    const auto& r = (*results)[i];
    const PeerId from = job.from[i];
    auto pit = peers_.find(from);
    Peer* p = pit == peers_.end() ? nullptr : &pit->second;
    switch (r.outcome) {
      case IngestOutcome::kRefused:
        ++stats_.refused;
        ++stats_.refused_by_reason[r.refusal ? storage::ToString(r.refusal->code) : "unknown"];
        if (r.refusal && Hostile(r.refusal->code) && !hostile.count(from)) {
          hostile[from] =
              std::string(storage::ToString(r.refusal->code)) + ": " + r.refusal->message;
        }
        continue;
      case IngestOutcome::kDuplicate:
        ++stats_.duplicates;
        if (p) Advance(p->known, r.author, r.seq, r.id);
        // A pushed copy of what we already hold: another peer delivers this author's events
        // first, so this one may stop pushing them (Scuttlebutt's epidemic broadcast trees).
        if (p && job.push[i]) prune[from];  // the whole link: see OnAuthors
        continue;
      case IngestOutcome::kEquivocation: {
        auto& head = local_.heads[r.author];
        head.forked = true;
        if (r.seq == head.seq && r.id < head.id) head.id = r.id;
        break;
      }
      case IngestOutcome::kStored: {  // applied, pending, void: new to this replica
        auto& head = local_.heads[r.author];
        if (r.seq == head.seq + 1) {
          head.seq = r.seq;
          head.id = r.id;
          // Events held past a gap join the run once it closes.
          auto bg = beyond_gap_.find(r.author);
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
        } else if (r.seq > head.seq + 1) {
          beyond_gap_[r.author][r.seq] = r.id;
        }
        if (head.seq == 0) local_.heads.erase(r.author);
        break;
      }
    }
    ++stored;
    ++held_;
    ++stats_.events_stored;
    if (on_event_stored) on_event_stored(r.id, job.events[i].size());
    if (p) Advance(p->known, r.author, r.seq, r.id);
    // New to us yet not pushed: repair found a gap in the push tree; have this peer push the
    // author's events to us again.
    if (p && !job.push[i]) graft[from].insert(r.author);
    Push(from, job.events[i], r.author, r.seq, r.id);
  }
  // The pending set's bounds may have evicted events (this batch's or older ones): the replica
  // no longer holds them, so the vector must not claim them, or no peer would send them again.
  for (const auto& [author, n] : store_.TakeEvicted()) {
    held_ -= std::min<std::uint64_t>(held_, n);
    std::map<std::uint64_t, EventId> beyond;
    auto head = store_.VectorOf(author, &beyond);
    if (!head) continue;  // read error: anti-entropy and the next Load() set it right
    if (head->seq == 0) {
      local_.heads.erase(author);
    } else {
      local_.heads[author] = *head;
    }
    if (beyond.empty()) {
      beyond_gap_.erase(author);
    } else {
      beyond_gap_[author] = std::move(beyond);
    }
  }
  // Committed: each sender of a catch-up batch may send as much again.
  for (const auto& c : credits) {
    auto it = peers_.find(c.to);
    if (it == peers_.end() || hostile.count(c.to)) continue;
    it->second.credit_in += c.bytes;
    v1::SyncMessage m;
    m.mutable_credit()->set_bytes(c.bytes);
    Send(it->second, m);
  }
  for (auto& [id, authors] : prune) {
    // Never the last link that pushes to us: without one, every event would wait for a Have
    // note and kHaveWait (and the catch-up a Have note starts).
    if (!hostile.count(id) && EagerLinks(id) > 0) SendAuthors(id, authors, true);
  }
  for (auto& [id, authors] : graft) {
    if (!hostile.count(id)) SendAuthors(id, authors, false);
  }
  if (stored > 0 && on_stored) on_stored(stored);
  for (const auto& [id, why] : hostile) {
    auto it = peers_.find(id);
    if (it != peers_.end()) {
      CutOff(it->second, CutOffReason::kInvalidEvent, "sent an invalid event (" + why + ")");
    }
  }
  PickSource();
  if (on_progress) on_progress();
}

void Syncer::Push(std::optional<PeerId> from, ByteView event, const MemberKey& author,
                  std::uint64_t seq, const EventId& id) {
  for (auto& [pid, q] : peers_) {
    if (from && pid == *from) continue;
    if (q.known.SeqOf(author) >= seq) continue;  // it has it (as far as we know)
    if (q.lazy_all || q.lazy.count(author)) {
      // It gets these events elsewhere: tell it only that we hold this one (lazy push), with
      // the other notes for it on the next Tick.
      if (q.have_out.size() >= kMaxNotesPerMessage && !q.have_out.count(author)) SendHaves(q);
      auto& note = q.have_out[author];
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
    Send(q, m);
  }
}

void Syncer::SendAuthors(PeerId to, const std::set<MemberKey>& authors, bool prune) {
  auto it = peers_.find(to);
  if (it == peers_.end()) return;  // (an empty list means the whole link)
  v1::SyncMessage m;
  auto* a = prune ? m.mutable_prune() : m.mutable_graft();
  for (const auto& k : authors) a->add_authors(k.str());
  if (prune) ++stats_.prunes_sent;
  // Both ways (Plumtree): a pruned link carries notes in both directions, a grafted one pushes
  // in both, so the links that push form one undirected tree rather than one-way paths that
  // can leave a group of nodes pushing only to each other.
  if (prune && authors.empty()) it->second.pruned = it->second.lazy_all = true;
  if (!prune) it->second.pruned = it->second.lazy_all = false;
  Send(it->second, m);
}

std::size_t Syncer::EagerLinks(std::optional<PeerId> except) const {
  std::size_t n = 0;
  for (const auto& [id, p] : peers_) n += !p.pruned && id != except;
  return n;
}

void Syncer::OnAuthors(Peer& p, const v1::Authors& a, bool prune) {
  if (static_cast<std::size_t>(a.authors_size()) > kMaxNotesPerMessage) {
    return CutOff(p, CutOffReason::kTooMany, "prune or graft of too many authors");
  }
  // An empty prune stops every eager push on this link, both ways (the pruner stopped too); any
  // graft starts them again, both ways.
  if (prune && a.authors_size() == 0) p.lazy_all = p.pruned = true;
  if (!prune) p.lazy_all = p.pruned = false;
  for (const auto& bytes : a.authors()) {
    auto k = KeyFrom(bytes);
    if (!k) return CutOff(p, CutOffReason::kMalformed, "malformed author in prune or graft");
    if (prune) {
      if (p.lazy.size() < kMaxLazyAuthorsPerPeer) p.lazy.insert(*k);
    } else {
      p.lazy.erase(*k);
    }
  }
}

void Syncer::OnHave(PeerId id, Peer& p, const v1::Notes& n) {
  if (static_cast<std::size_t>(n.notes_size()) > kMaxNotesPerMessage) {
    return CutOff(p, CutOffReason::kTooMany, "too many notes");
  }
  const auto deadline = Now() + kHaveWait;
  for (const auto& note : n.notes()) {
    auto author = KeyFrom(note.author());
    if (!author || note.seq() == 0) return CutOff(p, CutOffReason::kMalformed, "malformed note");
    // Each message is bounded, but notes about authors nobody here holds would otherwise add up
    // across messages: what we track for this peer stays within our own authors plus one
    // message's worth. An honest peer's vector (the greeting, anti-entropy) sets it right.
    if (!p.known.heads.count(*author) && !local_.heads.count(*author) &&
        p.known.heads.size() >= local_.heads.size() + kMaxNotesPerMessage) {
      ++stats_.notes_ignored;
      continue;
    }
    const std::uint64_t before = p.known.SeqOf(*author);
    Advance(p.known, *author, note.seq(), EventId{});
    if (p.known.SeqOf(*author) > before) p.noted_base.try_emplace(*author, before);
    if (local_.SeqOf(*author) >= note.seq()) continue;
    if (missing_.size() >= kMaxMissingAuthors && !missing_.count(*author))
      continue;  // repair later
    auto [it, added] = missing_.try_emplace(*author, Missing{note.seq(), id, deadline});
    if (!added && note.seq() > it->second.seq) it->second.seq = note.seq();
  }
}

void Syncer::SendHaves(Peer& p) {
  v1::SyncMessage m;
  auto* notes = m.mutable_have();
  for (const auto& [author, seq] : p.have_out) {
    if (p.known.SeqOf(author) >= seq) continue;  // it got the event meanwhile
    auto* note = notes->add_notes();
    note->set_author(author.str());
    note->set_seq(seq);
  }
  p.have_out.clear();
  if (notes->notes_size() > 0) Send(p, m);
}

void Syncer::Tick() {
  const auto now = Now();
  for (auto& [id, p] : peers_) {
    if (!p.have_out.empty()) SendHaves(p);
    if (p.recheck_at && *p.recheck_at <= now) {
      p.recheck_at.reset();
      SendHello(p, /*reply=*/false, 0);
    }
  }
  std::map<PeerId, std::vector<std::pair<MemberKey, std::uint64_t>>> want;
  for (auto it = missing_.begin(); it != missing_.end();) {
    const std::uint64_t have = local_.SeqOf(it->first);
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
    if (peers_.count(it->second.from)) want[it->second.from].emplace_back(it->first, have + 1);
    it = missing_.erase(it);
  }
  for (const auto& [id, list] : want) {
    auto& p = peers_.at(id);
    v1::SyncMessage m;
    for (const auto& [author, from] : list) {
      auto* note = m.mutable_want()->add_notes();
      note->set_author(author.str());
      note->set_seq(from);
    }
    Send(p, m);
    SendAuthors(id, {}, false);  // graft the whole link
  }
}

void Syncer::OnWant(Peer& p, const v1::Notes& n) {
  if (static_cast<std::size_t>(n.notes_size()) > kMaxNotesPerMessage) {
    return CutOff(p, CutOffReason::kTooMany, "too many notes");
  }
  v1::SyncMessage m;
  auto* b = m.mutable_events();
  b->set_push(true);
  std::size_t bytes = 0;
  for (const auto& note : n.notes()) {
    if (bytes > kBatchBytes) break;  // one batch per Want; the rest comes by anti-entropy
    auto author = KeyFrom(note.author());
    if (!author || note.seq() == 0) return CutOff(p, CutOffReason::kMalformed, "malformed note");
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
    Send(p, m);
  }
}

void Syncer::OnLocalEvent(ByteView event, const MemberKey& author, std::uint64_t seq) {
  auto decoded = storage::Decode(event, std::numeric_limits<std::int64_t>::max() / 2);
  if (!decoded) return;
  auto& head = local_.heads[author];
  if (seq == head.seq + 1) {
    head.seq = seq;
    head.id = decoded->id;
  }
  ++held_;
  ++stats_.events_authored;
  Push(std::nullopt, event, author, seq, decoded->id);
}

void Syncer::OnPeers(Peer& p, const v1::PeerList& l) {
  if (static_cast<std::size_t>(l.announcements_size()) > kMaxAnnouncementsPerList) {
    return CutOff(p, CutOffReason::kTooMany, "peer list too long");
  }
  for (const auto& sa : l.announcements()) {
    auto a = OpenAnnouncement(sa);
    if (!a) {
      return CutOff(p, CutOffReason::kBadAnnouncement, "bad announcement: " + a.error().message);
    }
    const auto circle = store_.circle();
    if (circle && a->circle_id() != circle->str()) continue;  // another circle's: ignore
    auto member = KeyFrom(a->member());
    if (!member || !store_.IsMember(*member)) continue;  // not (yet) a member here
    if (opt_.identity && *member == opt_.identity->public_key()) continue;
    PeerRecord sp;
    sp.member = *member;
    sp.announced_ms = a->timestamp_ms();
    for (const auto& addr : a->addresses()) sp.addresses += addr + "\n";
    const std::string bytes = sa.SerializeAsString();
    sp.announcement.assign(bytes.begin(), bytes.end());
    auto known = store_.Peers();
    bool newer = true;
    if (known) {
      for (const auto& k : *known) {
        if (k.member == sp.member && k.announced_ms >= sp.announced_ms) newer = false;
      }
    }
    if (!newer) continue;
    if (!store_.PutPeer(sp)) continue;
    if (on_peer_announced) on_peer_announced(sp);
    // Pass news on: every other peer learns where this member can be reached.
    v1::SyncMessage fwd;
    *fwd.mutable_peers()->add_announcements() = sa;
    for (auto& [id, q] : peers_) {
      if (&q != &p) Send(q, fwd);
    }
  }
}

void Syncer::CutOff(Peer& p, CutOffReason why, const std::string& detail) {
  ++stats_.peers_cut_off;
  ++stats_.cut_off_by_reason[ToString(why)];
  p.streaming = false;
  p.link->Close(detail);
}

}  // namespace polder::sync
