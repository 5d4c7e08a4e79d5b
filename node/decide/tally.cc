#include "node/decide/tally.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include <gmpxx.h>

#include "node/decide/limits.h"
#include "proto/time_text.h"
#include "proto/words.h"

namespace polder::decide {
namespace {

Fraction ToFraction(const mpq_class& q) { return {q.get_num().get_str(), q.get_den().get_str()}; }

bool ValidChoice(v1::Choice c) { return c == v1::FOR || c == v1::AGAINST || c == v1::ABSTAIN; }

// pool × bps / 10000, floored; 128-bit so pools up to kMaxAmountMinor cannot overflow.
Money Share(Money pool, std::uint32_t bps) {
  if (pool <= 0) return 0;
  return static_cast<Money>(static_cast<__int128>(pool) * bps / kBpsWhole);
}
// amount > bps/10000 of pool, exactly.
bool Over(Money amount, Money pool, std::uint32_t bps) {
  return static_cast<__int128>(amount) * kBpsWhole > static_cast<__int128>(bps) * pool;
}

// Member keys → their index in CircleState::members: a hash table on the keys' first 8 bytes
// (keys are uniformly distributed), then a full comparison.
class MemberIndex {
 public:
  explicit MemberIndex(const CircleState& st) : st_(st) {
    by_prefix_.reserve(st.members.size() * 2);
    for (std::size_t i = 0; i < st.members.size(); ++i) {
      by_prefix_.emplace(Prefix(st.members[i].key), static_cast<int>(i));
    }
  }
  int Of(const MemberKey& k) const {
    auto [lo, hi] = by_prefix_.equal_range(Prefix(k));
    for (; lo != hi; ++lo) {
      if (Same(st_.members[static_cast<std::size_t>(lo->second)].key, k)) return lo->second;
    }
    return -1;
  }

 private:
  static std::uint64_t Prefix(const MemberKey& k) {
    std::uint64_t p;
    std::memcpy(&p, k.bytes.data(), sizeof p);
    return p;
  }
  static bool Same(const MemberKey& a, const MemberKey& b) {
    std::uint64_t x[4], y[4];
    std::memcpy(x, a.bytes.data(), sizeof x);
    std::memcpy(y, b.bytes.data(), sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
  }
  const CircleState& st_;
  std::unordered_multimap<std::uint64_t, int> by_prefix_;
};

// Which events decide a round: all held, or (sealed) those within the sealed heads.
struct View {
  const std::vector<std::uint64_t>* sealed = nullptr;  // per member index
  bool Covers(int member, std::uint64_t seq) const {
    if (!sealed) return true;
    return member >= 0 && seq <= (*sealed)[static_cast<std::size_t>(member)];
  }
};

// Everything one round's proposals share: cut-off, view, rules, eligibility, weights.
struct RoundCtx {
  const CircleState& st;
  const MemberIndex& index;
  const Rules& rules;
  // Optional: per proposal (position in st.proposals), each vote's voter index.
  const std::vector<std::vector<int>>* voters = nullptr;
  int VoterOf(const ProposalRecord& p, std::size_t j) const {
    if (voters) return (*voters)[static_cast<std::size_t>(&p - st.proposals.data())][j];
    return index.Of(p.votes[j].voter);
  }
  std::int64_t cutoff = 0;
  bool closed = false;
  View view;
  std::vector<char> eligible;           // per member index
  std::vector<int> org_of;              // per member index → index into orgs
  std::vector<std::string> orgs;        // names, sorted
  std::vector<std::uint32_t> org_size;  // eligible members per organisation
  std::uint32_t n_eligible = 0;
  std::uint32_t n_orgs = 0;          // organisations with an eligible member
  std::vector<Fraction> org_weight;  // each member's weight, per organisation
  // Delegations in force at the cut-off within the view, per member index.
  std::vector<const DelegationRecord*> general;
  std::map<std::pair<int, std::string>, const DelegationRecord*> topical;
  std::vector<int> delegators;  // member indexes with any delegation in force, sorted

  RoundCtx(const CircleState& s, const MemberIndex& ix, const Rules& r)
      : st(s), index(ix), rules(r) {}

  bool Balanced() const { return rules.weighting == v1::DecisionRules::ORGANISATION_BALANCED; }
  bool Eligible(int i) const { return i >= 0 && eligible[static_cast<std::size_t>(i)]; }
  bool Forked(int i) const { return i >= 0 && st.members[static_cast<std::size_t>(i)].forked(); }
  // A member's weight as an exact fraction of the total (for + against are sums of these).
  mpq_class Weight(int i) const {
    if (!Balanced()) return 1;
    return mpq_class(1, org_size[static_cast<std::size_t>(org_of[static_cast<std::size_t>(i)])]);
  }
  mpq_class TotalWeight() const { return Balanced() ? n_orgs : n_eligible; }

  void Prepare() {
    const std::size_t n = st.members.size();
    // Eligibility: admissions within the cut-off and the view, in (timestamp, id) order.
    eligible.assign(n, 0);
    struct Adm {
      std::int64_t ts;
      const EventId* id;
      int admitter;
      int member;
    };
    std::vector<Adm> adms;
    for (std::size_t i = 0; i < n; ++i) {
      const Member& m = st.members[i];
      if (m.founder) {
        if (m.admitted_ms <= cutoff) eligible[i] = 1;
        continue;
      }
      for (const auto& a : m.admissions) {
        const int who = index.Of(a.admitter);
        if (a.timestamp_ms <= cutoff && view.Covers(who, a.seq)) {
          adms.push_back({a.timestamp_ms, &a.event, who, static_cast<int>(i)});
        }
      }
    }
    std::sort(adms.begin(), adms.end(), [](const Adm& a, const Adm& b) {
      return std::tie(a.ts, *a.id) < std::tie(b.ts, *b.id);
    });
    std::uint32_t full = 0;
    for (auto e : eligible) full += e ? 1 : 0;
    std::map<int, std::set<int>> admitters;
    for (const auto& a : adms) {
      if (eligible[static_cast<std::size_t>(a.member)] || !Eligible(a.admitter)) continue;
      auto& who = admitters[a.member];
      who.insert(a.admitter);
      if (who.size() >= std::min<std::uint32_t>(rules.admission_quorum, std::max(full, 1u))) {
        eligible[static_cast<std::size_t>(a.member)] = 1;
        ++full;
      }
    }
    // Organisations and weights.
    std::map<std::string, std::uint32_t> sizes;
    for (std::size_t i = 0; i < n; ++i) {
      sizes[st.members[i].organisation] += eligible[i] ? 1 : 0;
    }
    orgs.clear();
    org_size.clear();
    for (const auto& [name, c] : sizes) {
      orgs.push_back(name);
      org_size.push_back(c);
      n_orgs += c > 0 ? 1 : 0;
      n_eligible += c;
    }
    org_of.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      org_of[i] = static_cast<int>(
          std::lower_bound(orgs.begin(), orgs.end(), st.members[i].organisation) - orgs.begin());
    }
    org_weight.clear();
    for (auto c : org_size) {
      org_weight.push_back(Balanced() && c > 0 ? Fraction{"1", std::to_string(c)}
                                               : Fraction{"1", "1"});
    }
    // Delegations in force: each (delegator, topic)'s latest record within the cut-off and view.
    general.assign(n, nullptr);
    topical.clear();
    std::set<int> with;
    for (std::size_t j = 0; j < st.delegations.size();) {
      const auto& first = st.delegations[j];
      const int who = index.Of(first.delegator);
      const DelegationRecord* last = nullptr;
      std::size_t k = j;
      for (; k < st.delegations.size() && st.delegations[k].delegator == first.delegator &&
             st.delegations[k].topic == first.topic;
           ++k) {
        const auto& d = st.delegations[k];
        if (d.timestamp_ms <= cutoff && view.Covers(who, d.seq)) last = &d;
      }
      j = k;
      if (!last || last->revoke || who < 0) continue;
      if (last->topic.empty()) {
        general[static_cast<std::size_t>(who)] = last;
      } else {
        topical[{who, last->topic}] = last;
      }
      with.insert(who);
    }
    delegators.assign(with.begin(), with.end());
  }

