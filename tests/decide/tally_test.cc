// The deterministic tally: one scenario per rule, Fold's validity rules, and properties over
// random circles (every arrival order gives the same tally and explanation; allocations stay
// within the pool and the exposure caps; an open blocking flag always blocks; turning an
// opposing vote into an abstention never unfunds a proposal under greedy).
#include "node/decide/tally.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "node/decide/fold.h"
#include "proto/time_text.h"

namespace polder::decide {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kDeadline = kT0 + 10'000;
constexpr std::int64_t kAfter = kT0 + 100'000;  // every proposal closed

// Builds a circle's events with protobuf directly: chained logs, ids = BLAKE2b of the body.
class Circle {
 public:
  explicit Circle(Money pool = 1000, v1::DecisionRules rules = {}) {
    founder_ = Key("founder");
    circle_.assign(32, 'c');
    v1::EventBody b = Body(founder_, kT0);
    auto* c = b.mutable_charter();
    c->set_name("test circle");
    c->set_pool_minor(pool);
    c->set_unit("EUR");
    c->set_decimals(2);
    *c->mutable_rules() = rules;
    c->mutable_founder()->set_name("founder");
    c->mutable_founder()->set_organisation("Org0");
    Push(founder_, std::move(b));
  }

  static MemberKey Key(const std::string& name) {
    auto d = crypto::Blake2b256(AsBytes(name));
    return *MemberKey::FromBytes(d.view());
  }

  const MemberKey& founder() const { return founder_; }

  MemberKey Admit(const std::string& name, const std::string& org, std::int64_t ts = kT0) {
    const MemberKey k = Key(name);
    v1::EventBody b = Body(founder_, ts);
    b.mutable_admit()->set_member(k.str());
    b.mutable_admit()->mutable_info()->set_name(name);
    b.mutable_admit()->mutable_info()->set_organisation(org);
    Push(founder_, std::move(b));
    return k;
  }

  EventId Propose(const MemberKey& who, Money amount, std::int64_t deadline = kDeadline,
                  const std::string& topic = "", std::int64_t ts = kT0 + 1) {
    v1::EventBody b = Body(who, ts);
    auto* p = b.mutable_proposal();
    p->set_title("proposal " + std::to_string(++proposals_));
    p->set_amount_minor(amount);
    p->set_deadline_ms(deadline);
    p->set_topic(topic);
    return Push(who, std::move(b));
  }

  EventId Vote(const MemberKey& who, const EventId& p, v1::Choice c, std::int64_t ts = kT0 + 10) {
    v1::EventBody b = Body(who, ts);
    b.mutable_vote()->set_proposal(p.str());
    b.mutable_vote()->set_choice(c);
    return Push(who, std::move(b));
  }

  EventId Flag(const MemberKey& who, const EventId& p, v1::Severity s, std::int64_t ts = kT0 + 5) {
    v1::EventBody b = Body(who, ts);
    b.mutable_risk_flag()->set_proposal(p.str());
    b.mutable_risk_flag()->set_severity(s);
    b.mutable_risk_flag()->set_category("finance");
    b.mutable_risk_flag()->set_rationale("why");
    return Push(who, std::move(b));
  }

  EventId Resolve(const MemberKey& who, const EventId& flag, v1::FlagResolution::Kind kind,
                  std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_flag_resolution()->set_flag(flag.str());
    b.mutable_flag_resolution()->set_kind(kind);
    if (kind == v1::FlagResolution::ANSWER) b.mutable_flag_resolution()->set_mitigation("plan");
    return Push(who, std::move(b));
  }

  EventId Endorse(const MemberKey& who, const EventId& p, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_endorsement()->set_proposal(p.str());
    return Push(who, std::move(b));
  }

  EventId Delegate(const MemberKey& who, const MemberKey& to, const std::string& topic = "",
                   std::int64_t ts = kT0 + 2) {
    v1::EventBody b = Body(who, ts);
    b.mutable_delegation()->set_delegate(to.str());
    b.mutable_delegation()->set_topic(topic);
    return Push(who, std::move(b));
  }

  EventId Revoke(const MemberKey& who, const std::string& topic, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_delegation()->set_topic(topic);
    b.mutable_delegation()->set_revoke(true);
    return Push(who, std::move(b));
  }

  EventId Withdraw(const MemberKey& who, const EventId& p, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_withdraw()->set_proposal(p.str());
    return Push(who, std::move(b));
  }

  // A member admitted by `by` (not the founder).
  MemberKey AdmitBy(const MemberKey& by, const std::string& name, const std::string& org,
                    std::int64_t ts) {
    const MemberKey k = Key(name);
    v1::EventBody b = Body(by, ts);
    b.mutable_admit()->set_member(k.str());
    b.mutable_admit()->mutable_info()->set_name(name);
    b.mutable_admit()->mutable_info()->set_organisation(org);
    Push(by, std::move(b));
    return k;
  }

  // A seal by `who` of the round `deadline`, naming every log as built so far (what a node that
  // holds every event so far would seal).
  EventId Seal(const MemberKey& who, std::int64_t deadline, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_seal()->set_deadline_ms(deadline);
    for (const auto& [author, h] : heads_) {
      if (h.seq == 0) continue;
      auto* e = b.mutable_seal()->add_heads();
      e->set_author(author.str());
      e->set_seq(h.seq);
    }
    return Push(who, std::move(b));
  }

  EventId RuleChange(const MemberKey& who, const v1::DecisionRules& rules, std::int64_t deadline,
                     std::int64_t ts = kT0 + 1) {
    v1::EventBody b = Body(who, ts);
    auto* p = b.mutable_proposal();
    p->set_title("rule change " + std::to_string(++proposals_));
    p->set_deadline_ms(deadline);
    *p->mutable_rules() = rules;
    return Push(who, std::move(b));
  }

  EventId Comment(const MemberKey& who, const std::string& text, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_comment()->set_text(text);
    return Push(who, std::move(b));
  }

  // A second, different event at `who`'s last seq: an equivocation.
  void Fork(const MemberKey& who) {
    const auto& h = heads_.at(who);
    v1::EventBody b;
    b.set_circle_id(circle_);
    b.set_author(who.str());
    b.set_seq(h.seq);
    b.set_prev(h.prev);
    b.set_timestamp_ms(h.ts);
    b.mutable_comment()->set_text("the other version");
    events.push_back({Id(b), b});
  }

  // An event of `who` at seq head + 2: beyond a gap.
  EventId Orphan(const MemberKey& who, const EventId& p, v1::Choice c) {
    const auto& h = heads_[who];
    v1::EventBody b;
    b.set_circle_id(circle_);
    b.set_author(who.str());
    b.set_seq(h.seq + 2);
    b.set_prev(std::string(32, 'x'));
    b.set_timestamp_ms(h.ts);
    b.mutable_vote()->set_proposal(p.str());
    b.mutable_vote()->set_choice(c);
    const EventId id = Id(b);
    events.push_back({id, b});
    return id;
  }

  // An event of someone never admitted.
  EventId Stranger(const EventId& p) {
    const MemberKey k = Key("stranger");
    v1::EventBody b = Body(k, kT0 + 10);
    b.mutable_vote()->set_proposal(p.str());
    b.mutable_vote()->set_choice(v1::FOR);
    return Push(k, std::move(b));
  }

  CircleState State() const { return Fold(events); }
  TallyResult Run(std::int64_t as_of = kAfter) const { return Tally(State(), as_of); }

  std::vector<FoldEvent> events;

 private:
  struct Head {
    std::uint64_t seq = 0;
    std::string prev;
    std::int64_t ts = 0;
  };

  static EventId Id(const v1::EventBody& b) {
    std::string bytes;
    b.SerializeToString(&bytes);
    return *EventId::FromBytes(crypto::Blake2b256(AsBytes(bytes)).view());
  }

  v1::EventBody Body(const MemberKey& who, std::int64_t ts) {
    const auto& h = heads_[who];
    v1::EventBody b;
    b.set_circle_id(circle_);
    b.set_author(who.str());
    b.set_seq(h.seq + 1);
    if (h.seq > 0) b.set_prev(h.prev);
    b.set_timestamp_ms(ts);
    return b;
  }

  EventId Push(const MemberKey& who, v1::EventBody b) {
    const EventId id = Id(b);
    heads_[who] = {b.seq(), id.str(), b.timestamp_ms()};
    events.push_back({id, std::move(b)});
    return id;
  }

