#include "node/decide/fold.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>
#include <unordered_map>

namespace polder::decide {
namespace {

using v1::EventBody;

template <class IdT>
std::optional<IdT> ToId(const std::string& s) {
  return IdT::FromBytes(AsBytes(s));
}

constexpr int kVoidKind = -1;  // applied-kind marker of a void event, as in the replica

// Ids and member keys are 32 uniformly distributed bytes: their first 8 are a good hash.
struct Hash32 {
  std::size_t operator()(const std::string& s) const {
    std::uint64_t h = s.size();
    std::memcpy(&h, s.data(), std::min<std::size_t>(s.size(), sizeof h));
    return static_cast<std::size_t>(h);
  }
};
template <class V>
using ByBytes = std::unordered_map<std::string, V, Hash32>;
struct IdHash {
  std::size_t operator()(const EventId& id) const {
    std::uint64_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return static_cast<std::size_t>(h);
  }
};
std::uint64_t Prefix8(const MemberKey& k) {
  std::uint64_t p = 0;
  for (std::size_t i = 0; i < 8; ++i) p = (p << 8) | k.bytes[i];
  return p;
}
// A referenced id (32 bytes, or anything else, which matches nothing).
std::optional<EventId> IdOf(const std::string& bytes) { return EventId::FromBytes(AsBytes(bytes)); }

// What trying to apply an author's next event found.
enum class Apply { kApplied, kVoid, kWaiting };

struct Folder {
  CircleState st;
  ByBytes<Member> members;                            // key bytes → member
  std::unordered_map<EventId, int, IdHash> applied;   // event id → kind or void
  ByBytes<ProposalRecord> proposals;                  // id bytes → record
  ByBytes<std::pair<std::string, FlagRecord>> flags;  // id → (proposal id, flag)
  std::map<std::string, std::string> admit_event;     // member → smallest admitting id
  std::vector<DelegationRecord> delegations;
  std::vector<SealRecord> seals;
  std::vector<IgnoredEvent> ignored;

  struct Head {
    std::uint64_t seq = 0;
    EventId id;
    std::int64_t ts = 0;
  };
  ByBytes<Head> heads;

  // Missing reference → waiting; applied but of another kind (or void) → void.
  std::optional<Apply> Need(const std::string& id, int kind) const {
    const auto key = IdOf(id);
    auto it = key ? applied.find(*key) : applied.end();
    if (it == applied.end()) return Apply::kWaiting;
    if (it->second != kind) return Apply::kVoid;
    return std::nullopt;
  }

