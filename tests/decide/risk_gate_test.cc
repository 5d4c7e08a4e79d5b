// The risk gate: an open flag of blocking severity blocks funding; a flag ends when its flagger
// withdraws it, when enough members override it, or when the proposer's answer is accepted.
#include <algorithm>

#include <gtest/gtest.h>

#include "node/decide/audit.h"
#include "tests/decide/tally_testutil.h"

namespace polder::decide {
namespace {

using testing::Circle;
using testing::Find;
using testing::Flagged;
using testing::kDeadline;
using testing::kT0;
using testing::Members;

TEST(RiskGate, OpenBlockingFlagBlocks) {
  Flagged f;
  const auto o = f.Outcome();
  EXPECT_EQ(o.reason, Reason::kBlockedByFlag);
  ASSERT_EQ(o.explanation.flags.size(), 1u);
  EXPECT_EQ(o.explanation.flags[0].state, FlagState::kOpen);
}

// Issue 14: "Flags from members who are not eligible (or forked) still block funding". A key
// admitted once, short of the admission quorum, and a member who forked (after flagging) raise
// flags that block nothing; the explanation says why.
TEST(RiskGate, AFlagFromANonEligibleOrForkedMemberDoesNotBlock) {
  v1::DecisionRules rules;
  rules.set_admission_quorum(2);
  Circle c(1000, rules);
  const MemberKey a = c.founder();
  const MemberKey b = c.Admit("b", "Org1");           // eligible: the founder was the only member
  const MemberKey x = c.Admit("x", "Org2", kT0 + 1);  // one admitter of two needed: not eligible
  auto p = c.Propose(b, 100);
  c.Vote(a, p, v1::FOR);
  c.Vote(b, p, v1::FOR);
  c.Flag(x, p, v1::CRITICAL);
  auto o = Find(c.Run(), p);
  EXPECT_EQ(o.status, Status::kFunded);
  ASSERT_EQ(o.explanation.flags.size(), 1u);
  EXPECT_EQ(o.explanation.flags[0].state, FlagState::kFlaggerNotEligible);
  EXPECT_FALSE(o.explanation.blocked);
  EXPECT_STREQ(FlagStateWord(FlagState::kFlaggerNotEligible), "flagger_not_eligible");

  Flagged f;  // m3's flag blocks ...
  ASSERT_EQ(f.Outcome().reason, Reason::kBlockedByFlag);
  f.c.Endorse(f.m[3], f.p, kT0 + 30);
  f.c.Fork(f.m[3]);  // ... until m3 forks (above the flag)
  o = f.Outcome();
  EXPECT_EQ(o.status, Status::kFunded);
  ASSERT_EQ(o.explanation.flags.size(), 1u);
  EXPECT_EQ(o.explanation.flags[0].state, FlagState::kFlaggerForked);
  EXPECT_NE(ExplainText(f.c.State(), f.c.Run()).find("does not count (its flagger forked)"),
            std::string::npos);
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

}  // namespace
}  // namespace polder::decide