  MemberKey founder_;
  std::string circle_;
  std::map<MemberKey, Head> heads_;
  int proposals_ = 0;
};

// By value: callers often pass a temporary TallyResult.
ProposalOutcome Find(const TallyResult& r, const EventId& id) {
  for (const auto& o : r.proposals) {
    if (o.proposal == id) return o;
  }
  ADD_FAILURE() << "no outcome for " << id.hex();
  return {};
}

// A circle of the founder (Org0) and `n` more members in orgs given by `orgs` (cycled).
std::vector<MemberKey> Members(Circle& c, int n, std::vector<std::string> orgs = {"Org0"}) {
  std::vector<MemberKey> out{c.founder()};
  for (int i = 1; i <= n; ++i) {
    out.push_back(
        c.Admit("m" + std::to_string(i), orgs[static_cast<std::size_t>(i) % orgs.size()]));
  }
  return out;
}

// ---- Fold ------------------------------------------------------------------------------------

TEST(Fold, DefaultsFillRulesLeftAtZero) {
  Circle c;
  const auto st = c.State();
  ASSERT_TRUE(st.has_charter);
  EXPECT_EQ(st.rules.voting_window_ms, 7LL * 24 * 3600 * 1000);
  EXPECT_EQ(st.rules.quorum_bps, 5000u);
  EXPECT_EQ(st.rules.approval_bps, 5000u);
  EXPECT_EQ(st.rules.weighting, v1::DecisionRules::ONE_MEMBER_ONE_VOTE);
  EXPECT_EQ(st.rules.allocation, v1::DecisionRules::GREEDY_APPROVAL);
  EXPECT_EQ(st.rules.max_share_per_proposal_bps, 10000u);
  EXPECT_EQ(st.rules.max_share_per_org_bps, 10000u);
  EXPECT_EQ(st.rules.blocking_severity, v1::HIGH);
  EXPECT_EQ(st.rules.mitigation_acceptances, 2u);
  EXPECT_EQ(st.rules.override_bps, 6666u);  // "at least": exactly two thirds passes
  EXPECT_EQ(st.rules.admission_quorum, 1u);
  EXPECT_EQ(st.rules.seals_required, 0u);  // a majority
  EXPECT_EQ(st.rules.rule_change_bps, 6666u);
}

TEST(Fold, EventBeyondAGapAndStrangersDoNotCount) {
  Circle c;
  auto m = Members(c, 3);
  const auto p = c.Propose(m[1], 100);
  c.Vote(m[1], p, v1::FOR);
  const auto orphan = c.Orphan(m[2], p, v1::FOR);
  const auto stranger = c.Stranger(p);
  const auto st = c.State();
  ASSERT_EQ(st.proposals.size(), 1u);
  EXPECT_EQ(st.proposals[0].votes.size(), 1u);
  std::map<EventId, Ignored> ignored;
  for (const auto& i : st.ignored) ignored[i.event] = i.reason;
  ASSERT_EQ(ignored.size(), 2u);
  EXPECT_EQ(ignored.at(orphan), Ignored::kPending);
  EXPECT_EQ(ignored.at(stranger), Ignored::kNotMember);
  const auto tally = Tally(st, kAfter);
  const auto& e = Find(tally, p).explanation;
  ASSERT_EQ(e.excluded.size(), 2u);
  EXPECT_EQ(e.participants, 1u);
}

TEST(Fold, VoteOnAProposalNotHeldBlocksTheRestOfTheLog) {
  Circle c;
  auto m = Members(c, 2);
  const auto p = c.Propose(m[1], 100);
  EventId missing{};
  missing.bytes[0] = 7;
  c.Vote(m[2], missing, v1::FOR);
  c.Vote(m[2], p, v1::FOR);  // after the waiting event: never applies
  const auto st = c.State();
  EXPECT_TRUE(st.proposals[0].votes.empty());
  EXPECT_EQ(st.ignored.size(), 2u);
}

TEST(Fold, WithdrawingSomeoneElsesProposalIsVoid) {
  Circle c;
  auto m = Members(c, 2);
  const auto p = c.Propose(m[1], 100);
  const auto w = c.Withdraw(m[2], p, kT0 + 3);
  c.Vote(m[2], p, v1::FOR);  // the void event keeps its place: later events still apply
  const auto st = c.State();
  EXPECT_FALSE(st.proposals[0].withdrawn_ms);
  EXPECT_EQ(st.proposals[0].votes.size(), 1u);
  ASSERT_EQ(st.ignored.size(), 1u);
  EXPECT_EQ(st.ignored[0].event, w);
  EXPECT_EQ(st.ignored[0].reason, Ignored::kVoid);
}

TEST(Fold, SameStateForEveryOrderAndWithDuplicates) {
  Circle c;
  auto m = Members(c, 4, {"A", "B"});
  const auto p = c.Propose(m[1], 100);
  c.Vote(m[2], p, v1::FOR);
  c.Delegate(m[3], m[2]);
  c.Flag(m[4], p, v1::HIGH);
  const auto expected = c.State();
  auto events = c.events;
  events.push_back(events[3]);
  for (std::uint32_t seed = 0; seed < 50; ++seed) {
    std::shuffle(events.begin(), events.end(), std::mt19937(seed));
    EXPECT_EQ(Fold(events), expected) << "seed " << seed;
  }
}

// ---- Quorum and approval ---------------------------------------------------------------------

TEST(Tally, QuorumMissedAndMetAtExactlyTheShare) {
  Circle c;
  auto m = Members(c, 3);  // 4 members; 50 % quorum = 2
  const auto p1 = c.Propose(m[1], 100);
  const auto p2 = c.Propose(m[2], 100);
  c.Vote(m[1], p1, v1::FOR);
  c.Vote(m[1], p2, v1::FOR);
  c.Vote(m[2], p2, v1::FOR);
  const auto r = c.Run();
  EXPECT_EQ(Find(r, p1).status, Status::kNotFunded);
  EXPECT_EQ(Find(r, p1).reason, Reason::kQuorumNotMet);
  EXPECT_EQ(Find(r, p1).explanation.participants, 1u);
  EXPECT_EQ(Find(r, p1).explanation.eligible_members, 4u);
  EXPECT_EQ(Find(r, p2).status, Status::kFunded);
}

TEST(Tally, ApprovalNeedsStrictlyMoreThanTheThreshold) {
  Circle c;
  auto m = Members(c, 3);
  const auto tie = c.Propose(m[1], 100);
  const auto win = c.Propose(m[1], 100);
  c.Vote(m[0], tie, v1::FOR);
  c.Vote(m[1], tie, v1::FOR);
  c.Vote(m[2], tie, v1::AGAINST);
  c.Vote(m[3], tie, v1::AGAINST);
  c.Vote(m[0], win, v1::FOR);
  c.Vote(m[1], win, v1::FOR);
  c.Vote(m[2], win, v1::ABSTAIN);  // counts for quorum only
  c.Vote(m[3], win, v1::AGAINST);
  const auto r = c.Run();
  EXPECT_EQ(Find(r, tie).reason, Reason::kNotApproved);
  EXPECT_EQ(Find(r, win).status, Status::kFunded);
  EXPECT_EQ(Find(r, win).explanation.abstain_count, 1u);
}

TEST(Tally, OrganisationBalancedWeightingFlipsAResult) {
  // Org A has 4 members, B and C one each. Three of A vote for, B and C against:
  // one member one vote → 3 : 2, approved; organisation-balanced → 3/4 : 2, rejected.
  auto build = [](v1::DecisionRules::Weighting w) {
    v1::DecisionRules rules;
    rules.set_weighting(w);
    Circle c(1000, rules);
    std::vector<MemberKey> a;
    for (int i = 0; i < 3; ++i) a.push_back(c.Admit("a" + std::to_string(i), "A"));
    a.push_back(c.Admit("a3", "A"));
    const auto b = c.Admit("b", "B");
    const auto cc = c.Admit("c", "C");
    const auto p = c.Propose(a[0], 100);
    for (int i = 0; i < 3; ++i) c.Vote(a[static_cast<std::size_t>(i)], p, v1::FOR);
    c.Vote(b, p, v1::AGAINST);
    c.Vote(cc, p, v1::AGAINST);
    return std::make_pair(c.Run(), p);
  };
  {
    auto [r, p] = build(v1::DecisionRules::ONE_MEMBER_ONE_VOTE);
    EXPECT_EQ(Find(r, p).status, Status::kFunded);
  }
  {
    auto [r, p] = build(v1::DecisionRules::ORGANISATION_BALANCED);
    const auto& o = Find(r, p);
    EXPECT_EQ(o.reason, Reason::kNotApproved);
    EXPECT_EQ(o.explanation.for_weight, (Fraction{"3", "4"}));
    EXPECT_EQ(o.explanation.against_weight, (Fraction{"2", "1"}));
  }
}

// ---- Time ------------------------------------------------------------------------------------

TEST(Tally, LateVoteIgnoredAndTheEarlierOneStands) {
  Circle c;
  auto m = Members(c, 1);
  const auto p = c.Propose(m[1], 100);
  c.Vote(m[0], p, v1::FOR);
  c.Vote(m[1], p, v1::FOR);
  const auto late = c.Vote(m[1], p, v1::AGAINST, kDeadline + 1);
  const auto result = c.Run();
  const auto& o = Find(result, p);
  EXPECT_EQ(o.status, Status::kFunded);
  EXPECT_EQ(o.explanation.for_count, 2u);
  ASSERT_EQ(o.explanation.excluded.size(), 1u);
  EXPECT_EQ(o.explanation.excluded[0].event, late);
  EXPECT_EQ(o.explanation.excluded[0].reason, Exclusion::kLate);
}

TEST(Tally, MemberAdmittedAfterTheDeadlineDoesNotCount) {
  Circle c;
  auto m = Members(c, 2);
  const auto p = c.Propose(m[1], 100);
  c.Vote(m[1], p, v1::FOR);
  const auto late_member = c.Admit("late", "Org0", kDeadline + 5);
  const auto v = c.Vote(late_member, p, v1::AGAINST, kDeadline + 10);
  const auto result = c.Run();
  const auto& o = Find(result, p);
  EXPECT_EQ(o.explanation.eligible_members, 3u);  // 1 of 3: quorum not met
  EXPECT_EQ(o.reason, Reason::kQuorumNotMet);
  ASSERT_EQ(o.explanation.excluded.size(), 1u);
  EXPECT_EQ(o.explanation.excluded[0].event, v);
  EXPECT_EQ(o.explanation.excluded[0].reason, Exclusion::kNotMember);
}

TEST(Tally, OpenBeforeTheDeadlineWithProvisionalFigures) {
  Circle c;
  auto m = Members(c, 1);
  const auto p = c.Propose(m[1], 100);
  c.Vote(m[0], p, v1::FOR, kT0 + 10);
  c.Vote(m[1], p, v1::FOR, kT0 + 500);
  const auto r = c.Run(kT0 + 100);
  const auto& o = Find(r, p);
  EXPECT_EQ(o.status, Status::kOpen);
  EXPECT_FALSE(o.explanation.closed);
  EXPECT_EQ(o.explanation.for_count, 1u);  // the vote after as_of is not yet counted
  EXPECT_EQ(r.allocated_minor, 0);
}

TEST(Tally, WithdrawnProposalIsNotFunded) {
  Circle c;
  auto m = Members(c, 1);
  const auto p = c.Propose(m[1], 100);
  c.Vote(m[0], p, v1::FOR);
  c.Vote(m[1], p, v1::FOR);
  c.Withdraw(m[1], p, kT0 + 20);
  EXPECT_EQ(Find(c.Run(), p).status, Status::kWithdrawn);
}

// ---- Forks -----------------------------------------------------------------------------------

TEST(Tally, ForkedVoterIsExcluded) {
  Circle c;
  auto m = Members(c, 2);
  const auto p = c.Propose(m[1], 100);
  c.Vote(m[0], p, v1::FOR);
  c.Vote(m[1], p, v1::FOR);
  const auto forked_vote = c.Vote(m[2], p, v1::AGAINST);
  c.Comment(m[2], "one version", kT0 + 20);
  c.Fork(m[2]);
  const auto st = c.State();
  ASSERT_TRUE(st.FindMember(m[2])->forked());
  const auto tally = Tally(st, kAfter);
  const auto& o = Find(tally, p);
  EXPECT_EQ(o.status, Status::kFunded);  // the forked member's vote against is not counted
  EXPECT_EQ(o.explanation.against_count, 0u);
  ASSERT_EQ(o.explanation.excluded.size(), 1u);
  EXPECT_EQ(o.explanation.excluded[0].event, forked_vote);
  EXPECT_EQ(o.explanation.excluded[0].reason, Exclusion::kForkedAuthor);
}

// ---- Delegation ------------------------------------------------------------------------------

TEST(Delegation, ChainIsFollowedToTheMemberWhoVoted) {
  Circle c;
  auto m = Members(c, 4);
  const auto p = c.Propose(m[0], 100);
  c.Delegate(m[1], m[2]);
  c.Delegate(m[2], m[3]);
  c.Vote(m[3], p, v1::FOR);
  const auto result = c.Run();
  const auto& e = Find(result, p).explanation;
  EXPECT_EQ(e.participants, 3u);
  EXPECT_EQ(e.for_count, 3u);
  ASSERT_EQ(e.delegations.size(), 2u);
  for (const auto& d : e.delegations) EXPECT_EQ(d.end, DelegationEnd::kUsed);
  const auto it = std::find_if(e.votes.begin(), e.votes.end(),
                               [&](const CountedVote& v) { return v.member == m[1]; });
  ASSERT_NE(it, e.votes.end());
  EXPECT_EQ(it->via, (std::vector<MemberKey>{m[2], m[3]}));
}

TEST(Delegation, CycleAndChainToANonVoterResolveToNoVote) {
  Circle c;
  auto m = Members(c, 4);
  const auto p = c.Propose(m[0], 100);
  c.Delegate(m[1], m[2]);
  c.Delegate(m[2], m[1]);
  c.Delegate(m[3], m[4]);  // m4 neither votes nor delegates
  c.Vote(m[0], p, v1::FOR);
  const auto result = c.Run();
  const auto& o = Find(result, p);
  EXPECT_EQ(o.explanation.participants, 1u);
  EXPECT_EQ(o.reason, Reason::kQuorumNotMet);
  std::map<MemberKey, DelegationEnd> ends;
  for (const auto& d : o.explanation.delegations) ends[d.delegator] = d.end;
  EXPECT_EQ(ends.at(m[1]), DelegationEnd::kCycle);
  EXPECT_EQ(ends.at(m[2]), DelegationEnd::kCycle);
  EXPECT_EQ(ends.at(m[3]), DelegationEnd::kEndsAtNonVoter);
}

TEST(Delegation, TopicDelegationOverridesTheGeneralOne) {
  Circle c;
  auto m = Members(c, 3);
  const auto parks = c.Propose(m[0], 100, kDeadline, "parks");
  const auto other = c.Propose(m[0], 100, kDeadline, "arts");
  c.Delegate(m[1], m[2]);           // general
  c.Delegate(m[1], m[3], "parks");  // topic
  c.Vote(m[2], parks, v1::AGAINST);
  c.Vote(m[3], parks, v1::FOR);
  c.Vote(m[2], other, v1::AGAINST);
  c.Vote(m[3], other, v1::FOR);
  const auto r = c.Run();
  auto choice_of = [&](const EventId& p, const MemberKey& k) {
    for (const auto& v : Find(r, p).explanation.votes) {
      if (v.member == k) return v.choice;
    }
    return v1::CHOICE_UNSPECIFIED;
  };
  EXPECT_EQ(choice_of(parks, m[1]), v1::FOR);
  EXPECT_EQ(choice_of(other, m[1]), v1::AGAINST);
}

TEST(Delegation, DirectVoteOverridesTheDelegation) {
  Circle c;
  auto m = Members(c, 2);
  const auto p = c.Propose(m[0], 100);
  c.Delegate(m[1], m[2]);
  c.Vote(m[2], p, v1::FOR);
  c.Vote(m[1], p, v1::AGAINST);
  const auto result = c.Run();
  const auto& e = Find(result, p).explanation;
  EXPECT_EQ(e.against_count, 1u);
  EXPECT_EQ(e.for_count, 1u);
  ASSERT_EQ(e.delegations.size(), 1u);
  EXPECT_EQ(e.delegations[0].end, DelegationEnd::kOverriddenByOwnVote);
}

TEST(Delegation, RevocationCountsForDeadlinesAfterIt) {
  Circle c;
  auto m = Members(c, 3);
  const auto early = c.Propose(m[0], 100, kT0 + 1000);
  const auto late = c.Propose(m[0], 100, kT0 + 3000);
  c.Delegate(m[1], m[2], "", kT0 + 2);
  c.Vote(m[2], early, v1::FOR, kT0 + 10);
  c.Vote(m[2], late, v1::FOR, kT0 + 10);
  c.Revoke(m[1], "", kT0 + 2000);
  const auto r = c.Run();
  EXPECT_EQ(Find(r, early).explanation.for_count, 2u);
  EXPECT_EQ(Find(r, late).explanation.for_count, 1u);
}

// ---- Risk gating -----------------------------------------------------------------------------

// One proposal everyone but m3 votes for, flagged by m3 (HIGH) unless `severity` says otherwise.
struct Flagged {
  Circle c;
  std::vector<MemberKey> m;
  EventId p, flag;
  explicit Flagged(v1::Severity severity = v1::HIGH) {
    m = Members(c, 5);
    p = c.Propose(m[1], 100);
    for (int i : {0, 1, 2, 4, 5}) c.Vote(m[static_cast<std::size_t>(i)], p, v1::FOR);
    flag = c.Flag(m[3], p, severity, kT0 + 20);
  }
  ProposalOutcome Outcome() const { return Find(c.Run(), p); }
};

TEST(RiskGate, OpenBlockingFlagBlocks) {
  Flagged f;
  const auto o = f.Outcome();
  EXPECT_EQ(o.reason, Reason::kBlockedByFlag);
  ASSERT_EQ(o.explanation.flags.size(), 1u);
  EXPECT_EQ(o.explanation.flags[0].state, FlagState::kOpen);
}

TEST(RiskGate, FlagBelowTheBlockingSeverityDoesNotBlock) {
  Flagged f(v1::MEDIUM);
  EXPECT_EQ(f.Outcome().status, Status::kFunded);
}

TEST(RiskGate, FlagWithdrawnByItsFlaggerEnds) {
  Flagged f;
  f.c.Resolve(f.m[3], f.flag, v1::FlagResolution::WITHDRAW, kT0 + 30);
  const auto o = f.Outcome();
  EXPECT_EQ(o.status, Status::kFunded);
  EXPECT_EQ(o.explanation.flags[0].state, FlagState::kWithdrawn);
}

TEST(RiskGate, WithdrawalAfterTheDeadlineDoesNotEndTheFlag) {
  Flagged f;
  f.c.Resolve(f.m[3], f.flag, v1::FlagResolution::WITHDRAW, kDeadline + 1);
  EXPECT_EQ(f.Outcome().reason, Reason::kBlockedByFlag);
}

TEST(RiskGate, AnsweredFlagEndsWhenEnoughOthersEndorseAfterTheAnswer) {
  Flagged f;
  f.c.Resolve(f.m[1], f.flag, v1::FlagResolution::ANSWER, kT0 + 30);
  f.c.Endorse(f.m[2], f.p, kT0 + 40);
  EXPECT_EQ(f.Outcome().reason, Reason::kBlockedByFlag);  // one of two
  f.c.Endorse(f.m[4], f.p, kT0 + 41);
  const auto o = f.Outcome();
  EXPECT_EQ(o.status, Status::kFunded);
  EXPECT_EQ(o.explanation.flags[0].state, FlagState::kMitigated);
  EXPECT_EQ(o.explanation.flags[0].acceptances,
            (std::vector<MemberKey>{std::min(f.m[2], f.m[4]), std::max(f.m[2], f.m[4])}));
}

TEST(RiskGate, EndorsementsBeforeTheAnswerOrByProposerOrFlaggerDoNotAccept) {
  Flagged f;
  f.c.Endorse(f.m[2], f.p, kT0 + 25);  // before the answer
  f.c.Resolve(f.m[1], f.flag, v1::FlagResolution::ANSWER, kT0 + 30);
  f.c.Endorse(f.m[1], f.p, kT0 + 40);  // the proposer
  f.c.Endorse(f.m[3], f.p, kT0 + 40);  // the flagger
  f.c.Endorse(f.m[4], f.p, kT0 + 40);  // counts
  const auto o = f.Outcome();
  EXPECT_EQ(o.reason, Reason::kBlockedByFlag);
  EXPECT_TRUE(o.explanation.flags[0].answered);
  EXPECT_EQ(o.explanation.flags[0].acceptances, std::vector<MemberKey>{f.m[4]});
}

TEST(RiskGate, AnswerBySomeoneOtherThanTheProposerIsVoid) {
  Flagged f;
  f.c.Resolve(f.m[2], f.flag, v1::FlagResolution::ANSWER, kT0 + 30);
  f.c.Endorse(f.m[4], f.p, kT0 + 40);
  f.c.Endorse(f.m[5], f.p, kT0 + 40);
  const auto o = f.Outcome();
  EXPECT_EQ(o.reason, Reason::kBlockedByFlag);
  EXPECT_FALSE(o.explanation.flags[0].answered);
}

// ---- Allocation ------------------------------------------------------------------------------

// Every member votes for every proposal in `ps`, the first members for the first ones only
// so that approvals decrease along `ps`.
void VoteDescending(Circle& c, const std::vector<MemberKey>& m, const std::vector<EventId>& ps) {
  for (std::size_t j = 0; j < ps.size(); ++j) {
    for (std::size_t i = 0; i < m.size() - j; ++i) c.Vote(m[i], ps[j], v1::FOR);
  }
}

TEST(Allocation, GreedySkipsWhatDoesNotFitAndGoesOn) {
  Circle c(1000);
  auto m = Members(c, 5);
  const auto big = c.Propose(m[1], 700);
  const auto mid = c.Propose(m[1], 500);
  const auto small = c.Propose(m[1], 300);
  VoteDescending(c, m, {big, mid, small});
  const auto r = c.Run();
  EXPECT_EQ(Find(r, big).status, Status::kFunded);
  EXPECT_EQ(Find(r, mid).reason, Reason::kBudgetExhausted);
  EXPECT_EQ(Find(r, mid).explanation.allocation.pool_left_before, 300);
  EXPECT_EQ(Find(r, small).status, Status::kFunded);
  EXPECT_EQ(r.allocated_minor, 1000);
}

TEST(Allocation, ProposalAboveItsShareOfThePoolIsNotFunded) {
  v1::DecisionRules rules;
  rules.set_max_share_per_proposal_bps(3000);
  Circle c(1000, rules);
  auto m = Members(c, 3);
  const auto at_cap = c.Propose(m[1], 300);
  const auto over = c.Propose(m[1], 301);
  VoteDescending(c, m, {over, at_cap});
  const auto r = c.Run();
  EXPECT_EQ(Find(r, over).reason, Reason::kOverProposalCap);
  EXPECT_EQ(Find(r, at_cap).status, Status::kFunded);
}

TEST(Allocation, OrganisationCapSkipsWhatWouldExceedIt) {
  v1::DecisionRules rules;
  rules.set_max_share_per_org_bps(5000);
  Circle c(1000, rules);
  auto m = Members(c, 4, {"A", "B"});  // m1, m3 in B; m2, m4 in A
  const auto a1 = c.Propose(m[2], 300);
  const auto a2 = c.Propose(m[2], 250);
  const auto b1 = c.Propose(m[1], 200);
  VoteDescending(c, m, {a1, a2, b1});
  const auto r = c.Run();
  EXPECT_EQ(Find(r, a1).status, Status::kFunded);
  EXPECT_EQ(Find(r, a2).reason, Reason::kOrgCapReached);
  EXPECT_EQ(Find(r, a2).explanation.allocation.org_spent_before, 300);
  EXPECT_EQ(Find(r, b1).status, Status::kFunded);
}

TEST(Allocation, EqualSharesFundsWhatItsApproversCanAfford) {
  v1::DecisionRules rules;
  rules.set_allocation(v1::DecisionRules::EQUAL_SHARES);
  Circle c(1000, rules);
  auto m = Members(c, 3);  // 4 voters with 250 each
  const auto shared = c.Propose(m[1], 600);
  const auto mine = c.Propose(m[1], 400);
  const auto lonely = c.Propose(m[1], 400);
  for (auto& k : m) c.Vote(k, shared, v1::FOR);
  c.Vote(m[0], mine, v1::FOR);
  c.Vote(m[1], mine, v1::FOR);
  c.Vote(m[2], mine, v1::FOR);
  c.Vote(m[0], lonely, v1::FOR);
  c.Vote(m[1], lonely, v1::AGAINST);
  c.Vote(m[2], lonely, v1::AGAINST);
  c.Vote(m[3], lonely, v1::FOR);
  const auto r = c.Run();
  EXPECT_EQ(Find(r, shared).status, Status::kFunded);
  EXPECT_EQ(Find(r, mine).status, Status::kFunded);
  EXPECT_EQ(Find(r, lonely).reason, Reason::kNotApproved);
  EXPECT_LE(r.allocated_minor, r.pool_minor);
}

TEST(Allocation, EqualSharesRespectsTheOrganisationCap) {
  v1::DecisionRules rules;
  rules.set_allocation(v1::DecisionRules::EQUAL_SHARES);
  rules.set_max_share_per_org_bps(5000);
  Circle c(1000, rules);
  auto m = Members(c, 3, {"A", "B"});  // m1, m3 in B; m2 in A; founder in Org0
  const auto b1 = c.Propose(m[1], 300);
  const auto b2 = c.Propose(m[3], 300);
  for (auto& k : m) {
    c.Vote(k, b1, v1::FOR);
    c.Vote(k, b2, v1::FOR);
  }
  const auto r = c.Run();
  const auto o1 = Find(r, b1), o2 = Find(r, b2);
  EXPECT_EQ(r.allocated_minor, 300);  // both fit the pool, but B may take at most 500
  EXPECT_NE(o1.status, o2.status);
  EXPECT_TRUE(o1.reason == Reason::kOrgCapReached || o2.reason == Reason::kOrgCapReached);
}

TEST(RiskGate, FlagRaisedAfterTheDeadlineDoesNotBlock) {
  Circle c;
  auto m = Members(c, 2);
  const auto p = c.Propose(m[1], 100);
  for (auto& k : m) c.Vote(k, p, v1::FOR);
  c.Flag(m[2], p, v1::CRITICAL, kDeadline + 1);
  const auto o = Find(c.Run(), p);
  EXPECT_EQ(o.status, Status::kFunded);
  EXPECT_TRUE(o.explanation.flags.empty());
}

TEST(Explain, TextNamesTheOutcomeQuorumAndFlags) {
  Flagged f;
  const auto st = f.c.State();
  const auto text = ExplainText(st, Tally(st, kAfter));
  EXPECT_NE(text.find("blocked by an open risk flag"), std::string::npos) << text;
  EXPECT_NE(text.find("Quorum: 5 of 6 members voted"), std::string::npos) << text;
  EXPECT_NE(text.find("high (blocking): open"), std::string::npos) << text;
  // Times read as dates (UTC), the same on every node, not as raw milliseconds.
  const auto o = Tally(st, kAfter).proposals.front();
  EXPECT_NE(text.find("Deadline " + FormatRfc3339(o.explanation.deadline_ms) +
                      "; votes counted up to " + FormatRfc3339(o.explanation.cutoff_ms) + "."),
            std::string::npos)
      << text;
  EXPECT_EQ(text.rfind("Tally at " + FormatRfc3339(kAfter) + ": ", 0), 0u) << text;
  EXPECT_EQ(text.find(" ms"), std::string::npos) << text;
}

// ---- Properties over random circles ----------------------------------------------------------

// A random circle as a plan of actions, so one action can be changed and the rest rebuilt alike.
struct Action {
  enum Kind { kVote, kFlag, kWithdrawFlag, kAnswer, kEndorse, kDelegate, kRevoke } kind;
  std::int64_t ts = 0;
  int actor = 0;
  int proposal = 0;
  int target = 0;  // the delegate
  int value = 0;   // choice or severity
  std::string topic;
};

struct RandomCircle {
  v1::DecisionRules rules;
  std::vector<Money> amounts;
  std::vector<int> proposers;
  std::vector<std::string> topics;
  std::vector<Action> actions;  // sorted by time
};

constexpr int kMembers = 9;
constexpr int kProposals = 12;
const std::vector<std::string> kTopics = {"", "parks", "arts"};

RandomCircle MakeRandom(std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint32_t>(n)); };
  RandomCircle rc;
  rc.rules.set_weighting(pick(2) ? v1::DecisionRules::ORGANISATION_BALANCED
                                 : v1::DecisionRules::ONE_MEMBER_ONE_VOTE);
  rc.rules.set_allocation(pick(2) ? v1::DecisionRules::EQUAL_SHARES
                                  : v1::DecisionRules::GREEDY_APPROVAL);
  rc.rules.set_max_share_per_proposal_bps(pick(2) ? 2500 : 0);
  rc.rules.set_max_share_per_org_bps(pick(2) ? 4000 : 0);
  rc.rules.set_quorum_bps(3000);
  for (int p = 0; p < kProposals; ++p) {
    rc.amounts.push_back(50 + pick(400));
    rc.proposers.push_back(pick(kMembers));
    rc.topics.push_back(kTopics[static_cast<std::size_t>(pick(3))]);
  }
  auto ts = [&] { return kT0 + 100 + pick(11'000); };  // about 1 in 11 after the deadline
  for (int i = 0; i < kMembers; ++i) {
    for (int p = 0; p < kProposals; ++p) {
      for (int n = pick(3); n > 0; --n) {
        rc.actions.push_back({Action::kVote, ts(), i, p, 0, 1 + pick(3), ""});
      }
    }
  }
  for (int f = 0; f < 8; ++f) {
    const int flagger = pick(kMembers), p = pick(kProposals);
    const std::int64_t t = kT0 + 50 + pick(5000);
    rc.actions.push_back({Action::kFlag, t, flagger, p, 0, 1 + pick(5), ""});
    switch (pick(3)) {
      case 0:
        rc.actions.push_back({Action::kWithdrawFlag, t + 1 + pick(6000), flagger, p, 0, 0, ""});
        break;
      case 1: {
        const std::int64_t a = t + 1 + pick(4000);
        rc.actions.push_back(
            {Action::kAnswer, a, rc.proposers[static_cast<std::size_t>(p)], p, 0, 0, ""});
        break;
      }
      default: break;
    }
  }
  for (int e = 0; e < 20; ++e) {
    rc.actions.push_back({Action::kEndorse, ts(), pick(kMembers), pick(kProposals), 0, 0, ""});
  }
  for (int d = 0; d < 8; ++d) {
    const int from = pick(kMembers);
    const int to = (from + 1 + pick(kMembers - 1)) % kMembers;
    const std::string topic = kTopics[static_cast<std::size_t>(pick(3))];
    const std::int64_t t = kT0 + 20 + pick(8000);
    rc.actions.push_back({Action::kDelegate, t, from, 0, to, 0, topic});
    if (pick(3) == 0) rc.actions.push_back({Action::kRevoke, t + pick(5000), from, 0, 0, 0, topic});
  }
  std::stable_sort(rc.actions.begin(), rc.actions.end(),
                   [](const Action& a, const Action& b) { return a.ts < b.ts; });
  return rc;
}

std::vector<FoldEvent> Build(const RandomCircle& rc, std::vector<EventId>* proposal_ids = nullptr) {
  Circle c(1500, rc.rules);
  std::vector<MemberKey> m{c.founder()};
  for (int i = 1; i < kMembers; ++i) {
    m.push_back(c.Admit("m" + std::to_string(i), "Org" + std::to_string(i % 3)));
  }
  std::vector<EventId> ps;
  for (int p = 0; p < kProposals; ++p) {
    const auto u = static_cast<std::size_t>(p);
    ps.push_back(c.Propose(m[static_cast<std::size_t>(rc.proposers[u])], rc.amounts[u], kDeadline,
                           rc.topics[u], kT0 + 1 + p));
  }
  if (proposal_ids) *proposal_ids = ps;
  // A resolution resolves the earliest earlier flag on its proposal it may resolve.
  std::map<int, EventId> flags;
  for (std::size_t i = 0; i < rc.actions.size(); ++i) {
    const Action& a = rc.actions[i];
    const MemberKey& who = m[static_cast<std::size_t>(a.actor)];
    const EventId& p = ps[static_cast<std::size_t>(a.proposal)];
    switch (a.kind) {
      case Action::kVote: c.Vote(who, p, static_cast<v1::Choice>(a.value), a.ts); break;
      case Action::kFlag:
        flags[static_cast<int>(i)] = c.Flag(who, p, static_cast<v1::Severity>(a.value), a.ts);
        break;
      case Action::kWithdrawFlag:
      case Action::kAnswer: {
        for (std::size_t j = 0; j < i; ++j) {
          const Action& f = rc.actions[j];
          if (f.kind == Action::kFlag && f.proposal == a.proposal &&
              flags.count(static_cast<int>(j)) &&
              (a.kind == Action::kAnswer || f.actor == a.actor)) {
            c.Resolve(who, flags[static_cast<int>(j)],
                      a.kind == Action::kAnswer ? v1::FlagResolution::ANSWER
                                                : v1::FlagResolution::WITHDRAW,
                      a.ts);
            break;
          }
        }
        break;
      }
      case Action::kEndorse: c.Endorse(who, p, a.ts); break;
      case Action::kDelegate:
        c.Delegate(who, m[static_cast<std::size_t>(a.target)], a.topic, a.ts);
        break;
      case Action::kRevoke: c.Revoke(who, a.topic, a.ts); break;
    }
  }
  return c.events;
}

void CheckInvariants(const CircleState& st, const TallyResult& r, std::uint32_t seed) {
  Money total = 0;
  std::map<std::string, Money> per_org;
  for (const auto& o : r.proposals) {
    if (o.explanation.blocked && o.explanation.closed) {
      EXPECT_NE(o.status, Status::kFunded) << "seed " << seed;
    }
    for (const auto& f : o.explanation.flags) {
      if (f.state == FlagState::kOpen && f.blocking_severity) {
        EXPECT_NE(o.status, Status::kFunded) << "seed " << seed;
      }
    }
    if (o.status != Status::kFunded) continue;
    total += o.amount_minor;
    per_org[o.organisation] += o.amount_minor;
    EXPECT_LE(static_cast<__int128>(o.amount_minor) * 10000,
              static_cast<__int128>(st.rules.max_share_per_proposal_bps) * r.pool_minor)
        << "seed " << seed;
  }
  EXPECT_EQ(total, r.allocated_minor);
  EXPECT_LE(total, r.pool_minor) << "seed " << seed;
  for (const auto& [org, sum] : per_org) {
    EXPECT_LE(static_cast<__int128>(sum) * 10000,
              static_cast<__int128>(st.rules.max_share_per_org_bps) * r.pool_minor)
        << "seed " << seed << " org " << org;
  }
}

TEST(TallyProperty, SameTallyAndExplanationForEveryArrivalOrder) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    auto events = Build(MakeRandom(seed));
    const auto st = Fold(events);
    const auto expected = Tally(st, kAfter);
    const auto expected_open = Tally(st, kT0 + 5000);
    const auto text = ExplainText(st, expected);
    CheckInvariants(st, expected, seed);
    std::mt19937 rng(seed);
    for (int i = 0; i < 100; ++i) {
      std::shuffle(events.begin(), events.end(), rng);
      const auto st2 = Fold(events);
      ASSERT_EQ(st2, st) << "seed " << seed << " permutation " << i;
      ASSERT_EQ(Tally(st2, kAfter), expected) << "seed " << seed << " permutation " << i;
      ASSERT_EQ(Tally(st2, kT0 + 5000), expected_open) << "seed " << seed;
      ASSERT_EQ(ExplainText(st2, Tally(st2, kAfter)), text) << "seed " << seed;
    }
  }
}