  Apply ApplyPayload(const FoldEvent& ev) {
    const EventBody& b = ev.body;
    const std::string& author = b.author();
    const auto author_key = *ToId<MemberKey>(author);
    switch (b.payload_case()) {
      case EventBody::kAdmit: {
        const auto& a = b.admit();
        auto key = ToId<MemberKey>(a.member());
        if (!key) return Apply::kVoid;
        auto it = members.find(a.member());
        if (it == members.end()) {
          Member m;
          m.key = *key;
          m.name = a.info().name();
          m.organisation = a.info().organisation();
          m.admitted_ms = b.timestamp_ms();
          m.admissions.push_back({author_key, b.seq(), b.timestamp_ms(), ev.id});
          members.emplace(a.member(), m);
          admit_event[a.member()] = ev.id.str();
        } else {
          // As in the replica: the record of the smallest admitting event id stands (the
          // founder's is the charter's); the member counts from their earliest admission.
          Member& m = it->second;
          m.admitted_ms = std::min(m.admitted_ms, b.timestamp_ms());
          if (!m.founder) m.admissions.push_back({author_key, b.seq(), b.timestamp_ms(), ev.id});
          if (!m.founder && ev.id.str() < admit_event[a.member()]) {
            m.name = a.info().name();
            m.organisation = a.info().organisation();
            admit_event[a.member()] = ev.id.str();
          }
        }
        return Apply::kApplied;
      }
      case EventBody::kProposal: {
        const auto& p = b.proposal();
        ProposalRecord r;
        r.event = ev.id;
        r.author = author_key;
        r.seq = b.seq();
        r.title = p.title();
        r.topic = p.topic();
        r.amount_minor = Money(p.amount_minor());
        r.created_ms = b.timestamp_ms();
        r.deadline_ms = p.deadline_ms();
        if (p.has_rules()) r.rule_change = EffectiveRules(p.rules());
        proposals.emplace(ev.id.str(), std::move(r));
        return Apply::kApplied;
      }
      case EventBody::kVote: {
        if (auto s = Need(b.vote().proposal(), EventBody::kProposal)) return *s;
        proposals[b.vote().proposal()].votes.push_back(
            {author_key, b.seq(), b.timestamp_ms(), b.vote().choice(), ev.id});
        return Apply::kApplied;
      }
      case EventBody::kRiskFlag: {
        const auto& f = b.risk_flag();
        if (auto s = Need(f.proposal(), EventBody::kProposal)) return *s;
        FlagRecord r;
        r.event = ev.id;
        r.flagger = author_key;
        r.seq = b.seq();
        r.severity = f.severity();
        r.category = f.category();
        r.timestamp_ms = b.timestamp_ms();
        flags.emplace(ev.id.str(), std::make_pair(f.proposal(), std::move(r)));
        return Apply::kApplied;
      }
      case EventBody::kFlagResolution: {
        const auto& res = b.flag_resolution();
        if (auto s = Need(res.flag(), EventBody::kRiskFlag)) return *s;
        auto& [proposal, flag] = flags[res.flag()];
        const bool ok =
            (res.kind() == v1::FlagResolution::WITHDRAW && author_key == flag.flagger) ||
            (res.kind() == v1::FlagResolution::ANSWER &&
             author_key == proposals[proposal].author) ||
            res.kind() == v1::FlagResolution::OVERRIDE;
        if (!ok) return Apply::kVoid;
        flag.resolutions.push_back({ev.id, author_key, b.seq(), res.kind(), b.timestamp_ms()});
        return Apply::kApplied;
      }
      case EventBody::kEndorsement: {
        if (auto s = Need(b.endorsement().proposal(), EventBody::kProposal)) return *s;
        proposals[b.endorsement().proposal()].endorsements.push_back(
            {author_key, b.seq(), b.timestamp_ms(), ev.id});
        return Apply::kApplied;
      }
      case EventBody::kComment: {
        const auto& t = b.comment().target();
        if (!t.empty()) {
          const auto key = IdOf(t);
          if (!key || !applied.count(*key)) return Apply::kWaiting;
        }
        return Apply::kApplied;
      }
      case EventBody::kDelegation: {
        const auto& d = b.delegation();
        DelegationRecord r;
        r.delegator = author_key;
        r.topic = d.topic();
        r.seq = b.seq();
        r.timestamp_ms = b.timestamp_ms();
        r.revoke = d.revoke();
        r.event = ev.id;
        if (!d.revoke()) {
          if (!members.count(d.delegate())) return Apply::kWaiting;  // delegate not yet admitted
          r.delegate = *ToId<MemberKey>(d.delegate());
        }
        delegations.push_back(std::move(r));
        return Apply::kApplied;
      }
      case EventBody::kWithdraw: {
        const auto& w = b.withdraw();
        if (auto s = Need(w.proposal(), EventBody::kProposal)) return *s;
        auto& p = proposals[w.proposal()];
        if (p.author != author_key) return Apply::kVoid;
        // The author's events apply in seq order, so the first applied is the earliest.
        if (!p.withdrawn_ms) {
          p.withdrawn_ms = b.timestamp_ms();
          p.withdrawn_seq = b.seq();
        }
        return Apply::kApplied;
      }
      case EventBody::kSeal: {
        SealRecord r;
        r.author = author_key;
        r.seq = b.seq();
        r.timestamp_ms = b.timestamp_ms();
        r.deadline_ms = b.seal().deadline_ms();
        r.event = ev.id;
        for (const auto& h : b.seal().heads()) {
          if (auto k = ToId<MemberKey>(h.author())) r.heads.emplace_back(*k, h.seq());
        }
        seals.push_back(std::move(r));
        return Apply::kApplied;
      }
      case EventBody::kCharter:  // a second charter, or not at seq 1
      case EventBody::PAYLOAD_NOT_SET: return Apply::kVoid;
    }
    return Apply::kVoid;
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
    case Ignored::kNotMember: return "author not a member";
    case Ignored::kPending: return "waits for an event not held (gap)";
    case Ignored::kForked: return "author forked (equivocated)";
    case Ignored::kVoid: return "void (breaks a rule)";
  }
  return "unknown";
}

Rules EffectiveRules(const v1::DecisionRules& r) {
  Rules out;
  if (r.voting_window_ms() > 0) out.voting_window_ms = r.voting_window_ms();
  if (r.quorum_bps() != 0) out.quorum_bps = std::min(r.quorum_bps(), kBpsWhole);
  if (r.approval_bps() != 0) out.approval_bps = std::min(r.approval_bps(), kBpsWhole);
  if (r.weighting() == v1::DecisionRules::ORGANISATION_BALANCED) out.weighting = r.weighting();
  if (r.allocation() == v1::DecisionRules::EQUAL_SHARES) out.allocation = r.allocation();
  if (r.max_share_per_proposal_bps() != 0) {
    out.max_share_per_proposal_bps = std::min(r.max_share_per_proposal_bps(), kBpsWhole);
  }
  if (r.max_share_per_org_bps() != 0) {
    out.max_share_per_org_bps = std::min(r.max_share_per_org_bps(), kBpsWhole);
  }
  if (r.blocking_severity() != v1::SEVERITY_UNSPECIFIED)
    out.blocking_severity = r.blocking_severity();
  if (r.mitigation_acceptances() != 0) out.mitigation_acceptances = r.mitigation_acceptances();
  if (r.override_bps() != 0) out.override_bps = std::min(r.override_bps(), kBpsWhole);
  if (r.admission_quorum() != 0) out.admission_quorum = r.admission_quorum();
  out.seals_required = r.seals_required();
  out.quorum_by_weight = r.quorum_by_weight();
  if (r.rule_change_bps() != 0) out.rule_change_bps = std::min(r.rule_change_bps(), kBpsWhole);
  return out;
}

v1::DecisionRules ToProto(const Rules& r) {
  v1::DecisionRules out;
  out.set_voting_window_ms(r.voting_window_ms);
  out.set_quorum_bps(r.quorum_bps);
  out.set_approval_bps(r.approval_bps);
  out.set_weighting(r.weighting);
  out.set_allocation(r.allocation);
  out.set_max_share_per_proposal_bps(r.max_share_per_proposal_bps);
  out.set_max_share_per_org_bps(r.max_share_per_org_bps);
  out.set_blocking_severity(r.blocking_severity);
  out.set_mitigation_acceptances(r.mitigation_acceptances);
  out.set_override_bps(r.override_bps);
  out.set_admission_quorum(r.admission_quorum);
  out.set_seals_required(r.seals_required);
  out.set_rule_change_bps(r.rule_change_bps);
  out.set_quorum_by_weight(r.quorum_by_weight);
  return out;
}

const Member* CircleState::FindMember(const MemberKey& key) const {
  auto it = std::lower_bound(members.begin(), members.end(), key,
                             [](const Member& m, const MemberKey& k) { return m.key < k; });
  return it != members.end() && it->key == key ? &*it : nullptr;
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
    ByBytes<std::uint32_t> rank;
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

  // Logs per author (ranges of the sorted events), and forks: two different events at one
  // (author, seq).
  std::vector<const FoldEvent*> in_circle;
  in_circle.reserve(evs.size());
  for (auto* e : evs) {
    if (e->body.circle_id() != circle) {
      f.Ignore(*e, Ignored::kWrongCircle);
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
    const std::string* author;
    std::vector<Slot> slots;  // by seq
    std::size_t cursor = 0;   // the slot of the next seq to apply, if present
  };
  std::vector<Log> logs;
  for (std::size_t i = 0; i < in_circle.size(); ++i) {
    const auto& b = in_circle[i]->body;
    if (logs.empty() || *logs.back().author != b.author()) logs.push_back({&b.author(), {}, 0});
    auto& slots = logs.back().slots;
    if (!slots.empty() && slots.back().seq == b.seq()) {
      ++slots.back().count;
    } else {
      slots.push_back({b.seq(), i, 1});
    }
  }
  ByBytes<std::uint64_t> forks;
  for (const auto& log : logs) {
    for (const auto& slot : log.slots) {
      if (slot.count > 1) {
        forks[*log.author] = slot.seq;  // the lowest, since seqs iterate in order
        break;
      }
    }
  }

  // The least fixpoint: apply each author's next event while anything can be applied.
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& log : logs) {
      const std::string& author = *log.author;
      auto& head = f.heads[author];
      const auto fk = forks.find(author);
      const bool is_member = f.members.count(author) > 0;
      for (;;) {
        const std::uint64_t next = head.seq + 1;
        if (fk != forks.end() && next >= fk->second) break;
        while (log.cursor < log.slots.size() && log.slots[log.cursor].seq < next) ++log.cursor;
        if (log.cursor == log.slots.size() || log.slots[log.cursor].seq != next) break;
        const FoldEvent& ev = *in_circle[log.slots[log.cursor].first];
        const EventBody& b = ev.body;
        Apply step;
        if (b.has_charter() && &ev == charter) {
          auto founder = ToId<MemberKey>(author);
          if (!founder) break;
          Member m;
          m.key = *founder;
          m.name = b.charter().founder().name();
          m.organisation = b.charter().founder().organisation();
          m.admitted_ms = b.timestamp_ms();
          m.founder = true;
          f.members[author] = m;
          f.admit_event[author] = ev.id.str();
          f.st.has_charter = true;
          f.st.charter_event = ev.id;
          f.st.circle = ToId<CircleId>(circle).value_or(CircleId{});
          f.st.founder = *founder;
          f.st.name = b.charter().name();
          f.st.pool_minor = Money(b.charter().pool_minor());
          f.st.unit = b.charter().unit();
          f.st.decimals = b.charter().decimals();
          f.st.rules = EffectiveRules(b.charter().rules());
          step = Apply::kApplied;
        } else {
          if (!is_member && !f.members.count(author)) break;  // not (yet) admitted
          if (next > 1 && (b.prev().size() != 32 ||
                           std::memcmp(b.prev().data(), head.id.bytes.data(), 32) != 0)) {
            break;  // not the successor of the head
          }
          step = b.timestamp_ms() < head.ts ? Apply::kVoid : f.ApplyPayload(ev);
        }
        if (step == Apply::kWaiting) break;
        f.applied[ev.id] = step == Apply::kApplied ? static_cast<int>(b.payload_case()) : kVoidKind;
        if (step == Apply::kVoid) f.Ignore(ev, Ignored::kVoid);
        head = {next, ev.id, b.timestamp_ms()};
        progress = true;
      }
    }
  }

