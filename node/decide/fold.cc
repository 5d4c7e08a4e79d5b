#include "node/decide/fold.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <tuple>
#include <unordered_map>

#include "storage/rulebook/judge.h"

namespace polder::decide {
namespace {

// Paged seals (docs/protocol.md §15): a member's own Seal events for one deadline, in seq order,
// become one record per complete run — part 0 .. parts-1 at consecutive seqs, each part's heads
// continuing the author order, every part naming the same base — merged (the first part's seq and
// event, the last part's timestamp). A part of no complete run is dropped: it counts for nothing.
// Seals not paged, and those of devices (which never count), stay as they are. `seals` is sorted by
// (deadline, author), then ActBefore.
std::vector<SealRecord> MergeSealParts(std::vector<SealRecord> seals) {
  std::vector<SealRecord> out;
  out.reserve(seals.size());
  std::size_t i = 0;
  while (i < seals.size()) {
    std::size_t end = i;
    while (end < seals.size() && seals[end].deadline_ms == seals[i].deadline_ms &&
           seals[end].author == seals[i].author) {
      ++end;
    }
    std::vector<std::size_t> own;  // the member's own-key seals of the group, in seq order
    for (std::size_t a = i; a < end; ++a) {
      if (seals[a].device || seals[a].parts <= 1) {
        out.push_back(std::move(seals[a]));
      } else {
        own.push_back(a);
      }
    }
    for (std::size_t k = 0; k < own.size();) {
      const SealRecord& first = seals[own[k]];
      const std::uint32_t n = first.parts;
      bool complete = first.part == 0 && k + n <= own.size();
      for (std::uint32_t p = 1; complete && p < n; ++p) {
        const SealRecord& prev = seals[own[k + p - 1]];
        const SealRecord& r = seals[own[k + p]];
        complete = r.parts == n && r.part == p && r.seq == first.seq + p && r.base == first.base &&
                   !prev.heads.empty() && !r.heads.empty() &&
                   prev.heads.back().author < r.heads.front().author;
      }
      if (!complete) {
        ++k;
        continue;
      }
      SealRecord merged = std::move(seals[own[k]]);
      for (std::uint32_t p = 1; p < n; ++p) {
        SealRecord& r = seals[own[k + p]];
        merged.heads.insert(merged.heads.end(), r.heads.begin(), r.heads.end());
        merged.timestamp_ms = r.timestamp_ms;
      }
      merged.part = 0;
      out.push_back(std::move(merged));
      k += n;
    }
    i = end;
  }
  // Back in (deadline, author), then ActBefore order: a merged seal sits at its first part's
  // place among its author's seals, but devices' seals may now sort differently by timestamp.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (std::tie(a.deadline_ms, a.author) != std::tie(b.deadline_ms, b.author)) {
      return std::tie(a.deadline_ms, a.author) < std::tie(b.deadline_ms, b.author);
    }
    return ActBefore(a.timestamp_ms, SignerOf(a.author, a), a.seq, b.timestamp_ms,
                     SignerOf(b.author, b), b.seq);
  });
  return out;
}

using rulebook::Verdict;
using v1::EventBody;

template <class IdT>
std::optional<IdT> ToId(const std::string& s) {
  return IdT::FromBytes(AsBytes(s));
}

template <class K, class V>
using HashMap = std::unordered_map<K, V, Id32Hash>;

// A key's first 8 bytes as a big-endian number: orders keys as their bytes do (nearly always
// deciding alone). Read at once: the vote sort compares tens of millions of pairs.
std::uint64_t Prefix8(const MemberKey& k) {
  std::uint64_t p;
  std::memcpy(&p, k.bytes.data(), sizeof p);
  if constexpr (std::endian::native == std::endian::little) p = __builtin_bswap64(p);
  return p;
}

