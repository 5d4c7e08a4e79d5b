// Delegation: chains followed to the member who voted, cycles and dead ends, topic delegations,
// direct votes overriding, and revocations.
#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "tests/decide/tally_testutil.h"

namespace polder::decide {
namespace {

using testing::Circle;
using testing::Find;
using testing::kDeadline;
using testing::kT0;
using testing::Members;

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

TEST(Delegation, ToAKeyThatIsNotAMemberGivesNoVote) {
  // A delegation takes effect whoever its delegate is (docs/protocol.md §4); one to a key that
  // is not an eligible member ends there.
  Circle c;
  auto m = Members(c, 2);
  const auto p = c.Propose(m[0], 100);
  c.Delegate(m[1], Circle::Key("never admitted"));
  c.Vote(m[0], p, v1::FOR);
  const auto o = Find(c.Run(), p);
  EXPECT_EQ(o.explanation.participants, 1u);
  ASSERT_EQ(o.explanation.delegations.size(), 1u);
  EXPECT_EQ(o.explanation.delegations[0].end, DelegationEnd::kEndsAtNonVoter);
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

}  // namespace
}  // namespace polder::decide
