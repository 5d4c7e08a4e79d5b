#include "node/sync/peers.h"

#include "node/sync/messages.h"

namespace polder::sync {

const char* ToString(CutOffReason reason) {
  switch (reason) {
    case CutOffReason::kMalformed: return "malformed";
    case CutOffReason::kVersion: return "version";
    case CutOffReason::kTooMany: return "too_many";
    case CutOffReason::kBeyondCredit: return "beyond_credit";
    case CutOffReason::kInvalidEvent: return "invalid_event";
    case CutOffReason::kBadAnnouncement: return "bad_announcement";
    case CutOffReason::kInboxFull: return "inbox_full";
    case CutOffReason::kDuplicates: return "duplicates";
  }
  return "unknown";
}

void Advance(storage::VersionVector& v, const MemberKey& author, std::uint64_t seq,
             const EventId& id) {
  auto& head = v.heads[author];
  if (seq == head.seq + 1) {
    head.seq = seq;
    head.id = id;
  }
}

PeerId Peers::Add(const MemberKey& member, std::shared_ptr<Link> link) {
  const PeerId id = next_id_++;
  Peer& p = peers_[id];
  p.member = member;
  p.link = std::move(link);
  return id;
}

Peer* Peers::Find(PeerId id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

const Peer* Peers::Find(PeerId id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

void Peers::Send(Peer& p, const v1::SyncMessage& m) {
  const std::string s = m.SerializeAsString();
  stats_.bytes_out += s.size();
  stats_.bytes_out_by_message[MessageName(m)] += s.size();
  p.link->Send(Bytes(s.begin(), s.end()));
}

void Peers::CutOff(Peer& p, CutOffReason why, const std::string& detail) {
  if (p.cut_off) return;
  p.cut_off = true;
  ++stats_.peers_cut_off;
  ++stats_.cut_off_by_reason[ToString(why)];
  // Nothing more goes to it; the owner removes it once the session has closed.
  p.catch_up.streaming = false;
  p.link->Close(detail);
}

}  // namespace polder::sync
