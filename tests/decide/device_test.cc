// Several devices, one member (docs/protocol.md §5a): a device's log takes its place once the
// member its claim names has linked it; its events act for that member; the member's latest vote
// across devices counts, once; a revocation freezes the device's log after the last seq it names;
// nothing of it depends on arrival order.
#include <algorithm>
#include <optional>
#include <random>

#include <gtest/gtest.h>

#include "tests/decide/tally_testutil.h"

namespace polder::decide::testing {
namespace {

// Why `event` counts for nothing in `st` (nullopt: it is not ignored).
std::optional<Ignored> IgnoredAs(const CircleState& st, const EventId& event) {
  for (const auto& ig : st.ignored) {
    if (ig.event == event) return ig.reason;
  }
  return std::nullopt;
}

// Ana (founder), Ben and Cy, each in an organisation of their own; a proposal by Cy.
struct Three {
  Circle c;
  MemberKey ana = c.founder(), ben, cy;
  EventId p;
  Three() {
    ben = c.Admit("ben", "Org1");
    cy = c.Admit("cy", "Org2");
    p = c.Propose(cy, 100);
  }
};

TEST(Devices, ALinkedDevicesEventsActForItsMember) {
  Three t;
  const MemberKey laptop = t.c.LinkDevice(t.ben, "ben's laptop", kT0 + 3);
  t.c.ClaimDevice(laptop, t.ben, kT0 + 4);
  const EventId v = t.c.Vote(laptop, t.p, v1::FOR, kT0 + 5);
  const auto st = t.c.State();
  ASSERT_EQ(st.devices.size(), 1u);
  EXPECT_EQ(st.devices[0].key, laptop);
  EXPECT_EQ(st.devices[0].member, t.ben);
  EXPECT_FALSE(st.devices[0].frozen_from);
  EXPECT_EQ(st.FindMember(laptop), nullptr);  // a device is not a member
  const auto& votes = st.FindProposal(t.p)->votes;
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].voter, t.ben);
  EXPECT_EQ(votes[0].device, laptop);
  EXPECT_EQ(votes[0].event, v);
  const auto o = Find(t.c.Run(), t.p);
  EXPECT_EQ(o.explanation.for_count, 1u);
  ASSERT_EQ(o.explanation.votes.size(), 1u);
  EXPECT_EQ(o.explanation.votes[0].member, t.ben);
}

TEST(Devices, AClaimWithoutItsMembersLinkActsForNobody) {
  Three t;
  // Cy links the key, but the device claims Ben, who never linked it: nothing of it takes its
  // place. (Nor can a member make someone else's device theirs: its claim names its member.)
  const MemberKey laptop = t.c.LinkDevice(t.cy, "ben's laptop", kT0 + 3);
  t.c.ClaimDevice(laptop, t.ben, kT0 + 4);
  const EventId v = t.c.Vote(laptop, t.p, v1::FOR, kT0 + 5);
  const auto st = t.c.State();
  EXPECT_TRUE(st.devices.empty());
  EXPECT_TRUE(st.FindProposal(t.p)->votes.empty());
  EXPECT_EQ(IgnoredAs(st, v), Ignored::kNotMember);
}

TEST(Devices, AMembersVoteCountsOnceTheLatestAcrossDevices) {
  Three t;
  const MemberKey laptop = t.c.LinkDevice(t.ben, "laptop", kT0 + 3);
  const MemberKey phone = t.c.LinkDevice(t.ben, "phone", kT0 + 3);
  t.c.ClaimDevice(laptop, t.ben, kT0 + 4);
  t.c.ClaimDevice(phone, t.ben, kT0 + 4);
  t.c.Vote(t.ben, t.p, v1::AGAINST, kT0 + 5);
  t.c.Vote(phone, t.p, v1::AGAINST, kT0 + 6);
  t.c.Vote(laptop, t.p, v1::FOR, kT0 + 7);
  auto o = Find(t.c.Run(), t.p);
  EXPECT_EQ(o.explanation.for_count, 1u);
  EXPECT_EQ(o.explanation.against_count, 0u);
  EXPECT_EQ(o.explanation.participants, 1u);
  ASSERT_EQ(o.explanation.votes.size(), 1u);
  EXPECT_EQ(o.explanation.votes[0].member, t.ben);
  // Ben changes his mind on the phone later: that vote stands.
  t.c.Vote(phone, t.p, v1::AGAINST, kT0 + 8);
  o = Find(t.c.Run(), t.p);
  EXPECT_EQ(o.explanation.for_count, 0u);
  EXPECT_EQ(o.explanation.against_count, 1u);
}

TEST(Devices, ARevokedDevicesLaterEventsDoNotCount) {
  Three t;
  const MemberKey laptop = t.c.LinkDevice(t.ben, "laptop", kT0 + 3);
  t.c.ClaimDevice(laptop, t.ben, kT0 + 4);                             // laptop seq 1
  const EventId p2 = t.c.Propose(laptop, 50, kDeadline, "", kT0 + 5);  // seq 2: counts
  t.c.RevokeDevice(t.ben, laptop, 2, kT0 + 6);  // the laptop is lost after seq 2
  // The thief votes, backdated: seq 3 is past the revocation whatever its timestamp.
  const EventId stolen = t.c.Vote(laptop, t.p, v1::FOR, kT0 + 4);
  const auto st = t.c.State();
  ASSERT_EQ(st.devices.size(), 1u);
  EXPECT_EQ(st.devices[0].frozen_from, 3u);
  EXPECT_NE(st.FindProposal(p2), nullptr);
  EXPECT_EQ(st.FindProposal(p2)->author, t.ben);
  EXPECT_TRUE(st.FindProposal(t.p)->votes.empty());
  EXPECT_EQ(IgnoredAs(st, stolen), Ignored::kRevoked);
  EXPECT_EQ(Find(t.c.Run(), t.p).explanation.for_count, 0u);
}