  const DelegationRecord* DelegationOf(int i, const std::string& topic, bool* is_topic) const {
    *is_topic = false;
    if (!topic.empty()) {
      if (auto it = topical.find({i, topic}); it != topical.end()) {
        *is_topic = true;
        return it->second;
      }
    }
    return general[static_cast<std::size_t>(i)];
  }
};

// The tally of one proposal within its round (votes, delegation, quorum, approval, flags).
class ProposalTally {
 public:
  ProposalTally(const RoundCtx& ctx, const ProposalRecord& p) : c_(ctx), p_(p) {}

  mpq_class for_weight;
  bool covered = true;  // the proposal itself is in the round's view

  Explanation Run(const std::vector<const IgnoredEvent*>& ignored_votes) {
    Explanation e;
    e.deadline_ms = p_.deadline_ms;
    e.cutoff_ms = c_.cutoff;
    e.closed = c_.closed;
    e.quorum_bps = c_.rules.quorum_bps;
    e.approval_bps = p_.rule_change ? c_.rules.rule_change_bps : c_.rules.approval_bps;
    e.eligible_members = c_.n_eligible;
    covered = c_.view.Covers(c_.index.Of(p_.author), p_.seq);

    // Direct votes: votes are sorted by (voter, seq), so each voter's last eligible one stands.
    std::vector<std::pair<int, const VoteRecord*>> direct;
    for (std::size_t j = 0; j < p_.votes.size(); ++j) {
      const VoteRecord& v = p_.votes[j];
      const int i = c_.VoterOf(p_, j);
      std::optional<Exclusion> why;
      if (i < 0) {
        why = Exclusion::kNotMember;
      } else if (c_.Forked(i)) {
        why = Exclusion::kForkedAuthor;
      } else if (!c_.Eligible(i)) {
        why = Exclusion::kNotMember;
      } else if (v.timestamp_ms > c_.cutoff) {
        why = Exclusion::kLate;
      } else if (!c_.view.Covers(i, v.seq)) {
        why = Exclusion::kNotSealed;
      }
      if (why) {
        e.excluded.push_back({v.voter, v.event, *why});
        continue;
      }
      if (!ValidChoice(v.choice)) continue;
      if (!direct.empty() && direct.back().first == i) {
        direct.back().second = &v;
      } else {
        direct.emplace_back(i, &v);
      }
    }
    for (const auto* ig : ignored_votes) {
      const Exclusion why = ig->reason == Ignored::kForked      ? Exclusion::kForkedAuthor
                            : ig->reason == Ignored::kNotMember ? Exclusion::kNotMember
                                                                : Exclusion::kNotApplied;
      e.excluded.push_back({ig->author, ig->event, why});
    }
    std::sort(e.excluded.begin(), e.excluded.end(), [](const auto& a, const auto& b) {
      return std::tie(a.voter, a.event) < std::tie(b.voter, b.event);
    });
    auto direct_of = [&](int i) -> const VoteRecord* {
      auto it = std::lower_bound(direct.begin(), direct.end(), i,
                                 [](const auto& d, int k) { return d.first < k; });
      return it != direct.end() && it->first == i ? it->second : nullptr;
    };

    // Delegated votes.
    struct Cast {
      int member;
      const VoteRecord* vote;
      std::vector<MemberKey> via;
      std::vector<EventId> hops;
    };
    std::vector<Cast> cast;
    cast.reserve(direct.size() + c_.delegators.size());
    for (const auto& [i, v] : direct) cast.push_back({i, v, {}, {}});
    for (int i : c_.delegators) {
      if (!c_.Eligible(i)) continue;
      bool topic = false;
      const DelegationRecord* d = c_.DelegationOf(i, p_.topic, &topic);
      if (!d) continue;
      DelegationNote note;
      note.delegator = c_.st.members[static_cast<std::size_t>(i)].key;
      note.topic = topic;
      if (c_.Forked(i)) {
        note.end = DelegationEnd::kDelegatorForked;
        e.delegations.push_back(std::move(note));
        continue;
      }
      if (direct_of(i)) {
        note.chain.push_back(d->delegate);
        note.end = DelegationEnd::kOverriddenByOwnVote;
        e.delegations.push_back(std::move(note));
        continue;
      }
      std::vector<int> seen{i};  // chains are short
      std::vector<EventId> hops;
      for (;;) {
        hops.push_back(d->event);
        const int next = c_.index.Of(d->delegate);
        if (std::find(seen.begin(), seen.end(), next) != seen.end()) {
          note.end = DelegationEnd::kCycle;
          break;
        }
        seen.push_back(next);
        note.chain.push_back(d->delegate);
        if (c_.Forked(next)) {
          note.end = DelegationEnd::kEndsAtForked;
          break;
        }
        if (const VoteRecord* v = next >= 0 && c_.Eligible(next) ? direct_of(next) : nullptr) {
          note.end = DelegationEnd::kUsed;
          cast.push_back({i, v, note.chain, std::move(hops)});
          break;
        }
        bool unused = false;
        d = next >= 0 ? c_.DelegationOf(next, p_.topic, &unused) : nullptr;
        if (!d) {
          note.end = DelegationEnd::kEndsAtNonVoter;
          break;
        }
      }
      e.delegations.push_back(std::move(note));
    }
    std::sort(cast.begin(), cast.end(),
              [](const Cast& a, const Cast& b) { return a.member < b.member; });

    // Counts per organisation; weights exact.
    const std::size_t norgs = c_.orgs.size();
    std::vector<OrgFigures> orgs(norgs);
    for (std::size_t o = 0; o < norgs; ++o) {
      orgs[o].organisation = c_.orgs[o];
      orgs[o].members = c_.org_size[o];
    }
    e.votes.reserve(cast.size());
    for (auto& cv : cast) {
      const auto o = static_cast<std::size_t>(c_.org_of[static_cast<std::size_t>(cv.member)]);
      auto& of = orgs[o];
      ++of.voted;
      ++e.participants;
      const v1::Choice choice = cv.vote->choice;
      if (choice == v1::FOR) {
        ++of.for_count;
        ++e.for_count;
      } else if (choice == v1::AGAINST) {
        ++of.against_count;
        ++e.against_count;
      } else {
        ++of.abstain_count;
        ++e.abstain_count;
      }
      const Member& m = c_.st.members[static_cast<std::size_t>(cv.member)];
      e.votes.push_back({m.key, m.organisation, choice, c_.org_weight[o], std::move(cv.via),
                         cv.vote->event, std::move(cv.hops)});
    }
    mpq_class against_weight, participant_weight;
    for (std::size_t o = 0; o < norgs; ++o) {
      auto& of = orgs[o];
      if (of.members == 0 && of.voted == 0) continue;
      mpq_class pw = of.voted;
      if (c_.Balanced() && of.members > 0) {
        pw /= of.members;
        pw.canonicalize();
      }
      participant_weight += pw;
      mpq_class fw = of.for_count, aw = of.against_count;
      if (c_.Balanced() && of.members > 0) {
        fw /= of.members;
        aw /= of.members;
        fw.canonicalize();
        aw.canonicalize();
      }
      for_weight += fw;
      against_weight += aw;
      of.for_weight = ToFraction(fw);
      of.against_weight = ToFraction(aw);
      e.organisations.push_back(std::move(of));
    }
    e.for_weight = ToFraction(for_weight);
    e.against_weight = ToFraction(against_weight);
    const mpq_class eligible_weight = c_.TotalWeight();
    e.quorum_by_weight = c_.rules.quorum_by_weight;
    e.participant_weight = ToFraction(participant_weight);
    e.eligible_weight = ToFraction(eligible_weight);
    e.quorum_met = e.eligible_members > 0 &&
                   (e.quorum_by_weight ? participant_weight * kBpsWhole >=
                                             mpq_class(e.quorum_bps) * eligible_weight
                                       : std::uint64_t{e.participants} * kBpsWhole >=
                                             std::uint64_t{e.quorum_bps} * e.eligible_members);
    const mpq_class lhs = for_weight * kBpsWhole;
    const mpq_class rhs = mpq_class(e.approval_bps) * (for_weight + against_weight);
    e.approved = for_weight > 0 && (p_.rule_change ? lhs >= rhs : lhs > rhs);
    Flags(&e);
    return e;
  }

