#include "node/decide/tally.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include <gmpxx.h>

#include "node/decide/limits.h"
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

using DelegationIndex =
    std::map<std::pair<MemberKey, std::string>, std::vector<const DelegationRecord*>>;

// The tally of one proposal up to its cut-off (votes, delegation, quorum, approval, flags).
class ProposalTally {
 public:
  ProposalTally(const CircleState& st, const DelegationIndex& delegations, const ProposalRecord& p,
                std::int64_t as_of_ms)
      : st_(st), delegations_(delegations), p_(p) {
    cutoff_ = std::min(as_of_ms, p.deadline_ms);
    closed_ = as_of_ms > p.deadline_ms;
    for (const auto& v : p.votes) {  // sorted by (voter, seq): the last eligible one stands
      if (v.timestamp_ms <= cutoff_ && ValidChoice(v.choice)) direct_[v.voter] = &v;
    }
  }

  mpq_class for_weight;

  Explanation Run() {
    Explanation e;
    e.deadline_ms = p_.deadline_ms;
    e.cutoff_ms = cutoff_;
    e.closed = closed_;
    e.quorum_bps = st_.rules.quorum_bps;
    e.approval_bps = st_.rules.approval_bps;

    std::map<std::string, std::uint32_t> org_size;
    for (const auto& m : st_.members) {
      if (Eligible(m)) ++org_size[m.organisation];
    }
    std::map<std::string, OrgFigures> orgs;
    std::map<std::string, std::pair<mpq_class, mpq_class>> org_weights;
    mpq_class against_weight;
    for (const auto& [name, n] : org_size) {
      orgs[name].organisation = name;
      orgs[name].members = n;
      org_weights[name];
    }
    for (const auto& m : st_.members) {
      if (!Eligible(m)) continue;
      ++e.eligible_members;
      auto r = Resolve(m, &e);
      if (!r) continue;
      const mpq_class w = st_.rules.weighting == v1::DecisionRules::ORGANISATION_BALANCED
                              ? mpq_class(1, org_size[m.organisation])
                              : mpq_class(1);
      ++e.participants;
      auto& of = orgs[m.organisation];
      auto& ow = org_weights[m.organisation];
      ++of.voted;
      switch (r->choice) {
        case v1::FOR:
          ++e.for_count;
          ++of.for_count;
          for_weight += w;
          ow.first += w;
          break;
        case v1::AGAINST:
          ++e.against_count;
          ++of.against_count;
          against_weight += w;
          ow.second += w;
          break;
        default:
          ++e.abstain_count;
          ++of.abstain_count;
          break;
      }
      e.votes.push_back({m.key, m.organisation, r->choice, ToFraction(w), r->via});
    }
    for (auto& [name, of] : orgs) {
      of.for_weight = ToFraction(org_weights[name].first);
      of.against_weight = ToFraction(org_weights[name].second);
      e.organisations.push_back(of);
    }
    e.for_weight = ToFraction(for_weight);
    e.against_weight = ToFraction(against_weight);
    e.quorum_met = e.eligible_members > 0 && std::uint64_t{e.participants} * kBpsWhole >=
                                                 std::uint64_t{e.quorum_bps} * e.eligible_members;
    e.approved = for_weight > 0 &&
                 for_weight * kBpsWhole > mpq_class(e.approval_bps) * (for_weight + against_weight);
    Excluded(&e);
    Flags(&e);
    return e;
  }

 private:
  struct Resolved {
    v1::Choice choice;
    std::vector<MemberKey> via;
  };

  bool Eligible(const Member& m) const { return m.admitted_ms <= cutoff_; }

  const VoteRecord* Direct(const Member& m) const {
    if (m.forked() || !Eligible(m)) return nullptr;
    auto it = direct_.find(m.key);
    return it == direct_.end() ? nullptr : it->second;
  }

  // The delegation of `k` in force at the cut-off for this proposal's topic, or else the general
  // one: the latest record (by seq) timestamped at or before the cut-off, unless it revokes.
  const DelegationRecord* InForce(const MemberKey& k, const std::string& topic) const {
    auto it = delegations_.find({k, topic});
    if (it == delegations_.end()) return nullptr;
    const DelegationRecord* last = nullptr;
    for (const auto* d : it->second) {
      if (d->timestamp_ms <= cutoff_) last = d;
    }
    return last && !last->revoke ? last : nullptr;
  }
  const DelegationRecord* DelegationOf(const MemberKey& k, bool* topic) const {
    if (!p_.topic.empty()) {
      if (auto* d = InForce(k, p_.topic)) {
        *topic = true;
        return d;
      }
    }
    *topic = false;
    return InForce(k, "");
  }