TEST(Devices, OnlyTheMembersOwnKeyRevokesOrLinks) {
  Three t;
  const MemberKey laptop = t.c.LinkDevice(t.ben, "laptop", kT0 + 3);
  t.c.ClaimDevice(laptop, t.ben, kT0 + 4);
  // Cy's revocation of Ben's device counts for nothing; so does a link signed by the device.
  t.c.RevokeDevice(t.cy, laptop, 0, kT0 + 5);
  t.c.LinkDevice(laptop, "another", kT0 + 6);
  const EventId link = t.c.events.back().id;
  t.c.Vote(laptop, t.p, v1::FOR, kT0 + 7);
  const auto st = t.c.State();
  ASSERT_EQ(st.devices.size(), 1u);
  EXPECT_FALSE(st.devices[0].frozen_from);
  EXPECT_EQ(st.FindProposal(t.p)->votes.size(), 1u);
  EXPECT_EQ(IgnoredAs(st, link), Ignored::kVoid);
}

TEST(Devices, ADeviceCanWithdrawItsMembersProposalAndResolveTheirFlag) {
  Three t;
  const MemberKey phone = t.c.LinkDevice(t.cy, "cy's phone", kT0 + 3);
  t.c.ClaimDevice(phone, t.cy, kT0 + 4);
  const EventId flag = t.c.Flag(t.ana, t.p, v1::HIGH, kT0 + 5);
  const EventId answer = t.c.Resolve(phone, flag, v1::FlagResolution::ANSWER, kT0 + 6);
  t.c.Withdraw(phone, t.p, kT0 + 7);
  const auto st = t.c.State();
  EXPECT_EQ(IgnoredAs(st, answer), std::nullopt);
  ASSERT_EQ(st.FindProposal(t.p)->flags.size(), 1u);
  ASSERT_EQ(st.FindProposal(t.p)->flags[0].resolutions.size(), 1u);
  EXPECT_EQ(st.FindProposal(t.p)->flags[0].resolutions[0].author, t.cy);
  EXPECT_EQ(Find(t.c.Run(), t.p).status, Status::kWithdrawn);
}

TEST(Devices, ASealedRoundCountsADevicesVoteItsSealsCover) {
  Three t;
  const MemberKey laptop = t.c.LinkDevice(t.ben, "laptop", kT0 + 3);
  t.c.ClaimDevice(laptop, t.ben, kT0 + 4);
  t.c.Vote(laptop, t.p, v1::FOR, kT0 + 5);
  t.c.Vote(t.ana, t.p, v1::FOR, kT0 + 5);
  t.c.Seal(t.ana, kDeadline, kDeadline + 10);
  t.c.Seal(t.cy, kDeadline, kDeadline + 10);
  const auto o = Find(t.c.Run(), t.p);
  EXPECT_EQ(o.finality, Finality::kFinal);
  EXPECT_EQ(o.explanation.for_count, 2u);
  EXPECT_TRUE(o.explanation.excluded.empty());
}

TEST(Devices, TheStateDoesNotDependOnArrivalOrder) {
  Three t;
  const MemberKey laptop = t.c.LinkDevice(t.ben, "laptop", kT0 + 3);
  const MemberKey phone = t.c.LinkDevice(t.ben, "phone", kT0 + 3);
  t.c.ClaimDevice(laptop, t.ben, kT0 + 4);
  t.c.ClaimDevice(phone, t.ben, kT0 + 4);
  t.c.Vote(laptop, t.p, v1::FOR, kT0 + 5);
  t.c.Vote(phone, t.p, v1::AGAINST, kT0 + 5);  // same time: the larger device key's stands
  t.c.Delegate(phone, t.cy, "", kT0 + 6);
  t.c.Endorse(laptop, t.p, kT0 + 7);
  t.c.RevokeDevice(t.ben, phone, 2, kT0 + 8);
  t.c.Vote(phone, t.p, v1::FOR, kT0 + 9);  // past the revocation
  const CircleState want = t.c.State();
  std::mt19937 rng(5);
  for (int i = 0; i < 100; ++i) {
    auto events = t.c.events;
    std::shuffle(events.begin(), events.end(), rng);
    ASSERT_EQ(Fold(events), want) << "order " << i;
  }
  const auto& votes = want.FindProposal(t.p)->votes;
  ASSERT_EQ(votes.size(), 2u);
  const MemberKey later = std::max(laptop, phone);
  const auto o = Find(Tally(want, kAfter), t.p);
  EXPECT_EQ(o.explanation.participants, 1u);
  EXPECT_EQ(later == phone ? o.explanation.against_count : o.explanation.for_count, 1u);
}

}  // namespace
}  // namespace polder::decide::testing