 private:
  void Flags(Explanation* e) const {
    const int proposer = c_.index.Of(p_.author);
    for (const auto& f : p_.flags) {
      const int flagger = c_.index.Of(f.flagger);
      if (f.timestamp_ms > c_.cutoff || !c_.view.Covers(flagger, f.seq)) continue;
      FlagNote n;
      n.flag = f.event;
      n.flagger = f.flagger;
      n.severity = f.severity;
      n.blocking_severity = f.severity >= c_.rules.blocking_severity;
      bool withdrawn = false;
      std::optional<std::int64_t> answer_ms;  // resolutions are sorted by time: the first answer
      std::set<int> overrides;
      for (const auto& r : f.resolutions) {
        const int who = c_.index.Of(r.author);
        if (r.timestamp_ms > c_.cutoff || !c_.view.Covers(who, r.seq)) continue;
        if (r.kind == v1::FlagResolution::WITHDRAW) withdrawn = true;
        if (r.kind == v1::FlagResolution::ANSWER && !answer_ms) answer_ms = r.timestamp_ms;
        if (r.kind == v1::FlagResolution::OVERRIDE && c_.Eligible(who) && !c_.Forked(who)) {
          overrides.insert(who);
        }
      }
      mpq_class override_weight;
      for (int i : overrides) {
        n.overrides.push_back(c_.st.members[static_cast<std::size_t>(i)].key);
        override_weight += c_.Weight(i);
      }
      const mpq_class total = c_.TotalWeight();
      n.override_weight = ToFraction(override_weight);
      n.total_weight = ToFraction(total);
      const bool overridden = !overrides.empty() && override_weight * kBpsWhole >=
                                                        mpq_class(c_.rules.override_bps) * total;
      n.answered = answer_ms.has_value();
      if (answer_ms) {
        std::set<MemberKey> accepted;
        for (const auto& en : p_.endorsements) {
          const int who = c_.index.Of(en.member);
          if (!c_.Eligible(who) || c_.Forked(who) || who == proposer || who == flagger) continue;
          if (en.timestamp_ms > *answer_ms && en.timestamp_ms <= c_.cutoff &&
              c_.view.Covers(who, en.seq)) {
            accepted.insert(en.member);
          }
        }
        n.acceptances.assign(accepted.begin(), accepted.end());
      }
      n.state = withdrawn    ? FlagState::kWithdrawn
                : overridden ? FlagState::kOverridden
                : n.answered && n.acceptances.size() >= c_.rules.mitigation_acceptances
                    ? FlagState::kMitigated
                    : FlagState::kOpen;
      if (n.state == FlagState::kOpen && n.blocking_severity) e->blocked = true;
      e->flags.push_back(std::move(n));
    }
  }

