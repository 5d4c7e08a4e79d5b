// Issue 14: "a flag raised in the last second before a deadline cannot be answered in time". A
// flag that blocks a proposal at its deadline D, raised less than the charter's late-flag window W
// before D, moves the proposal's decision once to D + W (tally.h "Risk gating"): the proposer can
// answer, members can accept, override or vote until then; flags raised after D do not count.
#include <random>

#include <gtest/gtest.h>

#include "tests/decide/tally_testutil.h"

namespace polder::decide {
namespace {

using testing::Circle;
using testing::Find;
using testing::kDeadline;
using testing::kT0;
using testing::Members;

constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kMoved = kDeadline + kDay;  // D + W with the default window

// Five members for a proposal of m1's; m3 will flag it.
struct Late {
  Circle c;
  std::vector<MemberKey> m;
  EventId p;
  explicit Late(std::int64_t window = kDay, std::int64_t pool = 1000) : c(pool, Rules(window)) {
    m = Members(c, 5);
    p = c.Propose(m[1], 600);
    for (int i : {0, 1, 2, 4, 5}) c.Vote(m[static_cast<std::size_t>(i)], p, v1::FOR);
  }
  static v1::DecisionRules Rules(std::int64_t window) {
    v1::DecisionRules r;
    r.set_late_flag_window_ms(window);
    return r;
  }
};

// The same tally, whatever order the events arrive in.
void ExpectSameInAnyOrder(const Circle& c, std::int64_t as_of, std::uint32_t seed) {
  const TallyResult want = c.Run(as_of);
  std::mt19937 rng(seed);
  for (int i = 0; i < 40; ++i) {
    auto evs = c.events;
    std::shuffle(evs.begin(), evs.end(), rng);
    ASSERT_EQ(Tally(Fold(evs), as_of), want) << "order " << i;
  }
}

TEST(LateFlag, ABlockingFlagInTheLastDayMovesTheDecisionOnceAndItCanBeAnswered) {
  Late l;
  const EventId flag = l.c.Flag(l.m[3], l.p, v1::HIGH, kDeadline - kHour);

  // Just after the deadline the proposal is open again, due a day later.
  auto o = Find(l.c.Run(kDeadline + 1), l.p);
  EXPECT_EQ(o.status, Status::kOpen);
  EXPECT_EQ(o.explanation.deadline_ms, kMoved);
  EXPECT_EQ(o.explanation.moved_from_ms, kDeadline);
  EXPECT_EQ(o.explanation.late_flag, flag);
  const auto r = l.c.Run(kDeadline + 1);
  ASSERT_EQ(r.rounds.size(), 2u);
  EXPECT_TRUE(r.rounds[0].proposals.empty());
  EXPECT_EQ(r.rounds[1].deadline_ms, kMoved);
  EXPECT_EQ(r.rounds[1].proposals, std::vector<EventId>{l.p});
  EXPECT_NE(ExplainText(l.c.State(), Find(r, l.p)).find("Moved from its deadline"),
            std::string::npos);

  // Unanswered, it is blocked at the new deadline.
  o = Find(l.c.Run(kMoved + 1), l.p);
  EXPECT_EQ(o.status, Status::kNotFunded);
  EXPECT_EQ(o.reason, Reason::kBlockedByFlag);
  ExpectSameInAnyOrder(l.c, kMoved + 1, 1);

  // The proposer answers after the first deadline and two members accept: funded.
  l.c.Resolve(l.m[1], flag, v1::FlagResolution::ANSWER, kDeadline + kHour);
  l.c.Endorse(l.m[2], l.p, kDeadline + 2 * kHour);
  l.c.Endorse(l.m[4], l.p, kDeadline + 3 * kHour);
  o = Find(l.c.Run(kMoved + 1), l.p);
  EXPECT_EQ(o.status, Status::kFunded);
  ASSERT_EQ(o.explanation.flags.size(), 1u);
  EXPECT_EQ(o.explanation.flags[0].state, FlagState::kMitigated);

  // A second flag, raised after the first deadline, counts for nothing: it neither blocks nor
  // moves the decision again.
  l.c.Flag(l.m[5], l.p, v1::CRITICAL, kMoved - kHour);
  o = Find(l.c.Run(kMoved + 1), l.p);
  EXPECT_EQ(o.status, Status::kFunded);
  EXPECT_EQ(o.explanation.deadline_ms, kMoved);
  EXPECT_EQ(o.explanation.flags.size(), 1u);
  ExpectSameInAnyOrder(l.c, kMoved + 1, 2);
}

TEST(LateFlag, VotesCountUntilTheNewDeadline) {
  Late l;
  l.c.Flag(l.m[3], l.p, v1::HIGH, kDeadline - 1);
  // After the first deadline, three members change their minds.
  for (int i : {0, 2, 4}) {
    l.c.Vote(l.m[static_cast<std::size_t>(i)], l.p, v1::AGAINST, kDeadline + kHour);
  }
  const auto o = Find(l.c.Run(kMoved + 1), l.p);
  EXPECT_EQ(o.explanation.against_count, 3u);
  EXPECT_EQ(o.explanation.for_count, 2u);
  EXPECT_EQ(o.explanation.cutoff_ms, kMoved);
  ExpectSameInAnyOrder(l.c, kMoved + 1, 3);
}

TEST(LateFlag, OnlyAFlagThatStillBlocksAtTheDeadlineMovesIt) {
  {  // Raised before the window: blocks, no move.
    Late l;
    l.c.Flag(l.m[3], l.p, v1::HIGH, kDeadline - kDay - 1);
    const auto o = Find(l.c.Run(kDeadline + 1), l.p);
    EXPECT_EQ(o.reason, Reason::kBlockedByFlag);
    EXPECT_EQ(o.explanation.moved_from_ms, 0);
  }
  {  // In the window but below the blocking severity: funded at the deadline.
    Late l;
    l.c.Flag(l.m[3], l.p, v1::MEDIUM, kDeadline - 1);
    const auto o = Find(l.c.Run(kDeadline + 1), l.p);
    EXPECT_EQ(o.status, Status::kFunded);
    EXPECT_EQ(o.explanation.moved_from_ms, 0);
  }
  {  // In the window, withdrawn by its flagger before the deadline.
    Late l;
    const EventId f = l.c.Flag(l.m[3], l.p, v1::HIGH, kDeadline - 10);
    l.c.Resolve(l.m[3], f, v1::FlagResolution::WITHDRAW, kDeadline - 5);
    const auto o = Find(l.c.Run(kDeadline + 1), l.p);
    EXPECT_EQ(o.status, Status::kFunded);
    EXPECT_EQ(o.explanation.moved_from_ms, 0);
  }
  {  // In the window, by a key that is not an eligible member: it blocks nothing, moves nothing.
    v1::DecisionRules rules = Late::Rules(kDay);
    rules.set_admission_quorum(2);
    Circle c(1000, rules);
    const MemberKey a = c.founder();
    const MemberKey b = c.Admit("b", "Org1");
    const MemberKey x = c.Admit("x", "Org2", kT0 + 1);  // one admitter of two: not eligible
    const EventId p = c.Propose(b, 100);
    c.Vote(a, p, v1::FOR);
    c.Vote(b, p, v1::FOR);
    c.Flag(x, p, v1::CRITICAL, kDeadline - 1);
    const auto o = Find(c.Run(kDeadline + 1), p);
    EXPECT_EQ(o.status, Status::kFunded);
    EXPECT_EQ(o.explanation.moved_from_ms, 0);
  }
  {  // A withdrawn proposal is not moved.
    Late l;
    l.c.Flag(l.m[3], l.p, v1::HIGH, kDeadline - 10);
    l.c.Withdraw(l.m[1], l.p, kDeadline - 5);
    const auto o = Find(l.c.Run(kDeadline + 1), l.p);
    EXPECT_EQ(o.status, Status::kWithdrawn);
    EXPECT_EQ(o.explanation.moved_from_ms, 0);
  }
  {  // The charter's window: 1 hour.
    Late l(kHour);
    l.c.Flag(l.m[3], l.p, v1::HIGH, kDeadline - kHour - 1);
    EXPECT_EQ(Find(l.c.Run(kDeadline + 1), l.p).explanation.moved_from_ms, 0);
    Late k(kHour);
    k.c.Flag(k.m[3], k.p, v1::HIGH, kDeadline - kHour + 1);
    const auto o = Find(k.c.Run(kDeadline + 1), k.p);
    EXPECT_EQ(o.explanation.moved_from_ms, kDeadline);
    EXPECT_EQ(o.explanation.deadline_ms, kDeadline + kHour);
  }
}

// The moved proposal is decided in the round of its new deadline, after the rounds before it:
// here a round between the two deadlines spends the pool first.
TEST(LateFlag, AMovedProposalIsDecidedAfterTheRoundsBeforeItsNewDeadline) {
  Late l(kDay, 1000);  // "p" asks for 600
  const EventId q = l.c.Propose(l.m[2], 600, kDeadline + kHour, "", kT0 + 20);
  for (int i : {0, 1, 2, 3, 4}) l.c.Vote(l.m[static_cast<std::size_t>(i)], q, v1::FOR, kT0 + 30);
  const EventId flag = l.c.Flag(l.m[3], l.p, v1::HIGH, kDeadline - 1);
  l.c.Resolve(l.m[3], flag, v1::FlagResolution::WITHDRAW, kDeadline + 10);
  const auto r = l.c.Run(kMoved + 1);
  EXPECT_EQ(Find(r, q).status, Status::kFunded);
  const auto o = Find(r, l.p);
  EXPECT_EQ(o.status, Status::kNotFunded);
  EXPECT_EQ(o.reason, Reason::kBudgetExhausted);
  ASSERT_EQ(r.rounds.size(), 3u);
  EXPECT_EQ(r.rounds[2].pool_left_before, Money(400));
  ExpectSameInAnyOrder(l.c, kMoved + 1, 4);
}

// Finality: the move is decided on the sealed view of the first round, and the moved proposal's
// round is final once sealed for its own deadline. A flag backdated into the window and published
// after the first round was sealed moves nothing.
TEST(LateFlag, TheMoveIsFixedOnceTheRoundIsSealedAndTheNewRoundNeedsItsOwnSeals) {
  Late l;
  const EventId flag = l.c.Flag(l.m[3], l.p, v1::HIGH, kDeadline - 1);
  for (int i : {0, 1, 2, 3}) l.c.Seal(l.m[static_cast<std::size_t>(i)], kDeadline, kDeadline + 5);
  auto r = l.c.Run(kMoved + 1);
  ASSERT_EQ(r.rounds.size(), 2u);
  EXPECT_EQ(r.rounds[0].finality, Finality::kFinal);
  EXPECT_EQ(r.rounds[1].finality, Finality::kProvisional);
  EXPECT_EQ(Find(r, l.p).finality, Finality::kProvisional);
  l.c.Resolve(l.m[3], flag, v1::FlagResolution::WITHDRAW, kDeadline + 10);
  for (int i : {0, 1, 2, 3}) l.c.Seal(l.m[static_cast<std::size_t>(i)], kMoved, kMoved + 5);
  r = l.c.Run(kMoved + 10);
  EXPECT_EQ(r.rounds[1].finality, Finality::kFinal);
  auto o = Find(r, l.p);
  EXPECT_EQ(o.status, Status::kFunded);
  EXPECT_EQ(o.finality, Finality::kFinal);
  ExpectSameInAnyOrder(l.c, kMoved + 10, 5);

  // A second proposal, decided at the first deadline, final: m5 (who had not sealed) now
  // publishes a flag backdated into its window. It is not in the sealed view: nothing moves.
  Late k;
  for (int i : {0, 1, 2, 3}) k.c.Seal(k.m[static_cast<std::size_t>(i)], kDeadline, kDeadline + 5);
  ASSERT_EQ(Find(k.c.Run(kDeadline + 10), k.p).status, Status::kFunded);
  k.c.Flag(k.m[5], k.p, v1::CRITICAL, kDeadline - 1);
  o = Find(k.c.Run(kDeadline + 10), k.p);
  EXPECT_EQ(o.status, Status::kFunded);
  EXPECT_EQ(o.finality, Finality::kFinal);
  EXPECT_EQ(o.explanation.moved_from_ms, 0);
  ExpectSameInAnyOrder(k.c, kDeadline + 10, 6);
}

TEST(LateFlag, TheEngineAddsVotesToAMovedProposalAsAFullTallyWould) {
  Late l;
  l.c.Flag(l.m[3], l.p, v1::HIGH, kDeadline - 1);
  TallyEngine engine(l.c.State(), kDeadline + kHour);
  std::int64_t ts = kDeadline + 10;
  for (int i : {0, 2, 4, 5}) {
    const auto who = l.m[static_cast<std::size_t>(i)];
    const EventId id = l.c.Vote(who, l.p, v1::AGAINST, ts++);
    const auto& b = l.c.events.back().body;
    ASSERT_TRUE(
        engine.AddVote(l.p, {who, b.seq(), b.timestamp_ms(), b.vote().choice(), id, std::nullopt}));
    ASSERT_EQ(engine.Result(), Tally(l.c.State(), kDeadline + kHour)) << "vote " << i;
  }
  EXPECT_EQ(engine.Find(l.p)->explanation.against_count, 4u);
}

}  // namespace
}  // namespace polder::decide
