#include "node/sync/announce.h"

#include <algorithm>

#include "node/sync/limits.h"
#include "node/sync/messages.h"

namespace polder::sync {
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
    if (addr.empty() || addr.size() > kMaxAddressBytes) {
      return Fail(Errc::kInvalidArgument, "bad address");
    }
  }
  return a;
}

Announcer::Announcer(EventStore& store, Peers& peers, SyncStats& stats, Options options,
                     const Hook& on_announced)
    : store_(store),
      peers_(peers),
      stats_(stats),
      opt_(std::move(options)),
      on_announced_(on_announced) {
  // Both halves of the 64-bit seed count.
  std::seed_seq seq{static_cast<std::uint32_t>(opt_.seed),
                    static_cast<std::uint32_t>(opt_.seed >> 32)};
  rng_.seed(seq);
}

void Announcer::set_listen_addresses(std::vector<std::string> addresses) {
  if (addresses == opt_.listen_addresses) return;
  opt_.listen_addresses = std::move(addresses);
  own_.clear();
}

Bytes Announcer::Own() {
  if (!opt_.identity) return {};
  if (!own_.empty()) return own_;
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
  own_.assign(s.begin(), s.end());
  return own_;
}

void Announcer::Greet(Peer& p) {
  // Tell the peer where we (and the members we know of) can be reached.
  v1::SyncMessage m;
  auto* list = m.mutable_peers();
  if (opt_.identity && !opt_.listen_addresses.empty()) {
    const Bytes own = Own();
    list->add_announcements()->ParseFromArray(own.data(), static_cast<int>(own.size()));
  }
  // Only a sample of the peer table: the whole of it, at 64 members, is about 15 KB per side of
  // every new session, almost all of it known to the peer already.
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
  if (list->announcements_size() > 0) peers_.Send(p, m);
}

void Announcer::OnPeers(Peer& p, const v1::PeerList& l) {
  if (static_cast<std::size_t>(l.announcements_size()) > kMaxAnnouncementsPerList) {
    return peers_.CutOff(p, CutOffReason::kTooMany, "peer list too long");
  }
  for (const auto& sa : l.announcements()) {
    auto a = OpenAnnouncement(sa);
    if (!a) {
      return peers_.CutOff(p, CutOffReason::kBadAnnouncement,
                           "bad announcement: " + a.error().message);
    }
    const auto circle = store_.circle();
    if (circle && a->circle_id() != circle->str()) continue;  // another circle's: ignore
    auto member = KeyFrom(a->member());
    if (!member || !store_.IsMember(*member)) continue;  // not (yet) a member here
    if (opt_.identity && *member == opt_.identity->public_key()) continue;
    if (!held_) {
      held_.emplace();
      if (auto known = store_.Peers()) {
        for (const auto& k : *known) (*held_)[k.member] = k.announced_ms;
      }
    }
    if (auto h = held_->find(*member); h != held_->end() && h->second >= a->timestamp_ms()) {
      continue;  // not newer than the one held
    }
    if (!Spend(*member)) {
      ++stats_.announcements_limited;
      continue;
    }
    PeerRecord sp;
    sp.member = *member;
    sp.announced_ms = a->timestamp_ms();
    for (const auto& addr : a->addresses()) sp.addresses += addr + "\n";
    const std::string bytes = sa.SerializeAsString();
    sp.announcement.assign(bytes.begin(), bytes.end());
    if (!store_.PutPeer(sp)) continue;
    (*held_)[sp.member] = sp.announced_ms;
    if (on_announced_) on_announced_(sp);
    // Pass news on: every other peer learns where this member can be reached.
    v1::SyncMessage fwd;
    *fwd.mutable_peers()->add_announcements() = sa;
    for (auto& [id, q] : peers_) {
      if (&q != &p) peers_.Send(q, fwd);
    }
  }
}

bool Announcer::Spend(const MemberKey& member) {
  if (!opt_.clock) return true;
  const auto now = opt_.clock();
  auto [it, fresh] = allowance_.try_emplace(member);
  Allowance& a = it->second;
  if (!fresh) {
    const double refill = std::chrono::duration<double>(now - a.at) /
                          std::chrono::duration<double>(kAnnouncementInterval);
    a.tokens = std::min(kAnnouncementBurst, a.tokens + std::max(0.0, refill));
  }
  a.at = now;
  if (a.tokens < 1) return false;
  a.tokens -= 1;
  return true;
}

}  // namespace polder::sync