  const RoundCtx& c_;
  const ProposalRecord& p_;
};

std::string OrgOf(const CircleState& st, const MemberKey& k) {
  const Member* m = st.FindMember(k);
  return m ? m->organisation : std::string();
}

// Counts a round's seals (see tally.h). `ctx` must be prepared with the full view at the deadline.
SealNote CountSeals(const RoundCtx& ctx, std::int64_t deadline, std::vector<std::uint64_t>* heads) {
  const CircleState& st = ctx.st;
  SealNote note;
  const std::uint32_t n = ctx.n_eligible;
  note.required = ctx.rules.seals_required > 0 ? std::min(ctx.rules.seals_required, n) : n / 2 + 1;
  note.required = std::max(note.required, 1u);
  auto lo = std::lower_bound(st.seals.begin(), st.seals.end(), deadline,
                             [](const SealRecord& s, std::int64_t d) { return s.deadline_ms < d; });
  std::vector<std::pair<int, const SealRecord*>> cands;  // first seal per eligible, unforked member
  for (auto it = lo; it != st.seals.end() && it->deadline_ms == deadline; ++it) {
    const int i = ctx.index.Of(it->author);
    if (!ctx.Eligible(i) || ctx.Forked(i)) continue;
    if (!cands.empty() && cands.back().first == i) continue;  // sorted by (author, seq)
    cands.emplace_back(i, &*it);
  }
  auto coverage = [&](const SealRecord& s, int author) -> std::uint64_t {
    const MemberKey& k = st.members[static_cast<std::size_t>(author)].key;
    auto h = std::lower_bound(s.heads.begin(), s.heads.end(), k,
                              [](const auto& e, const MemberKey& key) { return e.first < key; });
    std::uint64_t c = h != s.heads.end() && h->first == k ? h->second : 0;
    if (k == s.author) c = std::max(c, s.seq - 1);
    return c;
  };
  std::vector<const SealRecord*> counting;
  for (const auto& [i, s] : cands) {
    std::uint32_t covers = 0;
    for (const auto& [j, t] : cands) {
      if (j != i && coverage(*s, j) >= t->seq) ++covers;
    }
    if (covers >= note.required) {
      note.late.push_back(s->author);
    } else {
      note.counting.push_back(s->author);
      counting.push_back(s);
    }
  }
  note.sealed = counting.size() >= note.required;
  if (note.sealed && heads) {
    heads->assign(st.members.size(), 0);
    std::vector<std::uint64_t> values;
    for (std::size_t m = 0; m < st.members.size(); ++m) {
      values.clear();
      for (const auto* s : counting) values.push_back(coverage(*s, static_cast<int>(m)));
      std::nth_element(values.begin(), values.begin() + (note.required - 1), values.end(),
                       std::greater<>());
      (*heads)[m] = values[note.required - 1];
    }
  }
  return note;
}

// One round's outcomes under `ctx`, from `left` of the pool and the organisations' spending.
struct RoundRun {
  std::vector<ProposalOutcome> outcomes;  // in the round's order (by id)
  Money left = 0;
  std::map<std::string, Money> org_spent;
  std::string allocation_error;
};

using IgnoredVotes = std::map<EventId, std::vector<const IgnoredEvent*>>;

// One proposal's figures and its status before allocation.
ProposalOutcome TallyOne(const RoundCtx& ctx, const ProposalRecord& proposal,
                         const IgnoredVotes& ignored_votes, mpq_class* for_weight) {
  const CircleState& st = ctx.st;
  const Rules& rules = ctx.rules;
  static const std::vector<const IgnoredEvent*> kNone;
  const ProposalRecord* p = &proposal;
  {
    ProposalTally pt(ctx, *p);
    ProposalOutcome o;
    o.proposal = p->event;
    o.title = p->title;
    o.author = p->author;
    o.organisation = OrgOf(st, p->author);
    o.topic = p->topic;
    o.amount_minor = p->amount_minor;
    o.rule_change = p->rule_change.has_value();
    auto ig = ignored_votes.find(p->event);
    o.explanation = pt.Run(ig == ignored_votes.end() ? kNone : ig->second);
    *for_weight = pt.for_weight;
    const auto& e = o.explanation;
    o.explanation.allocation.proposal_cap = Share(st.pool_minor, rules.max_share_per_proposal_bps);
    o.explanation.allocation.org_cap = Share(st.pool_minor, rules.max_share_per_org_bps);
    const int author = ctx.index.Of(p->author);
    const bool withdrawn = p->withdrawn_ms && *p->withdrawn_ms <= ctx.cutoff &&
                           ctx.view.Covers(author, p->withdrawn_seq);
    if (withdrawn) {
      o.status = Status::kWithdrawn;
    } else if (!e.closed) {
      o.status = Status::kOpen;
    } else {
      o.status = o.rule_change ? Status::kNotAdopted : Status::kNotFunded;
      o.reason = !pt.covered     ? Reason::kNotSealed
                 : !e.quorum_met ? Reason::kQuorumNotMet
                 : !e.approved   ? Reason::kNotApproved
                 : e.blocked     ? Reason::kBlockedByFlag
                                 : Reason::kNone;  // a candidate: decided below
      if (o.rule_change && o.reason == Reason::kNone) o.status = Status::kAdopted;
    }
    return o;
  }
}

// Undoes Allocate() on outcomes, so it can run again.
void ResetAllocation(std::vector<ProposalOutcome>& outcomes) {
  for (auto& o : outcomes) {
    auto& a = o.explanation.allocation;
    a.considered = false;
    a.pool_left_before = 0;
    a.org_spent_before = 0;
    if (o.status == Status::kFunded) o.status = Status::kNotFunded;
    if (o.reason == Reason::kOverProposalCap || o.reason == Reason::kOrgCapReached ||
        o.reason == Reason::kBudgetExhausted || o.reason == Reason::kNotSelected) {
      o.reason = Reason::kNone;
    }
  }
}

// Allocates a round among its candidates (closed, not funded yet, no reason against), in place.
void Allocate(const RoundCtx& ctx, const std::vector<mpq_class>& for_weight, RoundRun& run) {
  const CircleState& st = ctx.st;
  const Rules& rules = ctx.rules;
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < run.outcomes.size(); ++i) {
    const auto& o = run.outcomes[i];
    if (o.status == Status::kNotFunded && o.reason == Reason::kNone) candidates.push_back(i);
  }
  auto consider = [&](ProposalOutcome& o) {
    o.explanation.allocation.considered = true;
    o.explanation.allocation.pool_left_before = run.left;
    o.explanation.allocation.org_spent_before = run.org_spent[o.organisation];
  };
  auto over_org = [&](const ProposalOutcome& o) {
    return Over(run.org_spent[o.organisation] + o.amount_minor, st.pool_minor,
                rules.max_share_per_org_bps);
  };
  auto fund = [&](ProposalOutcome& o) {
    o.status = Status::kFunded;
    run.left -= o.amount_minor;
    run.org_spent[o.organisation] += o.amount_minor;
  };

  std::vector<std::size_t> within_cap;
  for (auto i : candidates) {
    auto& o = run.outcomes[i];
    if (Over(o.amount_minor, st.pool_minor, rules.max_share_per_proposal_bps)) {
      consider(o);
      o.reason = Reason::kOverProposalCap;
    } else {
      within_cap.push_back(i);
    }
  }

