// TallyEngine: each added vote gives exactly what a full tally of the same state gives.
#include <random>

#include <gtest/gtest.h>

#include "tests/decide/tally_testutil.h"

namespace polder::decide {
namespace {

using testing::Circle;
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

}  // namespace
}  // namespace polder::decide