// The circle state being folded. It answers the rulebook's questions (rulebook/state.h) from
// its own maps, so the fold applies exactly the rules the replica's gate applies.
struct Folder final : rulebook::State {
  CircleState st;
  HashMap<MemberKey, Member> members;
  HashMap<MemberKey, EventId> record_event;  // member → the event whose record stands
  HashMap<MemberKey, rulebook::LogHead> heads;
  HashMap<MemberKey, std::uint64_t> forks;  // author → lowest seq with two different events
  // Revoked devices → the seq their log is frozen from (the pre-pass's rule; gate.cc follows it).
  HashMap<MemberKey, std::uint64_t> freezes;
  HashMap<MemberKey, std::vector<MemberKey>> links;  // device → members whose link took effect
  HashMap<MemberKey, MemberKey> device_member;       // device → member, once its claim is placed
  HashMap<MemberKey, EventId> device_claim;
  HashMap<EventId, rulebook::AppliedEvent> applied;
  HashMap<EventId, ProposalRecord> proposals;              // effective proposals
  HashMap<EventId, std::pair<EventId, FlagRecord>> flags;  // flag → (proposal, flag)
  std::vector<DelegationRecord> delegations;
  std::vector<RemovalRecord> removals;
  std::vector<KeyRotationRecord> network_keys;
  std::vector<SealRecord> seals;
  std::vector<IgnoredEvent> ignored;

  // The author whose log the fixpoint loop is applying: their head, fork and membership without
  // a lookup per event (most events are asked about their own author).
  struct Current {
    const MemberKey* key = nullptr;  // the log's own key: the rulebook asks with this very object
    rulebook::LogHead* head = nullptr;
    std::optional<std::uint64_t> fork;
    bool member = false;
  };
  std::optional<Current> cur;

  bool HasCharter() override { return st.has_charter; }
  bool IsCurrent(const MemberKey& k) const { return cur && (&k == cur->key || k == *cur->key); }
  std::optional<std::uint64_t> ForkSeq(const MemberKey& author) override {
    if (IsCurrent(author)) return cur->fork;
    return FrozenFrom(author);
  }
  // The lowest of the author's fork and their revocation's freeze.
  std::optional<std::uint64_t> FrozenFrom(const MemberKey& author) const {
    std::optional<std::uint64_t> out;
    if (auto it = forks.find(author); it != forks.end()) out = it->second;
    if (auto it = freezes.find(author); it != freezes.end() && (!out || it->second < *out)) {
      out = it->second;
    }
    return out;
  }
  bool HasLog(const MemberKey& k) const { return members.count(k) || device_member.count(k); }
  std::optional<rulebook::LogHead> Head(const MemberKey& member) override {
    if (IsCurrent(member)) {
      if (!cur->member) return std::nullopt;
      return *cur->head;
    }
    if (!HasLog(member)) return std::nullopt;
    auto it = heads.find(member);
    return it == heads.end() ? rulebook::LogHead{} : it->second;
  }
  std::optional<rulebook::AppliedEvent> Applied(const EventId& id) override {
    auto it = applied.find(id);
    if (it == applied.end()) return std::nullopt;
    return it->second;
  }
  std::optional<MemberKey> ProposalAuthor(const EventId& proposal) override {
    auto it = proposals.find(proposal);
    if (it == proposals.end()) return std::nullopt;
    return it->second.author;
  }
  std::optional<rulebook::FlagParties> PartiesOf(const EventId& flag) override {
    auto it = flags.find(flag);
    if (it == flags.end()) return std::nullopt;
    auto p = proposals.find(it->second.first);
    if (p == proposals.end()) return std::nullopt;
    return rulebook::FlagParties{it->second.second.flagger, p->second.author};
  }
  bool Linked(const MemberKey& member, const MemberKey& device) override {
    auto it = links.find(device);
    return it != links.end() &&
           std::find(it->second.begin(), it->second.end(), member) != it->second.end();
  }
  std::optional<MemberKey> DeviceMember(const MemberKey& device) override {
    auto it = device_member.find(device);
    if (it == device_member.end()) return std::nullopt;
    return it->second;
  }
  // Who acts when `author` signs: their member when they are a device.
  const MemberKey& Acting(const MemberKey& author) const {
    if (device_member.empty()) return author;
    auto it = device_member.find(author);
    return it == device_member.end() ? author : it->second;
  }
  std::optional<MemberKey> DeviceOf(const MemberKey& author, const MemberKey& acting) const {
    if (&acting == &author) return std::nullopt;
    return author;
  }
  std::optional<rulebook::MemberRecord> RecordOf(const MemberKey& member) override {
    auto it = members.find(member);
    if (it == members.end()) return std::nullopt;
    return rulebook::MemberRecord{record_event[member], it->second.founder,
                                  it->second.founder || it->second.partner};
  }