  std::optional<Resolved> Resolve(const Member& m, Explanation* e) const {
    bool topic = false;
    const DelegationRecord* d = DelegationOf(m.key, &topic);
    DelegationNote note;
    note.delegator = m.key;
    note.topic = topic;
    if (m.forked()) {
      if (d) {
        note.end = DelegationEnd::kDelegatorForked;
        e->delegations.push_back(note);
      }
      return std::nullopt;
    }
    if (const auto* v = Direct(m)) {
      if (d) {
        note.chain.push_back(d->delegate);
        note.end = DelegationEnd::kOverriddenByOwnVote;
        e->delegations.push_back(note);
      }
      return Resolved{v->choice, {}};
    }
    if (!d) return std::nullopt;
    std::set<MemberKey> seen{m.key};
    std::optional<Resolved> out;
    for (;;) {
      const MemberKey next = d->delegate;
      if (seen.count(next)) {
        note.end = DelegationEnd::kCycle;
        break;
      }
      seen.insert(next);
      note.chain.push_back(next);
      const Member* nm = st_.FindMember(next);
      if (nm && nm->forked()) {
        note.end = DelegationEnd::kEndsAtForked;
        break;
      }
      if (nm) {
        if (const auto* v = Direct(*nm)) {
          note.end = DelegationEnd::kUsed;
          out = Resolved{v->choice, note.chain};
          break;
        }
      }
      bool unused = false;
      d = DelegationOf(next, &unused);
      if (!d) {
        note.end = DelegationEnd::kEndsAtNonVoter;
        break;
      }
    }
    e->delegations.push_back(note);
    return out;
  }

  void Excluded(Explanation* e) const {
    for (const auto& v : p_.votes) {
      const Member* m = st_.FindMember(v.voter);
      std::optional<Exclusion> why;
      if (!m) {
        why = Exclusion::kNotMember;
      } else if (m->forked()) {
        why = Exclusion::kForkedAuthor;
      } else if (!Eligible(*m)) {
        why = Exclusion::kNotMember;
      } else if (v.timestamp_ms > cutoff_) {
        why = Exclusion::kLate;
      }
      if (why) e->excluded.push_back({v.voter, v.event, *why});
    }
    for (const auto& ig : st_.ignored) {
      if (ig.kind != v1::EventBody::kVote || ig.proposal != p_.event) continue;
      const Exclusion why = ig.reason == Ignored::kForked      ? Exclusion::kForkedAuthor
                            : ig.reason == Ignored::kNotMember ? Exclusion::kNotMember
                                                               : Exclusion::kNotApplied;
      e->excluded.push_back({ig.author, ig.event, why});
    }
    std::sort(e->excluded.begin(), e->excluded.end(), [](const auto& a, const auto& b) {
      return std::tie(a.voter, a.event) < std::tie(b.voter, b.event);
    });
  }

  void Flags(Explanation* e) const {
    for (const auto& f : p_.flags) {
      if (f.timestamp_ms > cutoff_) continue;
      FlagNote n;
      n.flag = f.event;
      n.flagger = f.flagger;
      n.severity = f.severity;
      n.blocking_severity = f.severity >= st_.rules.blocking_severity;
      bool withdrawn = false;
      std::optional<std::int64_t> answer_ms;  // resolutions are sorted by time: the first answer
      for (const auto& r : f.resolutions) {
        if (r.timestamp_ms > cutoff_) continue;
        if (r.kind == v1::FlagResolution::WITHDRAW) withdrawn = true;
        if (r.kind == v1::FlagResolution::ANSWER && !answer_ms) answer_ms = r.timestamp_ms;
      }
      n.answered = answer_ms.has_value();
      if (answer_ms) {
        std::set<MemberKey> accepted;
        for (const auto& en : p_.endorsements) {
          const Member* m = st_.FindMember(en.member);
          if (!m || m->forked() || !Eligible(*m) || en.member == p_.author ||
              en.member == f.flagger) {
            continue;
          }
          if (en.timestamp_ms > *answer_ms && en.timestamp_ms <= cutoff_)
            accepted.insert(en.member);
        }
        n.acceptances.assign(accepted.begin(), accepted.end());
      }
      n.state = withdrawn ? FlagState::kWithdrawn
                : n.answered && n.acceptances.size() >= st_.rules.mitigation_acceptances
                    ? FlagState::kMitigated
                    : FlagState::kOpen;
      if (n.state == FlagState::kOpen && n.blocking_severity) e->blocked = true;
      e->flags.push_back(std::move(n));
    }
  }

