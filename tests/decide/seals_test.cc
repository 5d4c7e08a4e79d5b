// Seals and finality: a closed round is provisional until enough seals count, then decided on its
// sealed view; a backdated event published later changes nothing and raises an integrity alert.
#include <algorithm>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "tests/decide/tally_testutil.h"

namespace polder::decide {
namespace {

using testing::Circle;
using testing::Find;
using testing::kAfter;
using testing::kDeadline;
using testing::Members;

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

}  // namespace
}  // namespace polder::decide
