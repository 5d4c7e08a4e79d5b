// TallyEngine: each added vote gives exactly what a full tally of the same state gives.
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
      props.push_back(c.Propose(m[pick(m.size())], 100 + static_cast<std::int64_t>(pick(300)),
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
      ASSERT_TRUE(
          engine.AddVote(p, {who, b.seq(), b.timestamp_ms(), b.vote().choice(), id, std::nullopt}));
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
    ASSERT_TRUE(
        engine.AddVote(props[0], {m[2], b.seq(), b.timestamp_ms(), v1::AGAINST, id, std::nullopt}));
    EXPECT_EQ(engine.Result(), Tally(c.State(), kAfter));
    EXPECT_FALSE(engine.AddVote(EventId{}, {}));
  }
}

// Votes that reach the engine after the seals: one the seals named (the round becomes final),
// one backdated into a closed, unsealed round (its seals have one more log to decide).
TEST(TallyEngine, AVoteArrivingAfterTheSealsDecidesAsTheFullTallyDoes) {
  Circle c;
  auto m = Members(c, 4);
  auto p = c.Propose(m[1], 100);
  c.Propose(m[1], 100, kAfter + 1000);  // the open round
  const EventId v = c.Vote(m[2], p, v1::FOR, kDeadline - 5);
  const VoteRecord record{m[2],        c.events.back().body.seq(), kDeadline - 5, v1::FOR, v,
                          std::nullopt};
  for (int i : {0, 1, 3}) c.Seal(m[static_cast<std::size_t>(i)], kDeadline, kDeadline + 1);
  auto without = c.events;
  std::erase_if(without, [&](const FoldEvent& e) { return e.id == v; });
  TallyEngine engine(Fold(without), kAfter);
  ASSERT_EQ(Find(engine.Result(), p).finality, Finality::kProvisional);
  ASSERT_TRUE(engine.AddVote(p, record));
  EXPECT_EQ(engine.state(), c.State());
  EXPECT_EQ(engine.Result(), c.Run());
  EXPECT_EQ(Find(engine.Result(), p).finality, Finality::kFinal);

  // Another circle: its round is not sealed (two of five seals); a vote on the open round,
  // timestamped before the closed round's deadline, is one more event those seals must decide.
  Circle d;
  auto n = Members(d, 4);
  d.Propose(n[1], 100);
  auto open = d.Propose(n[1], 100, kAfter + 1000);
  d.Seal(n[0], kDeadline, kDeadline + 1);
  d.Seal(n[1], kDeadline, kDeadline + 1);
  TallyEngine e2(d.State(), kAfter);
  const EventId w = d.Vote(n[4], open, v1::FOR, kDeadline - 1);
  ASSERT_TRUE(e2.AddVote(open, {n[4], 1, kDeadline - 1, v1::FOR, w, std::nullopt}));
  EXPECT_EQ(e2.state(), d.State());
  EXPECT_EQ(e2.Result(), d.Run());
}

// A closed round's seals leave m4 undecided twice over: its log (seals name an event of it not held
// here) and its fork (one seal reports one; the two missing members could make it three). m4's
// first event arrives, after the deadline: the log is decided, the fork is not, and the engine
// keeps m4 listed, as the full tally does.
TEST(TallyEngine, AMemberUndecidedForAForkStaysListedWhenTheirLogIsDecided) {
  Circle c;
  auto m = Members(c, 4);
  c.Propose(m[1], 100);
  auto open = c.Propose(m[1], 100, kAfter + 1000);
  auto heads = c.Snapshot();
  for (int i : {3, 4}) {
    auto& h = heads[m[static_cast<std::size_t>(i)]];
    h.seq = 2;
    h.prev = std::string(32, static_cast<char>('a' + i));  // events nobody here holds
  }
  c.SealNaming(m[1], kDeadline, kDeadline + 1, heads);
  c.SealNaming(m[2], kDeadline, kDeadline + 1, heads);
  heads[m[4]].forked = true;
  c.SealNaming(m[0], kDeadline, kDeadline + 1, heads);
  TallyEngine engine(c.State(), kAfter);
  ASSERT_EQ(engine.Result().rounds[0].seals.undecided.size(), 2u);
  const EventId v = c.Vote(m[4], open, v1::FOR, kDeadline + 10);
  ASSERT_TRUE(engine.AddVote(open, {m[4], 1, kDeadline + 10, v1::FOR, v, std::nullopt}));
  EXPECT_EQ(engine.Result(), c.Run());
  EXPECT_EQ(engine.Result().rounds[0].seals.undecided.size(), 2u);
}

// A vote a seal's base names, arriving after the seals on that base: it is now known what each
// of them covers, and the engine decides as a full tally of the same events does.
TEST(TallyEngine, AVoteABaseNamesArrivingLaterDecidesAsTheFullTallyDoes) {
  Circle c;
  auto m = Members(c, 4);
  c.Propose(m[1], 100);
  auto open = c.Propose(m[1], 100, kAfter + 1000);
  const EventId v = c.Vote(m[4], open, v1::FOR, kDeadline - 1);
  const EventId base = c.Seal(m[0], kDeadline, kDeadline + 1);
  c.SealOn(m[1], kDeadline, kDeadline + 2, base);
  c.SealOn(m[2], kDeadline, kDeadline + 2, base);
  auto without = c.events;
  std::erase_if(without, [&](const FoldEvent& e) { return e.id == v; });
  TallyEngine engine(Fold(without), kAfter);
  ASSERT_FALSE(engine.Result().rounds[0].seals.sealed) << "what the seals cover of m4 is unknown";
  ASSERT_TRUE(engine.AddVote(open, {m[4], 1, kDeadline - 1, v1::FOR, v, std::nullopt}));
  EXPECT_EQ(engine.state(), c.State());
  EXPECT_EQ(engine.Result(), c.Run());
  EXPECT_TRUE(engine.Result().rounds[0].seals.sealed);
}

}  // namespace
}  // namespace polder::decide