  const CircleState& st_;
  const DelegationIndex& delegations_;
  const ProposalRecord& p_;
  std::int64_t cutoff_ = 0;
  bool closed_ = false;
  std::map<MemberKey, const VoteRecord*> direct_;
};

std::string OrgOf(const CircleState& st, const MemberKey& k) {
  const Member* m = st.FindMember(k);
  return m ? m->organisation : std::string();
}

}  // namespace

const char* ToString(Status s) {
  switch (s) {
    case Status::kOpen: return "open";
    case Status::kWithdrawn: return "withdrawn";
    case Status::kFunded: return "funded";
    case Status::kNotFunded: return "not funded";
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
  }
  return "unknown";
}

const char* ToString(Exclusion e) {
  switch (e) {
    case Exclusion::kLate: return "after the deadline";
    case Exclusion::kForkedAuthor: return "voter forked (equivocated)";
    case Exclusion::kNotMember: return "not a member at the deadline";
    case Exclusion::kNotApplied: return "not applied (gap in the voter's log, or void)";
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
  }
  return "unknown";
}

TallyResult Tally(const CircleState& st, std::int64_t as_of_ms) {
  TallyResult out;
  out.as_of_ms = as_of_ms;
  out.pool_minor = st.pool_minor;
  const Rules& rules = st.rules;

  DelegationIndex delegations;  // records stay in seq order (CircleState's order)
  for (const auto& d : st.delegations) delegations[{d.delegator, d.topic}].push_back(&d);

  std::vector<mpq_class> for_weight;
  for (const auto& p : st.proposals) {
    ProposalTally pt(st, delegations, p, as_of_ms);
    ProposalOutcome o;
    o.proposal = p.event;
    o.title = p.title;
    o.author = p.author;
    o.organisation = OrgOf(st, p.author);
    o.topic = p.topic;
    o.amount_minor = p.amount_minor;
    o.explanation = pt.Run();
    for_weight.push_back(pt.for_weight);
    const auto& e = o.explanation;
    o.explanation.allocation.proposal_cap = Share(st.pool_minor, rules.max_share_per_proposal_bps);
    o.explanation.allocation.org_cap = Share(st.pool_minor, rules.max_share_per_org_bps);
    if (p.withdrawn_ms && *p.withdrawn_ms <= as_of_ms) {
      o.status = Status::kWithdrawn;
    } else if (!e.closed) {
      o.status = Status::kOpen;
    } else {
      o.status = Status::kNotFunded;
      o.reason = !e.quorum_met ? Reason::kQuorumNotMet
                 : !e.approved ? Reason::kNotApproved
                 : e.blocked   ? Reason::kBlockedByFlag
                               : Reason::kNone;  // a candidate: decided below
    }
    out.proposals.push_back(std::move(o));
  }

  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < out.proposals.size(); ++i) {
    const auto& o = out.proposals[i];
    if (o.status == Status::kNotFunded && o.reason == Reason::kNone) candidates.push_back(i);
  }
  Money left = st.pool_minor;
  std::map<std::string, Money> org_spent;
  auto consider = [&](ProposalOutcome& o) {
    o.explanation.allocation.considered = true;
    o.explanation.allocation.pool_left_before = left;
    o.explanation.allocation.org_spent_before = org_spent[o.organisation];
  };
  auto over_org = [&](const ProposalOutcome& o) {
    return Over(org_spent[o.organisation] + o.amount_minor, st.pool_minor,
                rules.max_share_per_org_bps);
  };
  auto fund = [&](ProposalOutcome& o) {
    o.status = Status::kFunded;
    left -= o.amount_minor;
    org_spent[o.organisation] += o.amount_minor;
    out.allocated_minor += o.amount_minor;
  };

  std::vector<std::size_t> within_cap;
  for (auto i : candidates) {
    auto& o = out.proposals[i];
    if (Over(o.amount_minor, st.pool_minor, rules.max_share_per_proposal_bps)) {
      consider(o);
      o.reason = Reason::kOverProposalCap;
    } else {
      within_cap.push_back(i);
    }
  }

  if (rules.allocation == v1::DecisionRules::EQUAL_SHARES) {
    PbInstance in;
    in.budget = std::max<Money>(st.pool_minor, 0);
    in.unit = 1;
    for (std::uint32_t d = 0; d < std::min(st.decimals, kMaxDecimals); ++d) in.unit *= 10;
    std::map<MemberKey, std::vector<std::uint32_t>> ballots;
    for (std::uint32_t j = 0; j < within_cap.size(); ++j) {
      const auto& o = out.proposals[within_cap[j]];
      in.projects.push_back({o.proposal.hex(), o.amount_minor});
      for (const auto& v : o.explanation.votes) {
        if (v.choice == v1::FOR) ballots[v.member].push_back(j);
      }
    }
    for (auto& [k, b] : ballots) in.approvals.push_back(std::move(b));
    auto mes = Mes(in, MesOptions{Utility::kCost, Completion::kAdd1});
    std::vector<bool> taken(within_cap.size(), false);
    if (!mes) out.allocation_error = mes.error().message;
    if (mes) {
      for (const auto& f : mes->funded) {
        auto& o = out.proposals[within_cap[f.project]];
        taken[f.project] = true;
        consider(o);
        if (over_org(o)) {
          o.reason = Reason::kOrgCapReached;
        } else {
          fund(o);
        }
      }
    }
    for (std::uint32_t j = 0; j < within_cap.size(); ++j) {
      if (taken[j]) continue;
      auto& o = out.proposals[within_cap[j]];
      consider(o);
      o.reason = Reason::kNotSelected;
    }
  } else {
    std::sort(within_cap.begin(), within_cap.end(), [&](std::size_t a, std::size_t b) {
      const auto& pa = out.proposals[a];
      const auto& pb = out.proposals[b];
      if (for_weight[a] != for_weight[b]) return for_weight[a] > for_weight[b];
      if (pa.explanation.for_count != pb.explanation.for_count) {
        return pa.explanation.for_count > pb.explanation.for_count;
      }
      return std::tie(pa.amount_minor, pa.proposal) < std::tie(pb.amount_minor, pb.proposal);
    });
    for (auto i : within_cap) {
      auto& o = out.proposals[i];
      consider(o);
      if (o.amount_minor > left) {
        o.reason = Reason::kBudgetExhausted;
      } else if (over_org(o)) {
        o.reason = Reason::kOrgCapReached;
      } else {
        fund(o);
      }
    }
  }
  return out;
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

}  // namespace