  if (rules.allocation == v1::DecisionRules::EQUAL_SHARES) {
    PbInstance in;
    in.budget = std::max<Money>(run.left, 0);
    in.unit = 1;
    for (std::uint32_t d = 0; d < std::min(st.decimals, kMaxDecimals); ++d) in.unit *= 10;
    std::map<MemberKey, std::vector<std::uint32_t>> ballots;
    for (std::uint32_t j = 0; j < within_cap.size(); ++j) {
      const auto& o = run.outcomes[within_cap[j]];
      in.projects.push_back({o.proposal.hex(), o.amount_minor});
      for (const auto& v : o.explanation.votes) {
        if (v.choice == v1::FOR) ballots[v.member].push_back(j);
      }
    }
    for (auto& [k, b] : ballots) in.approvals.push_back(std::move(b));
    std::vector<bool> taken(within_cap.size(), false);
    if (!within_cap.empty()) {
      auto mes = Mes(in, MesOptions{Utility::kCost, Completion::kAdd1});
      if (!mes) run.allocation_error = mes.error().message;
      if (mes) {
        for (const auto& f : mes->funded) {
          auto& o = run.outcomes[within_cap[f.project]];
          taken[f.project] = true;
          consider(o);
          if (over_org(o)) {
            o.reason = Reason::kOrgCapReached;
          } else {
            fund(o);
          }
        }
      }
    }
    for (std::uint32_t j = 0; j < within_cap.size(); ++j) {
      if (taken[j]) continue;
      auto& o = run.outcomes[within_cap[j]];
      consider(o);
      o.reason = Reason::kNotSelected;
    }
  } else {
    std::sort(within_cap.begin(), within_cap.end(), [&](std::size_t a, std::size_t b) {
      const auto& pa = run.outcomes[a];
      const auto& pb = run.outcomes[b];
      if (for_weight[a] != for_weight[b]) return for_weight[a] > for_weight[b];
      if (pa.explanation.for_count != pb.explanation.for_count) {
        return pa.explanation.for_count > pb.explanation.for_count;
      }
      return std::tie(pa.amount_minor, pa.proposal) < std::tie(pb.amount_minor, pb.proposal);
    });
    for (auto i : within_cap) {
      auto& o = run.outcomes[i];
      consider(o);
      if (o.amount_minor > run.left) {
        o.reason = Reason::kBudgetExhausted;
      } else if (over_org(o)) {
        o.reason = Reason::kOrgCapReached;
      } else {
        fund(o);
      }
    }
  }
}

RoundRun RunRound(const RoundCtx& ctx, const std::vector<const ProposalRecord*>& round, Money left,
                  std::map<std::string, Money> org_spent, const IgnoredVotes& ignored_votes) {
  RoundRun run;
  run.left = left;
  run.org_spent = std::move(org_spent);
  std::vector<mpq_class> for_weight(round.size());
  for (std::size_t i = 0; i < round.size(); ++i) {
    run.outcomes.push_back(TallyOne(ctx, *round[i], ignored_votes, &for_weight[i]));
  }
  if (ctx.closed) Allocate(ctx, for_weight, run);
  return run;
}

bool SameDecisions(const RoundRun& a, const RoundRun& b) {
  if (a.outcomes.size() != b.outcomes.size()) return false;
  for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
    if (a.outcomes[i].status != b.outcomes[i].status ||
        a.outcomes[i].reason != b.outcomes[i].reason) {
      return false;
    }
  }
  return true;
}