  // Everything not applied, with the reason.
  for (const auto& log : logs) {
    const std::string& author = *log.author;
    const auto fk = forks.find(author);
    for (const auto& slot : log.slots) {
      for (std::size_t j = slot.first; j < slot.first + slot.count; ++j) {
        const FoldEvent* e = in_circle[j];
        if (f.applied.count(e->id)) continue;
        const Ignored why = fk != forks.end() && slot.seq >= fk->second ? Ignored::kForked
                            : !f.members.count(author)                  ? Ignored::kNotMember
                                                                        : Ignored::kPending;
        f.Ignore(*e, why);
      }
    }
  }

  // Canonical, sorted output.
  std::vector<std::pair<const std::string*, Member*>> members;
  for (auto& [k, m] : f.members) members.emplace_back(&k, &m);
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (auto& [kp, mp] : members) {
    const std::string& k = *kp;
    Member& m = *mp;
    if (auto fk = forks.find(k); fk != forks.end()) m.fork_seq = fk->second;
    std::sort(m.admissions.begin(), m.admissions.end(), [](const auto& a, const auto& b) {
      return std::tie(a.timestamp_ms, a.event) < std::tie(b.timestamp_ms, b.event);
    });
    f.st.members.push_back(m);
  }
  for (auto& [id, fl] : f.flags) f.proposals[fl.first].flags.push_back(std::move(fl.second));
  std::vector<std::pair<const std::string*, ProposalRecord*>> proposals;
  for (auto& [id, p] : f.proposals) proposals.emplace_back(&id, &p);
  std::sort(proposals.begin(), proposals.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  f.st.proposals.reserve(proposals.size());
  for (auto& [idp, pp] : proposals) {
    ProposalRecord& p = *pp;
    auto by_member = [](const VoteRecord& a, const VoteRecord& b) {
      // Keys are 32 bytes: their first 8, big-endian, order them as a whole nearly always.
      const std::uint64_t pa = Prefix8(a.voter), pb = Prefix8(b.voter);
      if (pa != pb) return pa < pb;
      return std::tie(a.voter, a.seq) < std::tie(b.voter, b.seq);
    };
    std::sort(p.votes.begin(), p.votes.end(), by_member);
    std::sort(p.endorsements.begin(), p.endorsements.end(), [](const auto& a, const auto& b) {
      return std::tie(a.member, a.seq) < std::tie(b.member, b.seq);
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
    return std::tie(a.delegator, a.topic, a.seq) < std::tie(b.delegator, b.topic, b.seq);
  });
  f.st.delegations = std::move(f.delegations);
  std::sort(f.seals.begin(), f.seals.end(), [](const auto& a, const auto& b) {
    return std::tie(a.deadline_ms, a.author, a.seq) < std::tie(b.deadline_ms, b.author, b.seq);
  });
  f.st.seals = std::move(f.seals);
  std::sort(f.ignored.begin(), f.ignored.end(), [](const auto& a, const auto& b) {
    return std::tie(a.author, a.seq, a.event) < std::tie(b.author, b.seq, b.event);
  });
  f.st.ignored = std::move(f.ignored);
  return f.st;
}

}  // namespace polder::decide