std::string ExplainText(const CircleState& st, const ProposalOutcome& o) {
  const auto& e = o.explanation;
  std::string s = "Proposal \"" + o.title + "\" (" + o.proposal.hex().substr(0, 12) + ") by " +
                  Label(st, o.author) + ", " + o.organisation + ", asks " +
                  Amount(st, o.amount_minor) + (o.topic.empty() ? "" : ", topic " + o.topic) +
                  ".\n";
  s += "  Outcome: " + std::string(ToString(o.status));
  if (o.reason != Reason::kNone) s += ": " + std::string(ToString(o.reason));
  s += e.closed ? "." : " (figures are provisional).";
  s += "\n  Deadline " + std::to_string(e.deadline_ms) + " ms; votes counted up to " +
       std::to_string(e.cutoff_ms) + " ms.\n";
  s += "  Quorum: " + std::to_string(e.participants) + " of " + std::to_string(e.eligible_members) +
       " members voted; " + Percent(e.quorum_bps) +
       " needed: " + (e.quorum_met ? "met" : "not met") + ".\n";
  s += "  Approval: for " + e.for_weight.ToString() + ", against " + e.against_weight.ToString() +
       " (weights; " + std::to_string(e.for_count) + " for, " + std::to_string(e.against_count) +
       " against, " + std::to_string(e.abstain_count) + " abstain); more than " +
       Percent(e.approval_bps) + " needed: " + (e.approved ? "approved" : "not approved") + ".\n";
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

std::string ExplainText(const CircleState& st, const TallyResult& r) {
  std::string s = "Tally at " + std::to_string(r.as_of_ms) +
                  " ms: " + Amount(st, r.allocated_minor) + " of " + Amount(st, r.pool_minor) +
                  " allocated.\n";
  if (!r.allocation_error.empty()) s += "Allocation failed: " + r.allocation_error + ".\n";
  for (const auto& o : r.proposals) s += ExplainText(st, o);
  return s;
}

}  // namespace polder::decide
