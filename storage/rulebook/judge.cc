#include "storage/rulebook/judge.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "crypto/member_id.h"
#include "storage/rulebook/checks.h"

namespace polder::rulebook {
namespace {

using v1::EventBody;

std::array<std::uint8_t, 32> Key32(const std::string& bytes) {
  std::array<std::uint8_t, 32> k{};
  std::memcpy(k.data(), bytes.data(), std::min<std::size_t>(bytes.size(), k.size()));
  return k;
}

Verdict Wait(Awaited::What what, const std::string& key, const char* label, std::uint64_t seq = 0) {
  Verdict v;
  v.kind = Verdict::Kind::kWait;
  v.awaited = Awaited{what, Key32(key), label, seq};
  return v;
}

Verdict Void(RefusalCode code, std::string message) {
  Verdict v;
  v.kind = Verdict::Kind::kVoid;
  v.refusal = Refusal{code, std::move(message)};
  return v;
}

Verdict Refuse(RefusalCode code, std::string message) {
  Verdict v;
  v.kind = Verdict::Kind::kRefuse;
  v.refusal = Refusal{code, std::move(message)};
  return v;
}

// A reference to an effective event of `kind`: nullopt when it holds; otherwise the verdict
// (await it until it is placed and has taken effect; void when it is placed but void or not of
// that kind).
std::optional<Verdict> NeedApplied(State& s, const std::string& ref, EventBody::PayloadCase kind,
                                   const char* label) {
  const auto id = EventId::FromBytes(AsBytes(ref));
  const auto applied = id ? s.Applied(*id) : std::nullopt;
  if (!applied || (applied->awaiting && !applied->is_void && applied->kind == kind)) {
    return Wait(Awaited::What::kEvent, ref, label);
  }
  if (applied->is_void || applied->kind != kind) {
    return Void(RefusalCode::kBadReference,
                std::string("refers to an event that is not a ") + label);
  }
  return std::nullopt;
}

// The payload's rules, once the event has its place in its author's log. kWait here means the
// effect waits (the caller makes it kAwait).
Verdict JudgePayload(const EventId& id, const MemberKey& signer, const EventBody& b, State& s) {
  // A device's events act for its member.
  const auto device_of = s.DeviceMember(signer);
  const MemberKey& author = device_of ? *device_of : signer;
  switch (b.payload_case()) {
    case EventBody::kAdmit: {
      const auto member = MemberKey::FromBytes(AsBytes(b.admit().member()));
      if (!member) return Void(RefusalCode::kMalformed, "admitted member key is not 32 bytes");
      const auto record = s.RecordOf(*member);
      Verdict v;
      v.member_record = !record || (!record->chartered && id < record->event);
      return v;
    }
    case EventBody::kProposal:
    case EventBody::kSeal: return {};
    case EventBody::kVote:
      if (auto w = NeedApplied(s, b.vote().proposal(), EventBody::kProposal, "proposal")) return *w;
      return {};
    case EventBody::kRiskFlag:
      if (auto w = NeedApplied(s, b.risk_flag().proposal(), EventBody::kProposal, "proposal")) {
        return *w;
      }
      return {};
    case EventBody::kEndorsement:
      if (auto w = NeedApplied(s, b.endorsement().proposal(), EventBody::kProposal, "proposal")) {
        return *w;
      }
      return {};
    case EventBody::kFlagResolution: {
      const auto& res = b.flag_resolution();
      if (auto w = NeedApplied(s, res.flag(), EventBody::kRiskFlag, "risk flag")) return *w;
      const auto parties = s.PartiesOf(*EventId::FromBytes(AsBytes(res.flag())));
      if (!parties) return Void(RefusalCode::kBadReference, "flag has no proposal");
      if (res.kind() == v1::FlagResolution::WITHDRAW && author != parties->flagger) {
        return Void(RefusalCode::kNotAllowed, "only the member who raised a flag can withdraw it");
      }
      if (res.kind() == v1::FlagResolution::ANSWER && author != parties->proposer) {
        return Void(RefusalCode::kNotAllowed,
                    "only the proposer can answer a flag with a mitigation");
      }
      return {};
    }
    case EventBody::kComment: {
      // A comment may be about any placed event, void and awaiting ones included.
      const auto& target = b.comment().target();
      if (target.empty()) return {};
      const auto t = EventId::FromBytes(AsBytes(target));
      if (!t || !s.Applied(*t)) return Wait(Awaited::What::kEvent, target, "commented event");
      return {};
    }
    case EventBody::kDelegation:
      // Takes effect at once, whoever the delegate is: a delegate who is not an eligible member
      // at a round's cut-off gives no vote (docs/protocol.md §15). (Were it to wait for the
      // delegate's admission, a later revocation could take effect before it.)
      return {};
    case EventBody::kNetworkKey:
      // Whether it is the circle's key depends on who is eligible: the node decides (§11).
      return {};
    case EventBody::kRemoval:
      // Takes effect at once, whoever it names: it counts towards a removal only while its signer
      // is eligible, and a removal of a key not admitted yet keeps it out (protocol §15).
      return {};
    case EventBody::kWithdraw: {
      const auto& w = b.withdraw();
      if (auto need = NeedApplied(s, w.proposal(), EventBody::kProposal, "proposal")) return *need;
      const auto owner = s.ProposalAuthor(*EventId::FromBytes(AsBytes(w.proposal())));
      if (!owner || *owner != author) {
        return Void(RefusalCode::kNotAllowed, "only its author can withdraw a proposal");
      }
      return {};
    }
    case EventBody::kDeviceLink:
      if (device_of) {
        return Void(RefusalCode::kNotAllowed, "only a member's own key links or revokes devices");
      }
      return {};
    case EventBody::kDeviceClaim:
      // Judge() places a claim only once its member has linked the device; a claim at an
      // admitted member's seq 1 reaches here the same way.
      return {};
    case EventBody::kCharter:
      return Void(RefusalCode::kBadCharter, "a charter must be the founder's first event");
    case EventBody::PAYLOAD_NOT_SET:
      if (auto field = FutureKind(b)) {
        return Void(RefusalCode::kUnknownKind,
                    "a kind of event this version does not know (field " + std::to_string(*field) +
                        "): no effect here");
      }
      break;
  }
  return Void(RefusalCode::kMalformed, "unexpected payload");
}

}  // namespace

Verdict Judge(const EventId& id, const MemberKey& author, const EventBody& b, State& s) {
  if (auto fork = s.ForkSeq(author); fork && b.seq() >= *fork) {
    return Wait(Awaited::What::kFork, author.str(), "author");
  }
  if (b.payload_case() == EventBody::kCharter && b.seq() == 1) {
    // The circle id is the hash of its charter (Decode checks it), so a second charter of this
    // circle cannot exist; refuse rather than apply twice.
    if (s.HasCharter()) return Refuse(RefusalCode::kBadCharter, "the circle already has a charter");
    Verdict v;
    v.member_record = true;
    return v;
  }
  if (b.payload_case() == EventBody::kDeviceClaim) {
    // A device's log takes its place once the member it names has linked it (CheckBody: seq 1).
    const auto member = MemberKey::FromBytes(AsBytes(b.device_claim().member()));
    if (!member || !s.Linked(*member, author)) {
      return Wait(Awaited::What::kAdmission, author.str(), "device");
    }
    if (!s.Head(author)) return {};  // the device's first event: nothing before it to link
  }
  const auto head = s.Head(author);
  if (!head) return Wait(Awaited::What::kAdmission, author.str(), "author");
  if (b.seq() <= head->seq) {
    // Only reachable for an event at an applied position that is not an equivocation, which
    // Classify() rules out; refuse rather than apply twice.
    return Refuse(RefusalCode::kMalformed, "sequence number already used");
  }
  // (Compared in place: this runs for every event a replica ingests or a fold applies.)
  const bool linked = b.seq() == head->seq + 1 &&
                      (head->seq == 0 ? b.prev().empty()
                                      : b.prev().size() == head->id.bytes.size() &&
                                            std::memcmp(b.prev().data(), head->id.bytes.data(),
                                                        head->id.bytes.size()) == 0);
  if (!linked) return Wait(Awaited::What::kEvent, b.prev(), "previous event", b.seq() - 1);
  if (b.timestamp_ms() < head->timestamp_ms) {
    return Void(RefusalCode::kTimestampRegression,
                "timestamp is earlier than the author's previous event");
  }
  return JudgeEffect(id, author, b, s);
}

Verdict JudgeEffect(const EventId& id, const MemberKey& author, const EventBody& b, State& s) {
  Verdict v = JudgePayload(id, author, b, s);
  if (v.kind == Verdict::Kind::kWait) v.kind = Verdict::Kind::kAwait;
  return v;
}

std::string Describe(const Awaited& a) {
  const std::string hex = ToHex(ByteView(a.key.data(), a.key.size())).substr(0, 12);
  switch (a.what) {
    case Awaited::What::kNothing: return "";
    case Awaited::What::kFork: return "author's log is frozen there (a fork, or a revoked device)";
    case Awaited::What::kAdmission: {
      MemberKey k;
      k.bytes = a.key;
      if (std::string_view(a.label) == "device") {
        return "device " + crypto::Fingerprint(k) + " not yet linked by the member it names";
      }
      return std::string(a.label) + " " + crypto::Fingerprint(k) + " not yet admitted";
    }
    case Awaited::What::kEvent:
      if (a.seq > 0) {
        return std::string(a.label) + " " + hex + " (seq " + std::to_string(a.seq) +
               ") not yet held";
      }
      return std::string(a.label) + " " + hex + " not yet held";
  }
  return "";
}

std::vector<std::array<std::uint8_t, 32>> Unblocks(const EventId& id, const EventBody& b,
                                                   bool effective) {
  std::vector<std::array<std::uint8_t, 32>> out{id.bytes};
  if (b.has_charter()) {
    out.push_back(Key32(b.author()));
    for (const auto& p : b.charter().partners()) out.push_back(Key32(p.member()));
  }
  if (effective && b.has_admit()) out.push_back(Key32(b.admit().member()));
  if (effective && b.has_device_link() && !b.device_link().revoke()) {
    out.push_back(Key32(b.device_link().device()));
  }
  // A device's claim taking its place is its log's start: what the device wrote after it waited
  // for that, as a member's events wait for their admission.
  if (effective && b.has_device_claim()) out.push_back(Key32(b.author()));
  return out;
}

Arrival Classify(const EventId& id, std::uint64_t seq, std::optional<std::uint64_t> fork_seq,
                 std::span<const EventId> held_at_seq) {
  if (std::find(held_at_seq.begin(), held_at_seq.end(), id) != held_at_seq.end()) {
    return Arrival::kDuplicate;
  }
  if (fork_seq && seq >= *fork_seq) return Arrival::kBeyondFork;
  return held_at_seq.empty() ? Arrival::kNew : Arrival::kEquivocation;
}

}  // namespace polder::rulebook