  // The charter the fold chose founds the circle.
  void ApplyCharter(const EventId& id, const MemberKey& founder, const EventBody& b) {
    Member m;
    m.key = founder;
    m.name = b.charter().founder().name();
    m.organisation = b.charter().founder().organisation();
    m.admitted_ms = b.timestamp_ms();
    m.founder = true;
    members[founder] = m;
    record_event[founder] = id;
    // Founding partners: members from the charter on, like the founder.
    for (const auto& p : b.charter().partners()) {
      Member partner;
      partner.key = *ToId<MemberKey>(p.member());  // 32 bytes: the rulebook checked
      partner.name = p.info().name();
      partner.organisation = p.info().organisation();
      partner.admitted_ms = b.timestamp_ms();
      partner.partner = true;
      record_event[partner.key] = id;
      members[partner.key] = std::move(partner);
    }
    st.has_charter = true;
    st.charter_event = id;
    st.circle = ToId<CircleId>(b.circle_id()).value_or(CircleId{});
    st.founder = founder;
    st.name = b.charter().name();
    st.pool_minor = Money(b.charter().pool_minor());
    st.unit = b.charter().unit();
    st.decimals = b.charter().decimals();
    st.rules = EffectiveRules(b.charter().rules());
    AddOrganisations(st.rules, {b.charter().founder().organisation()});
  }

  // What an event the rulebook applied with effect adds to the state (the fold's counterpart of
  // the replica's storage/effects.cc).
  void ApplyEffect(const FoldEvent& ev, const MemberKey& signer, const Verdict& v) {
    const EventBody& b = ev.body;
    const MemberKey& author = Acting(signer);
    const std::optional<MemberKey> device = DeviceOf(signer, author);
    switch (b.payload_case()) {
      case EventBody::kCharter: ApplyCharter(ev.id, author, b); return;
      case EventBody::kAdmit: {
        const auto& a = b.admit();
        const MemberKey key = *ToId<MemberKey>(a.member());  // 32 bytes: the rulebook checked
        const AdmissionRecord record{author, b.seq(), b.timestamp_ms(), ev.id, device};
        auto it = members.find(key);
        if (it == members.end()) {
          Member m;
          m.key = key;
          m.name = a.info().name();
          m.organisation = a.info().organisation();
          m.admitted_ms = b.timestamp_ms();
          m.admissions.push_back(record);
          members.emplace(key, std::move(m));
          record_event[key] = ev.id;
          return;
        }
        // The member counts from their earliest admission; the record the rulebook says stands
        // gives their name and organisation (the founder's and the partners' is the charter's).
        Member& m = it->second;
        m.admitted_ms = std::min(m.admitted_ms, b.timestamp_ms());
        if (!m.founder && !m.partner) m.admissions.push_back(record);
        if (v.member_record) {
          m.name = a.info().name();
          m.organisation = a.info().organisation();
          record_event[key] = ev.id;
        }
        return;
      }
      case EventBody::kProposal: {
        const auto& p = b.proposal();
        ProposalRecord r;
        r.event = ev.id;
        r.author = author;
        r.seq = b.seq();
        r.device = device;
        r.title = p.title();
        r.topic = p.topic();
        r.amount_minor = Money(p.amount_minor());
        r.created_ms = b.timestamp_ms();
        r.deadline_ms = p.deadline_ms();
        if (p.has_rules()) r.rule_change = EffectiveRules(p.rules());
        proposals.emplace(ev.id, std::move(r));
        return;
      }
      case EventBody::kVote:
        proposals[*ToId<EventId>(b.vote().proposal())].votes.push_back(
            {author, b.seq(), b.timestamp_ms(), b.vote().choice(), ev.id, device});
        return;
      case EventBody::kRiskFlag: {
        const auto& f = b.risk_flag();
        FlagRecord r;
        r.event = ev.id;
        r.flagger = author;
        r.seq = b.seq();
        r.severity = f.severity();
        r.category = f.category();
        r.timestamp_ms = b.timestamp_ms();
        r.device = device;
        flags.emplace(ev.id, std::make_pair(*ToId<EventId>(f.proposal()), std::move(r)));
        return;
      }
      case EventBody::kFlagResolution: {
        const auto& res = b.flag_resolution();
        flags[*ToId<EventId>(res.flag())].second.resolutions.push_back(
            {ev.id, author, b.seq(), res.kind(), b.timestamp_ms(), device});
        return;
      }
      case EventBody::kEndorsement:
        proposals[*ToId<EventId>(b.endorsement().proposal())].endorsements.push_back(
            {author, b.seq(), b.timestamp_ms(), ev.id, device});
        return;
      case EventBody::kComment: return;  // no decision depends on comments
      case EventBody::kDelegation: {
        const auto& d = b.delegation();
        DelegationRecord r;
        r.delegator = author;
        r.topic = d.topic();
        r.seq = b.seq();
        r.timestamp_ms = b.timestamp_ms();
        r.revoke = d.revoke();
        r.event = ev.id;
        r.device = device;
        if (!d.revoke()) r.delegate = *ToId<MemberKey>(d.delegate());
        delegations.push_back(std::move(r));
        return;
      }
      case EventBody::kWithdraw: {
        // The earliest withdrawal (by timestamp, signing key, seq) stands.
        auto& p = proposals[*ToId<EventId>(b.withdraw().proposal())];
        if (!p.withdrawn_ms ||
            ActBefore(b.timestamp_ms(), signer, b.seq(), *p.withdrawn_ms,
                      p.withdrawn_device ? *p.withdrawn_device : p.author, p.withdrawn_seq)) {
          p.withdrawn_ms = b.timestamp_ms();
          p.withdrawn_seq = b.seq();
          p.withdrawn_device = device;
        }
        return;
      }
      case EventBody::kSeal: {
        SealRecord r;
        r.author = author;
        r.seq = b.seq();
        r.timestamp_ms = b.timestamp_ms();
        r.deadline_ms = b.seal().deadline_ms();
        r.part = b.seal().part();
        r.parts = std::max(b.seal().parts(), 1u);
        r.event = ev.id;
        r.device = device;
        if (!b.seal().base().empty()) r.base = ToId<EventId>(b.seal().base());
        for (const auto& h : b.seal().heads()) {
          auto k = ToId<MemberKey>(h.author());
          auto id = ToId<EventId>(h.head());
          if (k && id) r.heads.push_back({*k, h.seq(), *id, h.forked(), false});
        }
        seals.push_back(std::move(r));
        return;
      }
      case EventBody::kRemoval:
        removals.push_back({*ToId<MemberKey>(b.removal().member()), author, b.seq(),
                            b.timestamp_ms(), b.removal().reason(), ev.id, device});
        return;
      case EventBody::kNetworkKey:
        network_keys.push_back({author, b.seq(), b.timestamp_ms(),
                                *ToId<EventId>(b.network_key().key_id()), ev.id, device});
        return;
      case EventBody::kDeviceLink:
        if (!b.device_link().revoke()) {
          links[*ToId<MemberKey>(b.device_link().device())].push_back(author);
        }
        return;  // a revocation works through the pre-pass (freezes)
      case EventBody::kDeviceClaim:
        device_member[signer] = *ToId<MemberKey>(b.device_claim().member());
        device_claim[signer] = ev.id;
        return;
      case EventBody::PAYLOAD_NOT_SET: return;
    }
  }