// Events timestamped within a sealed round's deadline that its sealed view leaves out.
std::vector<EventId> Unsealed(const RoundCtx& sealed,
                              const std::vector<const ProposalRecord*>& round) {
  const CircleState& st = sealed.st;
  const std::int64_t d = sealed.cutoff;
  std::vector<EventId> out;
  auto check = [&](const MemberKey& who, std::uint64_t seq, std::int64_t ts, const EventId& id) {
    if (ts <= d && !sealed.view.Covers(sealed.index.Of(who), seq)) out.push_back(id);
  };
  for (const auto* p : round) {
    check(p->author, p->seq, p->created_ms, p->event);
    for (std::size_t j = 0; j < p->votes.size(); ++j) {
      const auto& v = p->votes[j];
      if (v.timestamp_ms <= d && !sealed.view.Covers(sealed.VoterOf(*p, j), v.seq)) {
        out.push_back(v.event);
      }
    }
    for (const auto& en : p->endorsements) check(en.member, en.seq, en.timestamp_ms, en.event);
    for (const auto& f : p->flags) {
      check(f.flagger, f.seq, f.timestamp_ms, f.event);
      for (const auto& r : f.resolutions) check(r.author, r.seq, r.timestamp_ms, r.event);
    }
  }
  for (const auto& dl : st.delegations) check(dl.delegator, dl.seq, dl.timestamp_ms, dl.event);
  for (const auto& m : st.members) {
    for (const auto& a : m.admissions) check(a.admitter, a.seq, a.timestamp_ms, a.event);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

const char* ToString(Status s) {
  switch (s) {
    case Status::kOpen: return "open";
    case Status::kWithdrawn: return "withdrawn";
    case Status::kFunded: return "funded";
    case Status::kNotFunded: return "not funded";
    case Status::kAdopted: return "adopted";
    case Status::kNotAdopted: return "not adopted";
  }
  return "unknown";
}

const char* ToString(Finality f) {
  switch (f) {
    case Finality::kOpen: return "open";
    case Finality::kProvisional: return "provisional";
    case Finality::kFinal: return "final";
  }
  return "unknown";
}

const char* ToString(Reason r) {
  switch (r) {
    case Reason::kNone: return "";
    case Reason::kQuorumNotMet: return "quorum not met";
    case Reason::kNotApproved: return "not approved";
    case Reason::kBlockedByFlag: return "blocked by an open risk flag";
    case Reason::kOverProposalCap: return "above the per-proposal share of the pool";
    case Reason::kOrgCapReached: return "would exceed its organisation's share of the pool";
    case Reason::kBudgetExhausted: return "did not fit what was left of the pool";
    case Reason::kNotSelected: return "not selected by the Method of Equal Shares";
    case Reason::kNotSealed: return "published after its round was sealed";
  }
  return "unknown";
}

const char* ToString(Exclusion e) {
  switch (e) {
    case Exclusion::kLate: return "after the deadline";
    case Exclusion::kForkedAuthor: return "voter forked (equivocated)";
    case Exclusion::kNotMember: return "not a member at the deadline";
    case Exclusion::kNotApplied: return "not applied (gap in the voter's log, or void)";
    case Exclusion::kNotSealed: return "published after the round was sealed";
  }
  return "unknown";
}

const char* ToString(DelegationEnd e) {
  switch (e) {
    case DelegationEnd::kUsed: return "used";
    case DelegationEnd::kOverriddenByOwnVote: return "not used: the delegator voted";
    case DelegationEnd::kCycle: return "cycle: no vote";
    case DelegationEnd::kEndsAtNonVoter: return "ends at a member who did not vote: no vote";
    case DelegationEnd::kEndsAtForked: return "ends at a forked member: no vote";
    case DelegationEnd::kDelegatorForked: return "delegator forked: no vote";
  }
  return "unknown";
}

const char* ToString(FlagState s) {
  switch (s) {
    case FlagState::kOpen: return "open";
    case FlagState::kWithdrawn: return "withdrawn";
    case FlagState::kMitigated: return "mitigated";
    case FlagState::kOverridden: return "overridden";
  }
  return "unknown";
}

// ---- The engine: a full tally, kept so that one new vote updates only what it can change ----

namespace {

struct RoundCache {
  RoundSummary summary;
  std::vector<const ProposalRecord*> round;
  Rules rules;                        // in force (summary.rules, at a stable address)
  std::vector<std::uint64_t> heads;   // the sealed view, when sealed
  std::unique_ptr<RoundCtx> ctx;      // what its proposals were tallied with
  std::vector<mpq_class> for_weight;  // per proposal, from the tally
  RoundRun run;                       // outcomes (allocated), left and org_spent after
  std::map<std::string, Money> org_spent_before;
};

}  // namespace

struct TallyEngine::Impl {
  CircleState owned;
  const CircleState* st = nullptr;
  std::int64_t as_of_ms = 0;
  IgnoredVotes ignored_votes;
  std::vector<RoundCache> rounds;
  std::map<EventId, std::pair<std::size_t, std::size_t>> where;  // proposal → (round, index)
  std::vector<IntegrityAlert> alerts;
  Rules rules_now;
  std::unique_ptr<MemberIndex> index;
  std::vector<std::vector<int>> voters;  // per proposal, each vote's voter index

  void Compute() {
    const CircleState& s = *st;
    index = std::make_unique<MemberIndex>(s);
    voters.assign(s.proposals.size(), {});
    for (std::size_t i = 0; i < s.proposals.size(); ++i) {
      auto& v = voters[i];
      v.reserve(s.proposals[i].votes.size());
      for (const auto& vote : s.proposals[i].votes) v.push_back(index->Of(vote.voter));
    }
    ignored_votes.clear();
    rounds.clear();
    where.clear();
    alerts.clear();
    for (const auto& ig : s.ignored) {
      if (ig.kind == v1::EventBody::kVote && ig.proposal)
        ignored_votes[*ig.proposal].push_back(&ig);
    }
    std::map<std::int64_t, std::vector<const ProposalRecord*>> by_deadline;  // ids stay sorted
    for (const auto& p : s.proposals) by_deadline[p.deadline_ms].push_back(&p);
    rounds.reserve(by_deadline.size());

    Rules rules = s.rules;
    Money left = s.pool_minor;
    std::map<std::string, Money> org_spent;
    bool earlier_final = true;
    for (auto& [deadline, round] : by_deadline) {
      rounds.emplace_back();
      RoundCache& rc = rounds.back();
      rc.round = std::move(round);
      rc.rules = rules;
      RoundSummary& summary = rc.summary;
      summary.deadline_ms = deadline;
      summary.rules = rules;
      summary.pool_left_before = left;
      for (std::size_t i = 0; i < rc.round.size(); ++i) {
        summary.proposals.push_back(rc.round[i]->event);
        where[rc.round[i]->event] = {rounds.size() - 1, i};
      }
      auto full = std::make_unique<RoundCtx>(s, *index, rc.rules);
      full->voters = &voters;
      full->cutoff = std::min(as_of_ms, deadline);
      full->closed = as_of_ms > deadline;
      full->Prepare();
      if (!full->closed) {
        summary.finality = Finality::kOpen;
        earlier_final = false;
        rc.ctx = std::move(full);
      } else {
        summary.seals = CountSeals(*full, deadline, &rc.heads);
        if (summary.seals.sealed) {
          auto sealed = std::make_unique<RoundCtx>(s, *index, rc.rules);
          sealed->voters = &voters;
          sealed->cutoff = deadline;
          sealed->closed = true;
          sealed->view.sealed = &rc.heads;
          sealed->Prepare();
          const auto late = Unsealed(*sealed, rc.round);
          if (!late.empty()) Alert(*sealed, *full, rc.round, late, left, org_spent);
          rc.ctx = std::move(sealed);
        } else {
          rc.ctx = std::move(full);
        }
        summary.finality =
            summary.seals.sealed && earlier_final ? Finality::kFinal : Finality::kProvisional;
        earlier_final = summary.finality == Finality::kFinal;
      }
      for (std::size_t i = 0; i < s.members.size(); ++i) {
        if (rc.ctx->eligible[i]) summary.eligible.push_back(s.members[i].key);
      }
      rc.for_weight.resize(rc.round.size());
      rc.run.outcomes.reserve(rc.round.size());
      for (std::size_t i = 0; i < rc.round.size(); ++i) {
        rc.run.outcomes.push_back(
            TallyOne(*rc.ctx, *rc.round[i], ignored_votes, &rc.for_weight[i]));
        auto& o = rc.run.outcomes.back();
        o.finality = summary.finality;
        o.explanation.seals = summary.seals;
        o.explanation.earlier_round_provisional =
            summary.seals.sealed && summary.finality != Finality::kFinal;
      }
      rc.org_spent_before = org_spent;
      AllocateRound(rc, left, org_spent);
      left = rc.run.left;
      org_spent = rc.run.org_spent;
      for (const auto& o : rc.run.outcomes) {
        if (o.status == Status::kAdopted) {
          rules = *s.FindProposal(o.proposal)->rule_change;  // by id: the last adopted one stands
        }
      }
    }
    rules_now = rules;
  }

  void AllocateRound(RoundCache& rc, Money left, const std::map<std::string, Money>& org_spent) {
    rc.summary.pool_left_before = left;
    rc.run.left = left;
    rc.run.org_spent = org_spent;
    rc.run.allocation_error.clear();
    ResetAllocation(rc.run.outcomes);
    if (rc.ctx->closed) Allocate(*rc.ctx, rc.for_weight, rc.run);
    rc.summary.allocated_minor = left - rc.run.left;
  }

  // A sealed round: would the events left out of its view decide it differently?
  void Alert(const RoundCtx& sealed, const RoundCtx& full,
             const std::vector<const ProposalRecord*>& round, const std::vector<EventId>& late,
             Money left, const std::map<std::string, Money>& org_spent) {
    const RoundRun run = RunRound(sealed, round, left, org_spent, ignored_votes);
    const RoundRun would = RunRound(full, round, left, org_spent, ignored_votes);
    if (SameDecisions(run, would)) return;
    IntegrityAlert alert;
    alert.deadline_ms = sealed.cutoff;
    alert.events = late;
    for (std::size_t i = 0; i < run.outcomes.size(); ++i) {
      if (run.outcomes[i].status != would.outcomes[i].status ||
          run.outcomes[i].reason != would.outcomes[i].reason) {
        alert.proposals.push_back(run.outcomes[i].proposal);
      }
    }
    alerts.push_back(std::move(alert));
  }

  bool AddVote(const EventId& proposal, const VoteRecord& vote) {
    auto w = where.find(proposal);
    if (w == where.end()) return false;
    auto* p = const_cast<ProposalRecord*>(owned.FindProposal(proposal));
    if (!p || st != &owned) return false;
    auto at =
        std::upper_bound(p->votes.begin(), p->votes.end(), vote, [](const auto& a, const auto& b) {
          return std::tie(a.voter, a.seq) < std::tie(b.voter, b.seq);
        });
    auto& vix = voters[static_cast<std::size_t>(p - owned.proposals.data())];
    vix.insert(vix.begin() + (at - p->votes.begin()), index->Of(vote.voter));
    p->votes.insert(at, vote);
    const auto [r, i] = w->second;
    RoundCache& rc = rounds[r];
    if (p->rule_change || rc.summary.seals.sealed) {
      Compute();  // a rule change reaches later rounds' rules; a sealed round may raise an alert
      return true;
    }
    // Only this proposal's figures change; then its round's allocation, and later rounds' as long
    // as what a round leaves differs from before.
    const ProposalOutcome before = rc.run.outcomes[i];
    rc.run.outcomes[i] = TallyOne(*rc.ctx, *p, ignored_votes, &rc.for_weight[i]);
    auto& o = rc.run.outcomes[i];
    o.finality = before.finality;
    o.explanation.seals = before.explanation.seals;
    o.explanation.earlier_round_provisional = before.explanation.earlier_round_provisional;
    if (!rc.ctx->closed) return true;
    for (std::size_t k = r; k < rounds.size(); ++k) {
      RoundCache& cur = rounds[k];
      const Money old_left = cur.run.left;
      const auto old_spent = cur.run.org_spent;
      const Money left = k == r ? cur.summary.pool_left_before : rounds[k - 1].run.left;
      const auto& spent = k == r ? cur.org_spent_before : rounds[k - 1].run.org_spent;
      if (k > r) cur.org_spent_before = spent;
      AllocateRound(cur, left, spent);
      if (cur.run.left == old_left && cur.run.org_spent == old_spent) break;
    }
    return true;
  }

  TallyResult Result(bool move) {
    TallyResult out;
    out.as_of_ms = as_of_ms;
    out.pool_minor = st->pool_minor;
    out.alerts = alerts;
    out.rules_now = rules_now;
    std::size_t n = 0;
    for (const auto& rc : rounds) n += rc.run.outcomes.size();
    out.proposals.reserve(n);
    for (auto& rc : rounds) {
      if (out.allocation_error.empty()) out.allocation_error = rc.run.allocation_error;
      out.allocated_minor += rc.summary.allocated_minor;
      for (auto& o : rc.run.outcomes) {
        if (move) {
          out.proposals.push_back(std::move(o));
        } else {
          out.proposals.push_back(o);
        }
      }
      out.rounds.push_back(move ? std::move(rc.summary) : rc.summary);
    }
    std::sort(out.proposals.begin(), out.proposals.end(),
              [](const auto& a, const auto& b) { return a.proposal < b.proposal; });
    return out;
  }
};

TallyEngine::TallyEngine(CircleState state, std::int64_t as_of_ms)
    : impl_(std::make_unique<Impl>()) {
  impl_->owned = std::move(state);
  impl_->st = &impl_->owned;
  impl_->as_of_ms = as_of_ms;
  impl_->Compute();
}
TallyEngine::~TallyEngine() = default;

bool TallyEngine::AddVote(const EventId& proposal, const VoteRecord& vote) {
  return impl_->AddVote(proposal, vote);
}

const ProposalOutcome* TallyEngine::Find(const EventId& proposal) const {
  auto w = impl_->where.find(proposal);
  if (w == impl_->where.end()) return nullptr;
  return &impl_->rounds[w->second.first].run.outcomes[w->second.second];
}

Money TallyEngine::allocated_minor() const {
  Money total = 0;
  for (const auto& rc : impl_->rounds) total += rc.summary.allocated_minor;
  return total;
}

TallyResult TallyEngine::Result() const { return impl_->Result(false); }
const CircleState& TallyEngine::state() const { return impl_->owned; }

TallyResult Tally(const CircleState& st, std::int64_t as_of_ms) {
  TallyEngine::Impl impl;
  impl.st = &st;
  impl.as_of_ms = as_of_ms;
  impl.Compute();
  return impl.Result(true);
}

// ---- Plain words ----------------------------------------------------------------------------

namespace {

std::string Label(const CircleState& st, const MemberKey& k) {
  const Member* m = st.FindMember(k);
  const std::string short_id = k.hex().substr(0, 8);
  return m ? m->name + " (" + short_id + ")" : "(" + short_id + ")";
}

std::string Percent(std::uint32_t bps) {
  std::string frac = std::to_string(bps % 100);
  if (frac.size() < 2) frac = "0" + frac;
  return std::to_string(bps / 100) + "." + frac + " %";
}

std::string Amount(const CircleState& st, Money minor) {
  const bool negative = minor < 0;
  std::uint64_t v =
      negative ? 0 - static_cast<std::uint64_t>(minor) : static_cast<std::uint64_t>(minor);
  std::uint64_t scale = 1;
  const std::uint32_t decimals = std::min(st.decimals, kMaxDecimals);
  for (std::uint32_t i = 0; i < decimals; ++i) scale *= 10;
  std::string s = (negative ? "-" : "") + std::to_string(v / scale);
  if (decimals > 0) {
    std::string frac = std::to_string(v % scale);
    s += "." + std::string(decimals - frac.size(), '0') + frac;
  }
  return st.unit.empty() ? s : s + " " + st.unit;
}

std::string RulesText(const Rules& r) {
  return std::string("quorum ") + Percent(r.quorum_bps) + (r.quorum_by_weight ? " of weight" : "") +
         ", approval " + Percent(r.approval_bps) + ", " +
         (r.weighting == v1::DecisionRules::ORGANISATION_BALANCED ? "organisation-balanced"
                                                                  : "one member one vote") +
         ", " + (r.allocation == v1::DecisionRules::EQUAL_SHARES ? "equal shares" : "greedy") +
         ", per-proposal cap " + Percent(r.max_share_per_proposal_bps) + ", per-organisation cap " +
         Percent(r.max_share_per_org_bps) + ", blocking from " + SeverityWord(r.blocking_severity) +
         ", " + std::to_string(r.mitigation_acceptances) + " acceptances, override " +
         Percent(r.override_bps) + ", admission by " + std::to_string(r.admission_quorum) +
         ", seals " + (r.seals_required ? std::to_string(r.seals_required) : "majority") +
         ", rule change " + Percent(r.rule_change_bps);
}

}  // namespace

std::string ExplainText(const CircleState& st, const ProposalOutcome& o) {
  const auto& e = o.explanation;
  std::string s = "Proposal \"" + o.title + "\" (" + o.proposal.hex().substr(0, 12) + ") by " +
                  Label(st, o.author) + ", " + o.organisation + ", asks " +
                  Amount(st, o.amount_minor) + (o.topic.empty() ? "" : ", topic " + o.topic) +
                  ".\n";
  if (o.rule_change) {
    const ProposalRecord* p = st.FindProposal(o.proposal);
    s += "  A rule change (" + RulesText(*p->rule_change) + ").\n";
  }
  s += "  Outcome: " + std::string(ToString(o.status));
  if (o.reason != Reason::kNone) s += ": " + std::string(ToString(o.reason));
  s += " (" + std::string(ToString(o.finality)) + ").";
  if (e.closed) {
    s += " Seals: " + std::to_string(e.seals.counting.size()) + " counted of " +
         std::to_string(e.seals.required) + " required";
    if (!e.seals.late.empty()) {
      s += ", " + std::to_string(e.seals.late.size()) + " made after the round was sealed";
    }
    s += e.seals.sealed ? "; decided on the sealed view" : "; decided on every event held";
    if (e.earlier_round_provisional) s += "; an earlier round is not final yet";
    s += ".";
  }
  s += "\n  Deadline " + FormatRfc3339(e.deadline_ms) + "; votes counted up to " +
       FormatRfc3339(e.cutoff_ms) + ".\n";
  s += "  Quorum: " + std::to_string(e.participants) + " of " + std::to_string(e.eligible_members) +
       " members voted";
  if (e.quorum_by_weight) {
    s +=
        " (weight " + e.participant_weight.ToString() + " of " + e.eligible_weight.ToString() + ")";
  }
  s += "; " + Percent(e.quorum_bps) + (e.quorum_by_weight ? " of the weight" : "") +
       " needed: " + (e.quorum_met ? "met" : "not met") + ".\n";
  s += std::string("  Approval") + (o.rule_change ? " (rule change)" : "") + ": for " +
       e.for_weight.ToString() + ", against " + e.against_weight.ToString() + " (weights; " +
       std::to_string(e.for_count) + " for, " + std::to_string(e.against_count) + " against, " +
       std::to_string(e.abstain_count) + " abstain); " +
       (o.rule_change ? "at least " : "more than ") + Percent(e.approval_bps) +
       " needed: " + (e.approved ? "approved" : "not approved") + ".\n";
  for (const auto& of : e.organisations) {
    s += "    " + of.organisation + ": " + std::to_string(of.voted) + " of " +
         std::to_string(of.members) + " voted; for " + std::to_string(of.for_count) + " (weight " +
         of.for_weight.ToString() + "), against " + std::to_string(of.against_count) + " (weight " +
         of.against_weight.ToString() + "), abstain " + std::to_string(of.abstain_count) + ".\n";
  }
  for (const auto& v : e.votes) {
    s += "    " + Label(st, v.member) + ": " + ChoiceWord(v.choice) + ", weight " +
         v.weight.ToString();
    if (!v.via.empty()) {
      s += ", through";
      for (const auto& k : v.via) s += " " + Label(st, k);
    }
    s += ".\n";
  }
  for (const auto& d : e.delegations) {
    s += "  Delegation of " + Label(st, d.delegator) + (d.topic ? " (topic)" : "");
    for (const auto& k : d.chain) s += " -> " + Label(st, k);
    s += ": " + std::string(ToString(d.end)) + ".\n";
  }
  for (const auto& x : e.excluded) {
    s += "  Not counted: vote " + x.event.hex().substr(0, 12) + " by " + Label(st, x.voter) + ": " +
         ToString(x.reason) + ".\n";
  }
  for (const auto& f : e.flags) {
    s += "  Risk flag " + f.flag.hex().substr(0, 12) + " by " + Label(st, f.flagger) + ", " +
         SeverityWord(f.severity) + (f.blocking_severity ? " (blocking)" : " (not blocking)") +
         ": " + ToString(f.state);
    if (f.answered) {
      s += "; answered, accepted by " + std::to_string(f.acceptances.size()) + " of " +
           std::to_string(st.rules.mitigation_acceptances) + " needed";
    }
    if (!f.overrides.empty()) {
      s += "; override votes weigh " + f.override_weight.ToString() + " of " +
           f.total_weight.ToString();
    }
    s += ".\n";
  }
  if (e.allocation.considered) {
    s += "  Allocation: considered with " + Amount(st, e.allocation.pool_left_before) +
         " of the pool left; its organisation had " + Amount(st, e.allocation.org_spent_before) +
         " (cap " + Amount(st, e.allocation.org_cap) + "); per-proposal cap " +
         Amount(st, e.allocation.proposal_cap) + ".\n";
  }
  return s;
}

std::string AlertText(const CircleState& st, const IntegrityAlert& a) {
  std::string s = "INTEGRITY ALERT: the round with deadline " + FormatRfc3339(a.deadline_ms) +
                  " was sealed, but " + std::to_string(a.events.size()) +
                  " event(s) timestamped before its deadline were published after it and would "
                  "change the outcome of";
  for (const auto& p : a.proposals) {
    const ProposalRecord* rec = st.FindProposal(p);
    s += " \"" + (rec ? rec->title : std::string()) + "\" (" + p.hex().substr(0, 12) + ")";
  }
  s += ". They are not counted. Events:";
  for (const auto& e : a.events) s += " " + e.hex().substr(0, 12);
  return s + ".\n";
}

std::string ExplainText(const CircleState& st, const TallyResult& r) {
  std::string s = "Tally at " + FormatRfc3339(r.as_of_ms) + ": " + Amount(st, r.allocated_minor) +
                  " of " + Amount(st, r.pool_minor) + " allocated.\n";
  if (!r.allocation_error.empty()) s += "Allocation failed: " + r.allocation_error + ".\n";
  for (const auto& a : r.alerts) s += AlertText(st, a);
  for (const auto& o : r.proposals) s += ExplainText(st, o);
  return s;
}

}  // namespace polder::decide
