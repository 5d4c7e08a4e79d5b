// What a node seals (docs/protocol.md §15 "Seal bases"): on the base that saves most entries, it
// lists only where it holds something else; without a base fit for it, everything it holds.
#include "node/app/sealer.h"

#include <gtest/gtest.h>

namespace polder::app {
namespace {

MemberKey Key(char c) { return *MemberKey::FromBytes(AsBytes(std::string(32, c))); }
EventId Id(char c, int n) {
  std::string s(32, c);
  s[0] = static_cast<char>(n);
  return *EventId::FromBytes(AsBytes(s));
}

constexpr std::int64_t kDeadline = 1000;

storage::VersionVector Held(const std::vector<std::pair<char, std::uint64_t>>& heads) {
  storage::VersionVector v;
  for (auto [c, seq] : heads) v.heads[Key(c)] = {seq, Id(c, static_cast<int>(seq)), false};
  return v;
}

decide::SealRecord SealOf(char author, const storage::VersionVector& named, std::int64_t ts,
                          char id) {
  decide::SealRecord s;
  s.author = Key(author);
  s.deadline_ms = kDeadline;
  s.timestamp_ms = ts;
  s.event = Id(id, 0);
  for (const auto& [k, h] : named.heads) s.heads.push_back({k, h.seq, h.id, h.forked, true});
  return s;
}

TEST(PlanSeal, ListsOnlyWhatDiffersFromTheBaseThatSavesMost) {
  const MemberKey me = Key('m');
  const auto held = Held({{'a', 3}, {'b', 2}, {'c', 5}, {'m', 4}});
  std::vector<decide::SealRecord> seals;
  seals.push_back(SealOf('x', Held({{'a', 3}, {'b', 1}, {'c', 5}}), 1001, '1'));  // needs b
  seals.push_back(SealOf('y', Held({{'a', 3}, {'b', 2}, {'c', 4}}), 1002, '2'));  // needs c
  seals.push_back(SealOf('z', Held({{'a', 3}, {'b', 2}, {'c', 5}, {'m', 3}}), 1003, '3'));
  const SealPlan plan = PlanSeal(held, seals, kDeadline, me);
  ASSERT_TRUE(plan.base);
  EXPECT_EQ(*plan.base, Id('3', 0));
  EXPECT_TRUE(plan.entries.empty()) << "z names all I hold; my own log is never inherited";

  seals.pop_back();  // x and y each need one entry: the smaller id wins
  const SealPlan tie = PlanSeal(held, seals, kDeadline, me);
  ASSERT_TRUE(tie.base);
  EXPECT_EQ(*tie.base, Id('1', 0));
  ASSERT_EQ(tie.entries.size(), 1u);
  EXPECT_EQ(tie.entries[0].first, Key('b'));
  EXPECT_EQ(tie.entries[0].second.seq, 2u);
}

TEST(PlanSeal, NoBaseNamingAnAuthorNotHeldNorOneOnABaseNorAnotherDeadlineNorItsOwn) {
  const MemberKey me = Key('m');
  const auto held = Held({{'a', 3}, {'b', 2}, {'m', 1}});
  std::vector<decide::SealRecord> seals;
  seals.push_back(SealOf('x', Held({{'a', 3}, {'b', 2}, {'q', 1}}), 1001, '1'));  // q: not held
  seals.push_back(SealOf('y', Held({{'a', 3}, {'b', 2}}), 1002, '2'));
  seals.back().base = Id('9', 0);  // itself on a base
  seals.push_back(SealOf('z', Held({{'a', 3}, {'b', 2}}), 1003, '3'));
  seals.back().deadline_ms = kDeadline + 1;
  seals.push_back(SealOf('m', Held({{'a', 3}, {'b', 2}}), 1004, '4'));  // my own
  seals.push_back(SealOf('w', Held({{'a', 3}, {'b', 2}}), 1005, '5'));
  seals.back().device = Key('d');  // a device's
  const SealPlan plan = PlanSeal(held, seals, kDeadline, me);
  EXPECT_FALSE(plan.base);
  ASSERT_EQ(plan.entries.size(), 3u) << "everything held, my own log too";
  EXPECT_EQ(plan.entries[2].first, me);
}

// A fork this node holds proof of is reported in its own entry, never left to the base.
TEST(PlanSeal, AForkHeldIsListed) {
  const MemberKey me = Key('m');
  auto held = Held({{'a', 3}, {'b', 2}});
  held.heads[Key('b')].forked = true;
  std::vector<decide::SealRecord> seals{SealOf('x', Held({{'a', 3}, {'b', 2}}), 1001, '1')};
  const SealPlan plan = PlanSeal(held, seals, kDeadline, me);
  ASSERT_TRUE(plan.base);
  ASSERT_EQ(plan.entries.size(), 1u);
  EXPECT_EQ(plan.entries[0].first, Key('b'));
  EXPECT_TRUE(plan.entries[0].second.forked);
}

// In a large circle about kFirstSealers members seal at once and the rest spread over a minute
// (so that they find a base); in a small one nobody waits. Not the same members every round.
TEST(SealDelay, AFewSealFirstAndTheRestSpreadOverTheNextMinute) {
  std::vector<MemberKey> keys;
  for (int i = 0; i < 10'000; ++i) {
    std::string k(32, '\0');
    for (int b = 0; b < 4; ++b) k[static_cast<std::size_t>(b)] = static_cast<char>(i >> (8 * b));
    keys.push_back(*MemberKey::FromBytes(AsBytes(k)));
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(SealDelayMs(keys[static_cast<std::size_t>(i)], 1, 8), 0);
  std::vector<std::int64_t> first_of[2];
  for (std::int64_t deadline : {1000, 2000}) {
    std::size_t at_once = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto d = SealDelayMs(keys[i], deadline, keys.size());
      EXPECT_EQ(d, SealDelayMs(keys[i], deadline, keys.size()));
      if (d == 0) {
        ++at_once;
        first_of[deadline / 1000 - 1].push_back(static_cast<std::int64_t>(i));
      } else {
        EXPECT_GE(d, 1000);
        EXPECT_LT(d, kSealSpreadMs);
      }
    }
    EXPECT_GE(at_once, 1u);
    EXPECT_LE(at_once, 4 * kFirstSealers) << "about kFirstSealers";
  }
  EXPECT_NE(first_of[0], first_of[1]);
}

}  // namespace
}  // namespace polder::app
