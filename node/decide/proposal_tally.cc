#include "node/decide/proposal_tally.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "node/decide/delegation.h"
#include "node/decide/rational.h"
#include "node/decide/risk_gate.h"
#include "node/decide/round_allocation.h"
#include "node/decide/round_context.h"

namespace polder::decide {
namespace {

bool ValidChoice(v1::Choice c) { return c == v1::FOR || c == v1::AGAINST || c == v1::ABSTAIN; }

using DirectVotes = std::vector<std::pair<int, const VoteRecord*>>;  // by member index

// Each eligible voter's direct vote: their latest within the cut-off and the view. Every vote
// that cannot count goes to `excluded`, with the reason.
DirectVotes DirectVotesOf(const RoundContext& ctx, const ProposalRecord& p,
                          const std::vector<const IgnoredEvent*>& ignored_votes,
                          std::vector<ExcludedVote>* excluded) {
  DirectVotes direct;
  // Votes are sorted by voter, then in each member's order of acts (VoteBefore), so each voter's
  // last eligible one stands: their latest across their devices.
  for (std::size_t j = 0; j < p.votes.size(); ++j) {
    const VoteRecord& v = p.votes[j];
    const int i = ctx.VoterOf(p, j);
    std::optional<Exclusion> why;
    if (i < 0) {
      why = Exclusion::kNotMember;
    } else if (ctx.Forked(i)) {
      why = Exclusion::kForkedAuthor;
    } else if (!ctx.Eligible(i)) {
      why = Exclusion::kNotMember;
    } else if (v.timestamp_ms > ctx.cutoff) {
      why = Exclusion::kLate;
    } else if (!ctx.view.Covers(ctx.index.LogOf(i, v.device), v.seq)) {
      why = Exclusion::kNotSealed;
    }
    if (why) {
      excluded->push_back({v.voter, v.event, *why});
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
    excluded->push_back({ig->author, ig->event, why});
  }
  std::sort(excluded->begin(), excluded->end(), [](const auto& a, const auto& b) {
    return std::tie(a.voter, a.event) < std::tie(b.voter, b.event);
  });
  return direct;
}

// Counts the votes that stand into e (per organisation and in total; weights exact), then
// decides quorum and approval. Returns the for-weight.
mpq_class Count(const RoundContext& ctx, const ProposalRecord& p, std::vector<CastVote>& cast,
                Explanation& e) {
  const std::size_t norgs = ctx.orgs.size();
  std::vector<OrgFigures> orgs(norgs);
  for (std::size_t o = 0; o < norgs; ++o) {
    orgs[o].organisation = ctx.orgs[o];
    orgs[o].members = ctx.org_size[o];
  }
  e.votes.reserve(cast.size());
  for (auto& cv : cast) {
    const auto o = static_cast<std::size_t>(ctx.org_of[static_cast<std::size_t>(cv.member)]);
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
    const Member& m = ctx.st.members[static_cast<std::size_t>(cv.member)];
    e.votes.push_back({m.key, m.organisation, choice, ctx.org_weight[o], std::move(cv.via),
                       cv.vote->event, std::move(cv.hops)});
  }
  // Weights per organisation: its counts, divided by its eligible members when balanced.
  mpq_class for_weight, against_weight, participant_weight;
  for (std::size_t o = 0; o < norgs; ++o) {
    auto& of = orgs[o];
    if (of.members == 0 && of.voted == 0) continue;
    mpq_class pw = of.voted;
    if (ctx.Balanced() && of.members > 0) {
      pw /= of.members;
      pw.canonicalize();
    }
    participant_weight += pw;
    mpq_class fw = of.for_count, aw = of.against_count;
    if (ctx.Balanced() && of.members > 0) {
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
  const mpq_class eligible_weight = ctx.TotalWeight();
  e.quorum_by_weight = ctx.rules.quorum_by_weight;
  e.participant_weight = ToFraction(participant_weight);
  e.eligible_weight = ToFraction(eligible_weight);
  // Quorum counts members (or, quorum_by_weight, weights); approval always weights.
  e.quorum_met = e.eligible_members > 0 &&
                 (e.quorum_by_weight
                      ? participant_weight * kBpsWhole >= mpq_class(e.quorum_bps) * eligible_weight
                      : std::uint64_t{e.participants} * kBpsWhole >=
                            std::uint64_t{e.quorum_bps} * e.eligible_members);
  const mpq_class lhs = for_weight * kBpsWhole;
  const mpq_class rhs = mpq_class(e.approval_bps) * (for_weight + against_weight);
  e.approved = for_weight > 0 && (p.rule_change ? lhs >= rhs : lhs > rhs);
  return for_weight;
}

// The explanation's figures for `p`; sets *covered to whether the proposal is in the view.
Explanation Explain(const RoundContext& ctx, const ProposalRecord& p,
                    const std::vector<const IgnoredEvent*>& ignored_votes, mpq_class* for_weight,
                    bool* covered) {
  Explanation e;
  e.deadline_ms = p.deadline_ms;
  e.cutoff_ms = ctx.cutoff;
  e.closed = ctx.closed;
  e.quorum_bps = ctx.rules.quorum_bps;
  e.approval_bps = p.rule_change ? ctx.rules.rule_change_bps : ctx.rules.approval_bps;
  e.eligible_members = ctx.n_eligible;
  *covered = ctx.view.Covers(ctx.index.LogOf(ctx.index.Of(p.author), p.device), p.seq);

  const DirectVotes direct = DirectVotesOf(ctx, p, ignored_votes, &e.excluded);
  std::vector<CastVote> cast;
  cast.reserve(direct.size() + ctx.delegations.delegators.size());
  for (const auto& [i, v] : direct) cast.push_back({i, v, {}, {}});
  FollowDelegations(ctx, p, direct, &cast, &e.delegations);
  std::sort(cast.begin(), cast.end(),
            [](const CastVote& a, const CastVote& b) { return a.member < b.member; });
  *for_weight = Count(ctx, p, cast, e);
  GateFlags(ctx, p, &e);
  return e;
}

std::string OrgOf(const CircleState& st, const MemberKey& k) {
  const Member* m = st.FindMember(k);
  return m ? m->organisation : std::string();
}

}  // namespace

IgnoredVotes IgnoredVotesOf(const CircleState& st) {
  IgnoredVotes out;
  for (const auto& ig : st.ignored) {
    if (ig.kind == v1::EventBody::kVote && ig.proposal) out[*ig.proposal].push_back(&ig);
  }
  return out;
}

ProposalOutcome TallyProposal(const RoundContext& ctx, const ProposalRecord& p,
                              const IgnoredVotes& ignored_votes, mpq_class* for_weight) {
  static const std::vector<const IgnoredEvent*> kNone;
  const CircleState& st = ctx.st;
  ProposalOutcome o;
  o.proposal = p.event;
  o.title = p.title;
  o.author = p.author;
  o.organisation = OrgOf(st, p.author);
  o.topic = p.topic;
  o.amount_minor = p.amount_minor;
  o.rule_change = p.rule_change.has_value();
  auto ig = ignored_votes.find(p.event);
  bool covered = true;
  o.explanation =
      Explain(ctx, p, ig == ignored_votes.end() ? kNone : ig->second, for_weight, &covered);
  const auto& e = o.explanation;
  o.explanation.allocation.proposal_cap =
      Share(st.pool_minor, ctx.rules.max_share_per_proposal_bps);
  o.explanation.allocation.org_cap = Share(st.pool_minor, ctx.rules.max_share_per_org_bps);
  const int author = ctx.index.Of(p.author);
  const bool withdrawn =
      p.withdrawn_ms && *p.withdrawn_ms <= ctx.cutoff &&
      ctx.view.Covers(ctx.index.LogOf(author, p.withdrawn_device), p.withdrawn_seq);
  if (withdrawn) {
    o.status = Status::kWithdrawn;
  } else if (!e.closed) {
    o.status = Status::kOpen;
  } else {
    o.status = o.rule_change ? Status::kNotAdopted : Status::kNotFunded;
    o.reason = !covered        ? Reason::kNotSealed
               : !e.quorum_met ? Reason::kQuorumNotMet
               : !e.approved   ? Reason::kNotApproved
               : e.blocked     ? Reason::kBlockedByFlag
                               : Reason::kNone;  // a candidate: Allocate() decides
    if (o.rule_change && o.reason == Reason::kNone) o.status = Status::kAdopted;
  }
  return o;
}

}  // namespace polder::decide
