// Allocation within a round and across rounds: greedy approval, the per-proposal and
// per-organisation caps, the Method of Equal Shares, and what earlier rounds leave.
#include <gtest/gtest.h>

#include "tests/decide/tally_testutil.h"

namespace polder::decide {
namespace {

using testing::Circle;
using testing::Find;
using testing::kDeadline;
using testing::Members;

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
  EXPECT_EQ(Find(r, mid).explanation.allocation.pool_left_before, Money(300));
  EXPECT_EQ(Find(r, small).status, Status::kFunded);
  EXPECT_EQ(r.allocated_minor, Money(1000));
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
  EXPECT_EQ(Find(r, a2).explanation.allocation.org_spent_before, Money(300));
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
  EXPECT_EQ(r.allocated_minor, Money(300));  // both fit the pool, but B may take at most 500
  EXPECT_NE(o1.status, o2.status);
  EXPECT_TRUE(o1.reason == Reason::kOrgCapReached || o2.reason == Reason::kOrgCapReached);
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
  EXPECT_EQ(Find(r, late).explanation.allocation.pool_left_before, Money(300));
  ASSERT_EQ(r.rounds.size(), 2u);
  EXPECT_EQ(r.rounds[1].pool_left_before, Money(300));
}

}  // namespace
}  // namespace polder::decide