  void Ignore(const FoldEvent& ev, Ignored reason) {
    IgnoredEvent ig;
    ig.event = ev.id;
    if (auto k = ToId<MemberKey>(ev.body.author())) ig.author = *k;
    ig.seq = ev.body.seq();
    ig.timestamp_ms = ev.body.timestamp_ms();
    ig.kind = ev.body.payload_case();
    if (ev.body.has_vote()) ig.proposal = ToId<EventId>(ev.body.vote().proposal());
    ig.reason = reason;
    ignored.push_back(ig);
  }
};

}  // namespace

const char* ToString(Ignored reason) {
  switch (reason) {
    case Ignored::kWrongCircle: return "wrong circle";
    case Ignored::kNotTheCharter: return "at the founder's seq 1, where the charter is";
    case Ignored::kNotMember: return "author not a member";
    case Ignored::kPending: return "waits for an event not held (gap)";
    case Ignored::kAwaiting: return "refers to an event not held or past its author's fork";
    case Ignored::kForked: return "author forked (equivocated)";
    case Ignored::kRevoked: return "device revoked: after the last seq its member let count";
    case Ignored::kVoid: return "void (breaks a rule)";
  }
  return "unknown";
}

const Member* CircleState::FindMember(const MemberKey& key) const {
  auto it = std::lower_bound(members.begin(), members.end(), key,
                             [](const Member& m, const MemberKey& k) { return m.key < k; });
  return it != members.end() && it->key == key ? &*it : nullptr;
}

