// The tally of one proposal, one scenario per rule: quorum (in members or in weight), approval,
// organisation-balanced weights, the cut-off, withdrawals, forked voters, rule changes and the
// admission quorum.
#include <gtest/gtest.h>

#include "tests/decide/tally_testutil.h"

namespace polder::decide {
namespace {

using testing::Circle;
using testing::Find;
using testing::kAfter;
using testing::kDeadline;
using testing::kT0;
using testing::Members;

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
  EXPECT_EQ(r.allocated_minor, Money(0));
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

// ---- Rule changes ----------------------------------------------------------------------------

TEST(RuleChange, AdoptedBySupermajorityAppliesToLaterRoundsOnly) {
  Circle c(1000);
  auto m = Members(c, 5);
  v1::DecisionRules strict;
  strict.set_quorum_bps(10000);           // everyone must vote
  strict.set_admission_organisations(1);  // as admitted (a rule change replaces every rule)
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
  EXPECT_EQ(r.allocated_minor, Money(100));
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
