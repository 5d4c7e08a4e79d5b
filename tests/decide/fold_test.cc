// Fold's validity rules on circles built event by event: defaults, gaps, strangers, events
// waiting for what is not held, void events, and the same state for every arrival order.
#include <algorithm>
#include <random>

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

TEST(Fold, VoteOnAProposalNotHeldCountsForNothingAndHoldsUpNothing) {
  Circle c;
  auto m = Members(c, 2);
  const auto p = c.Propose(m[1], 100);
  EventId missing{};
  missing.bytes[0] = 7;
  const auto lost = c.Vote(m[2], missing, v1::FOR);
  c.Vote(m[2], p, v1::FOR);  // after it in the same log: counts
  const auto st = c.State();
  ASSERT_EQ(st.proposals[0].votes.size(), 1u);
  EXPECT_EQ(st.proposals[0].votes[0].voter, m[2]);
  ASSERT_EQ(st.ignored.size(), 1u);
  EXPECT_EQ(st.ignored[0].event, lost);
  EXPECT_EQ(st.ignored[0].reason, Ignored::kAwaiting);
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

}  // namespace
}  // namespace polder::decide