const Device* CircleState::FindDevice(const MemberKey& key) const {
  auto it = std::lower_bound(devices.begin(), devices.end(), key,
                             [](const Device& d, const MemberKey& k) { return d.key < k; });
  return it != devices.end() && it->key == key ? &*it : nullptr;
}

const LogRecord* CircleState::FindLog(const MemberKey& key) const {
  auto it = std::lower_bound(logs.begin(), logs.end(), key,
                             [](const LogRecord& l, const MemberKey& k) { return l.key < k; });
  return it != logs.end() && it->key == key ? &*it : nullptr;
}

const ProposalRecord* CircleState::FindProposal(const EventId& id) const {
  auto it = std::lower_bound(proposals.begin(), proposals.end(), id,
                             [](const ProposalRecord& p, const EventId& k) { return p.event < k; });
  return it != proposals.end() && it->event == id ? &*it : nullptr;
}

CircleState Fold(const std::vector<FoldEvent>& input) {
  Folder f;
  // Canonical order first: (author, seq, id), duplicates dropped.
  std::vector<const FoldEvent*> evs;
  evs.reserve(input.size());
  for (const auto& e : input) evs.push_back(&e);
  {
    // Sort on small keys: each distinct author's rank (authors sorted bytewise), then seq; the
    // id only for two events at one (author, seq).
    struct Hash8 {  // the author field's first 8 bytes (any length: the input is not checked)
      std::size_t operator()(const std::string& s) const {
        std::uint64_t h = s.size();
        std::memcpy(&h, s.data(), std::min<std::size_t>(s.size(), sizeof h));
        return static_cast<std::size_t>(h);
      }
    };
    std::unordered_map<std::string, std::uint32_t, Hash8> rank;
    for (auto* e : evs) rank.emplace(e->body.author(), 0);
    std::vector<const std::string*> authors;
    authors.reserve(rank.size());
    for (const auto& [a, r] : rank) authors.push_back(&a);
    std::sort(authors.begin(), authors.end(), [](auto* x, auto* y) { return *x < *y; });
    for (std::uint32_t i = 0; i < authors.size(); ++i) rank[*authors[i]] = i;
    struct Keyed {
      std::uint32_t author;
      std::uint64_t seq;
      const FoldEvent* e;
    };
    std::vector<Keyed> keyed;
    keyed.reserve(evs.size());
    for (auto* e : evs) keyed.push_back({rank[e->body.author()], e->body.seq(), e});
    std::sort(keyed.begin(), keyed.end(), [](const Keyed& x, const Keyed& y) {
      if (x.author != y.author) return x.author < y.author;
      if (x.seq != y.seq) return x.seq < y.seq;
      return x.e->id < y.e->id;
    });
    for (std::size_t i = 0; i < keyed.size(); ++i) evs[i] = keyed[i].e;
  }
  evs.erase(std::unique(evs.begin(), evs.end(), [](auto* a, auto* b) { return a->id == b->id; }),
            evs.end());
  f.applied.reserve(evs.size());

  // The charter: the founder's seq-1 charter with the smallest event id decides the circle.
  const FoldEvent* charter = nullptr;
  for (auto* e : evs) {
    if (e->body.has_charter() && e->body.seq() == 1 && (!charter || e->id < charter->id)) {
      charter = e;
    }
  }
  if (!charter) {
    for (auto* e : evs) f.Ignore(*e, Ignored::kNotMember);
    f.st.ignored = std::move(f.ignored);
    return f.st;
  }
  const std::string circle = charter->body.circle_id();

  // Logs per author (ranges of the sorted events) of the chosen circle, from authors with a
  // 32-byte key (the only kind the rulebook's questions can be asked about).
  std::vector<const FoldEvent*> in_circle;
  in_circle.reserve(evs.size());
  for (auto* e : evs) {
    if (e->body.circle_id() != circle) {
      f.Ignore(*e, Ignored::kWrongCircle);
      continue;
    }
    if (!ToId<MemberKey>(e->body.author())) {
      f.Ignore(*e, Ignored::kNotMember);
      continue;
    }
    // The circle id names its charter, so nothing else at the founder's seq 1 is of the circle
    // (and never a fork).
    if (e != charter && e->body.seq() == 1 && e->body.author() == charter->body.author()) {
      f.Ignore(*e, Ignored::kNotTheCharter);
      continue;
    }
    in_circle.push_back(e);
  }
  struct Slot {
    std::uint64_t seq;
    std::size_t first;  // into in_circle
    std::size_t count;
  };
  struct Log {
    MemberKey author;
    std::vector<Slot> slots;              // by seq
    std::size_t cursor = 0;               // the slot of the next seq to apply, if present
    std::vector<std::int64_t> placed_ts;  // the placed events' timestamps, by seq
    std::vector<const EventId*> placed;   // and their ids
  };
  std::vector<Log> logs;
  for (std::size_t i = 0; i < in_circle.size(); ++i) {
    const auto& b = in_circle[i]->body;
    const MemberKey author = *ToId<MemberKey>(b.author());
    if (logs.empty() || logs.back().author != author) logs.push_back({author, {}, 0, {}, {}});
    auto& slots = logs.back().slots;
    if (!slots.empty() && slots.back().seq == b.seq()) {
      ++slots.back().count;
    } else {
      slots.push_back({b.seq(), i, 1});
    }
  }
  // Forks, by the rulebook's rule on arrivals, taking each log in (seq, id) order: the first
  // second event at a seq freezes the log there.
  std::vector<EventId>
      held;  // the ids at one (author, seq) so far (reused: no allocation per slot)
  for (const auto& log : logs) {
    std::optional<std::uint64_t> fork;
    for (const auto& slot : log.slots) {
      if (slot.count == 1) continue;  // one event at a seq is new (Classify's kNew)
      held.clear();
      for (std::size_t j = slot.first; j < slot.first + slot.count; ++j) {
        const EventId& id = in_circle[j]->id;
        if (rulebook::Classify(id, slot.seq, fork, held) == rulebook::Arrival::kEquivocation) {
          fork = slot.seq;
        }
        held.push_back(id);
      }
    }
    if (fork) f.forks[log.author] = *fork;
  }
  // Revoked devices: a revocation counts when the member its device's claim names signed it, at a
  // seq below that member's fork if they forked; the device's log is frozen after the lowest
  // last_seq that counts. (Claims and revocations count whatever their place, as forks do.)
  {
    HashMap<MemberKey, std::vector<MemberKey>> claims;  // device → members its seq-1 claims name
    for (auto* e : in_circle) {
      if (e->body.has_device_claim()) {
        if (auto m = ToId<MemberKey>(e->body.device_claim().member())) {
          claims[*ToId<MemberKey>(e->body.author())].push_back(*m);
        }
      }
    }
    if (!claims.empty()) {
      for (auto* e : in_circle) {
        if (!e->body.has_device_link() || !e->body.device_link().revoke()) continue;
        const MemberKey signer = *ToId<MemberKey>(e->body.author());
        if (auto fk = f.forks.find(signer); fk != f.forks.end() && fk->second <= e->body.seq()) {
          continue;
        }
        const auto device = ToId<MemberKey>(e->body.device_link().device());
        if (!device) continue;
        auto c = claims.find(*device);
        if (c == claims.end() ||
            std::find(c->second.begin(), c->second.end(), signer) == c->second.end()) {
          continue;
        }
        const std::uint64_t from = e->body.device_link().last_seq() + 1;
        auto [it, fresh] = f.freezes.emplace(*device, from);
        if (!fresh) it->second = std::min(it->second, from);
      }
    }
  }

  // The least fixpoint of places: place each author's next event while any can be placed. (A
  // place depends only on the author's admission and their previous event; admissions take
  // effect as they are placed.)
  std::vector<std::pair<const FoldEvent*, const MemberKey*>> awaiting;  // placed, effect waits
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& log : logs) {
      const MemberKey& author = log.author;
      auto& head = f.heads[author];
      f.cur = Folder::Current{&author, &head, f.FrozenFrom(author), f.HasLog(author)};
      for (;;) {
        const std::uint64_t next = head.seq + 1;
        while (log.cursor < log.slots.size() && log.slots[log.cursor].seq < next) ++log.cursor;
        if (log.cursor == log.slots.size() || log.slots[log.cursor].seq != next) break;
        const FoldEvent& ev = *in_circle[log.slots[log.cursor].first];
        const EventBody& b = ev.body;
        // Only the chosen charter founds the circle.
        if (b.has_charter() && b.seq() == 1 && &ev != charter) break;
        const Verdict v = rulebook::Judge(ev.id, author, b, f);
        if (v.kind == Verdict::Kind::kWait || v.kind == Verdict::Kind::kRefuse) break;
        if (v.kind == Verdict::Kind::kApply) f.ApplyEffect(ev, author, v);
        f.applied[ev.id] = {b.payload_case(), v.kind == Verdict::Kind::kVoid,
                            v.kind == Verdict::Kind::kAwait};
        if (v.kind == Verdict::Kind::kVoid) f.Ignore(ev, Ignored::kVoid);
        if (v.kind == Verdict::Kind::kAwait) awaiting.emplace_back(&ev, &author);
        head = {next, ev.id, b.timestamp_ms()};
        log.placed_ts.push_back(b.timestamp_ms());
        log.placed.push_back(&ev.id);
        if (b.has_charter() || b.has_admit() || b.has_device_claim()) {
          f.cur->member = f.HasLog(author);
        }
        progress = true;
      }
    }
  }
  f.cur.reset();

  // The least fixpoint of effects: decide each awaiting effect once what it refers to has taken
  // effect (a resolution's flag may itself await its proposal: hence the loop).
  for (progress = !awaiting.empty(); progress;) {
    progress = false;
    std::size_t kept = 0;
    for (auto& [ev, author] : awaiting) {
      const Verdict v = rulebook::JudgeEffect(ev->id, *author, ev->body, f);
      if (v.kind == Verdict::Kind::kAwait) {
        awaiting[kept++] = {ev, author};
        continue;
      }
      if (v.kind == Verdict::Kind::kApply) f.ApplyEffect(*ev, *author, v);
      f.applied[ev->id] = {ev->body.payload_case(), v.kind == Verdict::Kind::kVoid, false};
      if (v.kind == Verdict::Kind::kVoid) f.Ignore(*ev, Ignored::kVoid);
      progress = true;
    }
    awaiting.resize(kept);
  }
  for (auto& [ev, author] : awaiting) f.Ignore(*ev, Ignored::kAwaiting);

  // Everything not placed, with the reason.
  for (const auto& log : logs) {
    const auto fk = f.forks.find(log.author);
    const auto fz = f.freezes.find(log.author);
    for (const auto& slot : log.slots) {
      for (std::size_t j = slot.first; j < slot.first + slot.count; ++j) {
        const FoldEvent* e = in_circle[j];
        if (f.applied.count(e->id)) continue;
        const Ignored why = fk != f.forks.end() && slot.seq >= fk->second     ? Ignored::kForked
                            : fz != f.freezes.end() && slot.seq >= fz->second ? Ignored::kRevoked
                            : !f.HasLog(log.author)                           ? Ignored::kNotMember
                                                                              : Ignored::kPending;
        f.Ignore(*e, why);
      }
    }
  }

  // Canonical, sorted output.
  std::vector<Member*> members;
  members.reserve(f.members.size());
  for (auto& [k, m] : f.members) members.push_back(&m);
  std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key < b->key; });
  for (Member* mp : members) {
    Member& m = *mp;
    if (auto fk = f.forks.find(m.key); fk != f.forks.end()) m.fork_seq = fk->second;
    std::sort(m.admissions.begin(), m.admissions.end(), [](const auto& a, const auto& b) {
      return std::tie(a.timestamp_ms, a.event) < std::tie(b.timestamp_ms, b.event);
    });
    f.st.members.push_back(std::move(m));
  }
  for (auto& [id, fl] : f.flags) f.proposals[fl.first].flags.push_back(std::move(fl.second));
  std::vector<ProposalRecord*> proposals;
  proposals.reserve(f.proposals.size());
  for (auto& [id, p] : f.proposals) proposals.push_back(&p);
  std::sort(proposals.begin(), proposals.end(),
            [](auto* a, auto* b) { return a->event < b->event; });
  f.st.proposals.reserve(proposals.size());
  for (ProposalRecord* pp : proposals) {
    ProposalRecord& p = *pp;
    auto by_member = [](const VoteRecord& a, const VoteRecord& b) {
      // Keys are 32 bytes: their first 8, big-endian, order them as a whole nearly always.
      const std::uint64_t pa = Prefix8(a.voter), pb = Prefix8(b.voter);
      if (pa != pb) return pa < pb;
      return VoteBefore(a, b);
    };
    std::sort(p.votes.begin(), p.votes.end(), by_member);
    std::sort(p.endorsements.begin(), p.endorsements.end(), [](const auto& a, const auto& b) {
      if (a.member != b.member) return a.member < b.member;
      return ActBefore(a.timestamp_ms, SignerOf(a.member, a), a.seq, b.timestamp_ms,
                       SignerOf(b.member, b), b.seq);
    });
    for (auto& fl : p.flags) {
      std::sort(fl.resolutions.begin(), fl.resolutions.end(), [](const auto& a, const auto& b) {
        return std::tie(a.timestamp_ms, a.event) < std::tie(b.timestamp_ms, b.event);
      });
    }
    std::sort(p.flags.begin(), p.flags.end(), [](const auto& a, const auto& b) {
      return std::tie(a.timestamp_ms, a.event) < std::tie(b.timestamp_ms, b.event);
    });
    f.st.proposals.push_back(std::move(p));
  }
  std::sort(f.delegations.begin(), f.delegations.end(), [](const auto& a, const auto& b) {
    if (std::tie(a.delegator, a.topic) != std::tie(b.delegator, b.topic)) {
      return std::tie(a.delegator, a.topic) < std::tie(b.delegator, b.topic);
    }
    return ActBefore(a.timestamp_ms, SignerOf(a.delegator, a), a.seq, b.timestamp_ms,
                     SignerOf(b.delegator, b), b.seq);
  });
  f.st.delegations = std::move(f.delegations);
  std::sort(f.removals.begin(), f.removals.end(), [](const auto& a, const auto& b) {
    return ActBefore(a.timestamp_ms, SignerOf(a.remover, a), a.seq, b.timestamp_ms,
                     SignerOf(b.remover, b), b.seq);
  });
  f.st.removals = std::move(f.removals);
  std::sort(f.network_keys.begin(), f.network_keys.end(), [](const auto& a, const auto& b) {
    return ActBefore(a.timestamp_ms, SignerOf(a.author, a), a.seq, b.timestamp_ms,
                     SignerOf(b.author, b), b.seq);
  });
  f.st.network_keys = std::move(f.network_keys);
  std::sort(f.seals.begin(), f.seals.end(), [](const auto& a, const auto& b) {
    if (std::tie(a.deadline_ms, a.author) != std::tie(b.deadline_ms, b.author)) {
      return std::tie(a.deadline_ms, a.author) < std::tie(b.deadline_ms, b.author);
    }
    return ActBefore(a.timestamp_ms, SignerOf(a.author, a), a.seq, b.timestamp_ms,
                     SignerOf(b.author, b), b.seq);
  });
  f.seals = MergeSealParts(std::move(f.seals));
  // Which seal entries name an event placed here, and each log's placed timestamps.
  HashMap<MemberKey, const Log*> log_of;
  log_of.reserve(logs.size());
  for (const auto& log : logs) {
    if (!log.placed.empty()) log_of[log.author] = &log;
  }
  for (auto& seal : f.seals) {
    for (auto& h : seal.heads) {
      auto it = log_of.find(h.author);
      h.held = it != log_of.end() && h.seq <= it->second->placed.size() &&
               *it->second->placed[h.seq - 1] == h.head;
    }
  }
  f.st.seals = std::move(f.seals);
  f.st.logs.reserve(log_of.size());
  for (auto& log : logs) {
    if (!log.placed.empty()) f.st.logs.push_back({log.author, std::move(log.placed_ts)});
  }
  std::sort(f.st.logs.begin(), f.st.logs.end(),
            [](const LogRecord& a, const LogRecord& b) { return a.key < b.key; });
  for (const auto& [key, member] : f.device_member) {
    Device d{key, member, f.device_claim[key], f.FrozenFrom(key)};
    f.st.devices.push_back(std::move(d));
  }
  std::sort(f.st.devices.begin(), f.st.devices.end(),
            [](const Device& a, const Device& b) { return a.key < b.key; });
  std::sort(f.ignored.begin(), f.ignored.end(), [](const auto& a, const auto& b) {
    return std::tie(a.author, a.seq, a.event) < std::tie(b.author, b.seq, b.event);
  });
  f.st.ignored = std::move(f.ignored);
  return f.st;
}

}  // namespace polder::decide