TEST(TallyProperty, InvariantsHoldOnManyRandomCircles) {
  std::set<Status> seen;
  for (std::uint32_t seed = 100; seed < 160; ++seed) {
    const auto st = Fold(Build(MakeRandom(seed)));
    const auto r = Tally(st, kAfter);
    CheckInvariants(st, r, seed);
    for (const auto& o : r.proposals) seen.insert(o.status);
  }
  EXPECT_TRUE(seen.count(Status::kFunded));
  EXPECT_TRUE(seen.count(Status::kNotFunded));
}

// Under greedy, turning one against vote into an abstention (same participation, less
// opposition) never turns the proposal it was cast on from funded into unfunded; nor does
// removing it, as long as the proposal still meets its quorum.
TEST(TallyProperty, LessOppositionNeverUnfundsUnderGreedy) {
  int checked = 0;
  for (std::uint32_t seed = 200; seed < 240; ++seed) {
    RandomCircle rc = MakeRandom(seed);
    rc.rules.set_allocation(v1::DecisionRules::GREEDY_APPROVAL);
    std::vector<EventId> ids;
    const auto before = Tally(Fold(Build(rc, &ids)), kAfter);
    for (std::size_t i = 0; i < rc.actions.size(); ++i) {
      const Action& a = rc.actions[i];
      if (a.kind != Action::kVote || a.value != v1::AGAINST) continue;
      const EventId& p = ids[static_cast<std::size_t>(a.proposal)];
      if (Find(before, p).status != Status::kFunded) continue;
      RandomCircle changed = rc;
      changed.actions[i].value = v1::ABSTAIN;
      const auto after = Tally(Fold(Build(changed)), kAfter);
      EXPECT_EQ(Find(after, p).status, Status::kFunded) << "seed " << seed << " action " << i;
      ++checked;
      // Removed outright, participation may fall below the quorum; otherwise it stays funded.
      RandomCircle removed = rc;
      removed.actions.erase(removed.actions.begin() + static_cast<long>(i));
      const auto removed_tally = Tally(Fold(Build(removed)), kAfter);
      const auto& without = Find(removed_tally, p);
      if (without.explanation.quorum_met) {
        EXPECT_EQ(without.status, Status::kFunded) << "seed " << seed << " action " << i;
      }
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace polder::decide

namespace polder::decide {
namespace {

// ---- Rounds, seals and finality ----------------------------------------------------------------

TEST(Finality, ClosedRoundIsProvisionalUntilAMajorityHasSealedIt) {
  Circle c;
  auto m = Members(c, 4);  // 5 members: 3 seals needed
  auto p = c.Propose(m[1], 100);
  for (int i = 0; i < 3; ++i) c.Vote(m[static_cast<std::size_t>(i)], p, v1::FOR);
  EXPECT_EQ(Find(c.Run(kDeadline), p).finality, Finality::kOpen);
  EXPECT_EQ(Find(c.Run(), p).finality, Finality::kProvisional);
  EXPECT_EQ(Find(c.Run(), p).status, Status::kFunded);
  c.Seal(m[0], kDeadline, kDeadline + 1);
  c.Seal(m[1], kDeadline, kDeadline + 1);
  EXPECT_EQ(Find(c.Run(), p).finality, Finality::kProvisional);
  c.Seal(m[2], kDeadline, kDeadline + 1);
  auto o = Find(c.Run(), p);
  EXPECT_EQ(o.finality, Finality::kFinal);
  EXPECT_EQ(o.status, Status::kFunded);
  EXPECT_EQ(o.explanation.seals.required, 3u);
  EXPECT_EQ(o.explanation.seals.counting.size(), 3u);
}

TEST(Finality, BackdatedVotePublishedAfterSealingChangesNothingAndRaisesAnAlert) {
  Circle c;
  auto m = Members(c, 4);
  auto p = c.Propose(m[1], 100);
  c.Vote(m[0], p, v1::FOR);
  c.Vote(m[1], p, v1::FOR);
  c.Vote(m[2], p, v1::FOR);
  c.Vote(m[3], p, v1::AGAINST);
  // m0, m1 and m3 seal (a member who sealed can no longer backdate: their clock moved on).
  for (int i : {0, 1, 3}) c.Seal(m[static_cast<std::size_t>(i)], kDeadline, kDeadline + 5);
  const auto before = Find(c.Run(), p);
  ASSERT_EQ(before.finality, Finality::kFinal);
  ASSERT_EQ(before.status, Status::kFunded);
  EXPECT_TRUE(c.Run().alerts.empty());

  // Two members now publish votes timestamped before the deadline: 3 for, 3 against would not
  // pass (strictly more than half is needed).
  auto v4 = c.Vote(m[4], p, v1::AGAINST, kDeadline - 1);
  auto v2 = c.Vote(m[2], p, v1::AGAINST, kDeadline - 1);  // m2 changes their mind, backdated
  // A member who had not sealed yet seals now, honestly, holding everything: the round was
  // sealed already (its seal covers three seals), so its seal does not count.
  c.Seal(m[4], kDeadline, kDeadline + 50);
  const auto r = c.Run();
  const auto after = Find(r, p);
  EXPECT_EQ(after.status, Status::kFunded);
  EXPECT_EQ(after.finality, Finality::kFinal);
  EXPECT_EQ(after.explanation.for_weight, before.explanation.for_weight);
  EXPECT_EQ(after.explanation.seals.late, std::vector<MemberKey>{m[4]});
  std::set<EventId> excluded;
  for (const auto& x : after.explanation.excluded) {
    EXPECT_EQ(x.reason, Exclusion::kNotSealed);
    excluded.insert(x.event);
  }
  EXPECT_EQ(excluded, (std::set<EventId>{v4, v2}));
  ASSERT_EQ(r.alerts.size(), 1u);
  EXPECT_EQ(r.alerts[0].proposals, std::vector<EventId>{p});
  EXPECT_TRUE(std::count(r.alerts[0].events.begin(), r.alerts[0].events.end(), v4));
  EXPECT_TRUE(std::count(r.alerts[0].events.begin(), r.alerts[0].events.end(), v2));
  EXPECT_NE(ExplainText(c.State(), r).find("INTEGRITY ALERT"), std::string::npos);

  // Any arrival order: the same result.
  std::mt19937 rng(7);
  for (int i = 0; i < 20; ++i) {
    auto evs = c.events;
    std::shuffle(evs.begin(), evs.end(), rng);
    EXPECT_EQ(Tally(Fold(evs), kAfter), r);
  }
}

TEST(Finality, LateVoteThatChangesNothingIsExcludedWithoutAlert) {
  Circle c;
  auto m = Members(c, 4);
  auto p = c.Propose(m[1], 100);
  for (int i = 0; i < 4; ++i) c.Vote(m[static_cast<std::size_t>(i)], p, v1::FOR);
  for (int i = 0; i < 3; ++i) c.Seal(m[static_cast<std::size_t>(i)], kDeadline, kDeadline + 5);
  auto v = c.Vote(m[4], p, v1::FOR, kDeadline - 1);
  const auto r = c.Run();
  EXPECT_TRUE(r.alerts.empty());
  const auto o = Find(r, p);
  ASSERT_EQ(o.explanation.excluded.size(), 1u);
  EXPECT_EQ(o.explanation.excluded[0].event, v);
  EXPECT_EQ(o.explanation.for_count, 4u);
}

TEST(Finality, AVoteCountsOnlyWhenEnoughSealsCoverIt) {
  Circle c;
  auto m = Members(c, 4);
  auto p = c.Propose(m[1], 100);
  c.Vote(m[1], p, v1::FOR);
  c.Seal(m[0], kDeadline, kDeadline + 1);  // saw m1's vote only
  auto v = c.Vote(m[2], p, v1::FOR, kDeadline);
  c.Seal(m[3], kDeadline, kDeadline + 2);  // both seen, but m0's seal is covered: m3 saw 1 seal
  c.Seal(m[4], kDeadline, kDeadline + 3);  // covers 2 seals: still counts (3 needed)
  const auto o = Find(c.Run(), p);
  EXPECT_EQ(o.finality, Finality::kFinal);
  EXPECT_EQ(o.explanation.seals.counting.size(), 3u);
  // m2's vote is covered by 2 of the 3 counting seals: not enough.
  ASSERT_EQ(o.explanation.excluded.size(), 1u);
  EXPECT_EQ(o.explanation.excluded[0].event, v);
  EXPECT_EQ(o.explanation.excluded[0].reason, Exclusion::kNotSealed);
}

TEST(Finality, ARoundIsFinalOnlyWhenEveryEarlierRoundIs) {
  Circle c;
  auto m = Members(c, 2);
  auto p1 = c.Propose(m[1], 100, kDeadline);
  auto p2 = c.Propose(m[2], 100, kDeadline + 1000);
  c.Vote(m[0], p1, v1::FOR);
  c.Vote(m[0], p2, v1::FOR);
  c.Seal(m[0], kDeadline + 1000, kDeadline + 2000);
  c.Seal(m[1], kDeadline + 1000, kDeadline + 2000);
  auto r = c.Run();
  EXPECT_EQ(Find(r, p1).finality, Finality::kProvisional);
  EXPECT_EQ(Find(r, p2).finality, Finality::kProvisional);
  EXPECT_TRUE(Find(r, p2).explanation.earlier_round_provisional);
  c.Seal(m[0], kDeadline, kDeadline + 3000);
  c.Seal(m[2], kDeadline, kDeadline + 3000);
  r = c.Run();
  EXPECT_EQ(Find(r, p1).finality, Finality::kFinal);
  EXPECT_EQ(Find(r, p2).finality, Finality::kFinal);
}

TEST(Rounds, ALaterRoundCannotUnfundAnEarlierOne) {
  Circle c(1000);
  auto m = Members(c, 4);
  auto early = c.Propose(m[1], 700, kDeadline);
  auto late = c.Propose(m[2], 700, kDeadline + 1000);
  c.Vote(m[0], early, v1::FOR);
  c.Vote(m[1], early, v1::FOR);
  c.Vote(m[2], early, v1::FOR);
  for (int i = 0; i < 5; ++i) c.Vote(m[static_cast<std::size_t>(i)], late, v1::FOR);
  auto r = c.Run();
  EXPECT_EQ(Find(r, early).status, Status::kFunded);
  EXPECT_EQ(Find(r, late).status, Status::kNotFunded);
  EXPECT_EQ(Find(r, late).reason, Reason::kBudgetExhausted);
  EXPECT_EQ(Find(r, late).explanation.allocation.pool_left_before, 300);
  ASSERT_EQ(r.rounds.size(), 2u);
  EXPECT_EQ(r.rounds[1].pool_left_before, 300);
}

// ---- Override votes --------------------------------------------------------------------------

TEST(RiskGate, FlagEndsWhenASupermajorityVotesToOverrideIt) {
  Circle c;
  auto m = Members(c, 5);  // 6 members: override needs 4 (≥ 66.66 %)
  auto p = c.Propose(m[1], 100);
  for (int i = 0; i < 6; ++i) c.Vote(m[static_cast<std::size_t>(i)], p, v1::FOR);
  auto f = c.Flag(m[5], p, v1::HIGH, kT0 + 11);
  c.Resolve(m[0], f, v1::FlagResolution::OVERRIDE, kT0 + 20);
  c.Resolve(m[1], f, v1::FlagResolution::OVERRIDE, kT0 + 20);
  c.Resolve(m[2], f, v1::FlagResolution::OVERRIDE, kT0 + 20);
  c.Resolve(m[2], f, v1::FlagResolution::OVERRIDE, kT0 + 21);  // twice counts once
  auto o = Find(c.Run(), p);
  EXPECT_EQ(o.reason, Reason::kBlockedByFlag);
  EXPECT_EQ(o.explanation.flags[0].overrides.size(), 3u);
  c.Resolve(m[3], f, v1::FlagResolution::OVERRIDE, kDeadline + 1);  // too late
  EXPECT_EQ(Find(c.Run(), p).reason, Reason::kBlockedByFlag);
  c.Resolve(m[4], f, v1::FlagResolution::OVERRIDE, kT0 + 30);
  o = Find(c.Run(), p);
  EXPECT_EQ(o.status, Status::kFunded);
  EXPECT_EQ(o.explanation.flags[0].state, FlagState::kOverridden);
  EXPECT_EQ(o.explanation.flags[0].override_weight, (Fraction{"4", "1"}));
  EXPECT_EQ(o.explanation.flags[0].total_weight, (Fraction{"6", "1"}));
}

// ---- Rule changes ----------------------------------------------------------------------------

TEST(RuleChange, AdoptedBySupermajorityAppliesToLaterRoundsOnly) {
  Circle c(1000);
  auto m = Members(c, 5);
  v1::DecisionRules strict;
  strict.set_quorum_bps(10000);  // everyone must vote
  auto rc = c.RuleChange(m[1], strict, kDeadline);
  auto same_round = c.Propose(m[2], 100, kDeadline);
  auto later = c.Propose(m[3], 100, kDeadline + 1000);
  for (int i = 0; i < 4; ++i) c.Vote(m[static_cast<std::size_t>(i)], rc, v1::FOR);
  c.Vote(m[4], rc, v1::AGAINST);  // 4 of 5 for: 80 % ≥ 66.66 %
  for (int i = 0; i < 4; ++i) {
    c.Vote(m[static_cast<std::size_t>(i)], same_round, v1::FOR);
    c.Vote(m[static_cast<std::size_t>(i)], later, v1::FOR);
  }
  auto r = c.Run();
  EXPECT_EQ(Find(r, rc).status, Status::kAdopted);
  EXPECT_TRUE(Find(r, rc).rule_change);
  EXPECT_EQ(Find(r, same_round).status, Status::kFunded);  // 4 of 6 voted: old quorum
  EXPECT_EQ(Find(r, later).status, Status::kNotFunded);
  EXPECT_EQ(Find(r, later).reason, Reason::kQuorumNotMet);
  EXPECT_EQ(r.rules_now.quorum_bps, 10000u);
  EXPECT_EQ(r.allocated_minor, 100);
}

TEST(RuleChange, SimpleMajorityIsNotEnough) {
  Circle c(1000);
  auto m = Members(c, 4);
  v1::DecisionRules r2;
  r2.set_quorum_bps(100);
  auto rc = c.RuleChange(m[1], r2, kDeadline);
  for (int i = 0; i < 3; ++i) c.Vote(m[static_cast<std::size_t>(i)], rc, v1::FOR);
  c.Vote(m[3], rc, v1::AGAINST);
  c.Vote(m[4], rc, v1::AGAINST);  // 60 %
  auto r = c.Run();
  EXPECT_EQ(Find(r, rc).status, Status::kNotAdopted);
  EXPECT_EQ(Find(r, rc).reason, Reason::kNotApproved);
  EXPECT_EQ(r.rules_now.quorum_bps, kDefaultQuorumBps);
}

// ---- Admission quorum ------------------------------------------------------------------------

TEST(Admission, ANewcomerCountsOnceEnoughMembersAdmittedThem) {
  v1::DecisionRules rules;
  rules.set_admission_quorum(2);
  Circle c(1000, rules);
  auto a = c.Admit("a", "Org1");  // the founder alone: fewer members than the quorum → counts
  auto n = c.Admit("n", "Org2", kT0 + 3);
  auto p = c.Propose(a, 100);
  c.Vote(n, p, v1::FOR, kT0 + 10);
  auto o = Find(c.Run(), p);
  EXPECT_EQ(o.explanation.eligible_members, 2u);
  ASSERT_EQ(o.explanation.excluded.size(), 1u);
  EXPECT_EQ(o.explanation.excluded[0].reason, Exclusion::kNotMember);
  c.AdmitBy(a, "n", "Org2", kT0 + 4);
  o = Find(c.Run(), p);
  EXPECT_EQ(o.explanation.eligible_members, 3u);
  EXPECT_TRUE(o.explanation.excluded.empty());
  EXPECT_EQ(o.explanation.for_count, 1u);
}

}  // namespace
}  // namespace polder::decide

namespace polder::decide {
namespace {

// ---- The engine: one vote at a time gives what a full tally gives
// --------------------------------

TEST(TallyEngine, EachAddedVoteGivesTheFullTallysResult) {
  for (auto allocation : {v1::DecisionRules::GREEDY_APPROVAL, v1::DecisionRules::EQUAL_SHARES}) {
    v1::DecisionRules rules;
    rules.set_allocation(allocation);
    rules.set_weighting(v1::DecisionRules::ORGANISATION_BALANCED);
    rules.set_max_share_per_org_bps(5000);
    Circle c(1000, rules);
    auto m = Members(c, 8, {"Org0", "Org1", "Org2"});
    std::mt19937 rng(static_cast<std::uint32_t>(allocation));
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    // Three rounds: two closed (the first sealed), one still open at the tally's time.
    const std::int64_t d1 = kDeadline, d2 = kDeadline + 1000, d3 = kAfter + 1000;
    std::vector<EventId> props;
    for (int i = 0; i < 9; ++i) {
      props.push_back(c.Propose(m[pick(m.size())], 100 + static_cast<Money>(pick(300)),
                                i < 3   ? d1
                                : i < 6 ? d2
                                        : d3));
    }
    c.Delegate(m[7], m[1]);
    c.Delegate(m[8], m[7]);
    std::int64_t ts = kT0 + 10;
    for (int i = 0; i < 20; ++i) {
      c.Vote(m[pick(m.size())], props[pick(props.size())], static_cast<v1::Choice>(1 + pick(3)),
             ts++);
    }
    for (int i = 0; i < 5; ++i) c.Seal(m[static_cast<std::size_t>(i)], d1, d1 + 1);
    TallyEngine engine(c.State(), kAfter);
    ASSERT_EQ(engine.Result(), Tally(c.State(), kAfter));
    int changed = 0;
    ts = d1 + 2;  // after the seals, so no member's clock goes back (a void vote never applies)
    for (int i = 0; i < 60; ++i) {
      // Votes on the two later rounds, within their deadlines (the sealed round recomputes).
      const auto& p = props[3 + pick(6)];
      const auto who = m[pick(m.size())];
      const auto before = engine.Result();
      const EventId id = c.Vote(who, p, static_cast<v1::Choice>(1 + pick(3)), ts++);
      const auto& b = c.events.back().body;
      ASSERT_TRUE(engine.AddVote(p, {who, b.seq(), b.timestamp_ms(), b.vote().choice(), id}));
      const auto st = c.State();
      ASSERT_EQ(engine.state(), st) << "vote " << i;
      const auto full = Tally(st, kAfter);
      ASSERT_EQ(engine.Result(), full) << "vote " << i;
      ASSERT_EQ(engine.allocated_minor(), full.allocated_minor);
      changed += before != full;
    }
    EXPECT_GT(changed, 30);
    // A vote on a proposal of the sealed round recomputes and still agrees.
    const EventId id = c.Vote(m[2], props[0], v1::AGAINST, ts++);
    const auto& b = c.events.back().body;
    ASSERT_TRUE(engine.AddVote(props[0], {m[2], b.seq(), b.timestamp_ms(), v1::AGAINST, id}));
    EXPECT_EQ(engine.Result(), Tally(c.State(), kAfter));
    EXPECT_FALSE(engine.AddVote(EventId{}, {}));
  }
}

}  // namespace
}  // namespace polder::decide

namespace polder::decide {
namespace {

// Organisation-balanced weights, quorum 50 %: 3 of 6 members vote (half the members), but they
// all come from the largest organisation, whose weight is 1 of 3.
TEST(Tally, QuorumCanCountWeightInsteadOfMembers) {
  for (bool by_weight : {false, true}) {
    v1::DecisionRules rules;
    rules.set_weighting(v1::DecisionRules::ORGANISATION_BALANCED);
    rules.set_quorum_by_weight(by_weight);
    Circle c(1000, rules);
    auto f = c.founder();  // Org0
    auto a = c.Admit("a", "Org0");
    auto b = c.Admit("b", "Org0");
    auto d = c.Admit("d", "Org0");
    c.Admit("x", "Org1");
    c.Admit("y", "Org2");
    auto p = c.Propose(a, 100);
    c.Vote(a, p, v1::FOR);
    c.Vote(b, p, v1::FOR);
    c.Vote(d, p, v1::FOR);
    (void)f;
    const auto o = Find(c.Run(), p);
    EXPECT_EQ(o.explanation.participants, 3u);
    EXPECT_EQ(o.explanation.quorum_by_weight, by_weight);
    EXPECT_EQ(o.explanation.participant_weight, (Fraction{"3", "4"}));
    EXPECT_EQ(o.explanation.eligible_weight, (Fraction{"3", "1"}));
    EXPECT_EQ(o.explanation.quorum_met, !by_weight) << by_weight;
    EXPECT_EQ(o.status, by_weight ? Status::kNotFunded : Status::kFunded);
  }
}

}  // namespace
}  // namespace polder::decide
