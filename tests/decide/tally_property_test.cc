// Properties of the tally over random circles: every arrival order gives the same tally and
// explanation; allocations stay within the pool and the exposure caps; an open blocking flag
// always blocks; turning an opposing vote into an abstention never unfunds a proposal under
// greedy.
#include <algorithm>
#include <map>
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
using testing::kT0;

// A random circle as a plan of actions, so one action can be changed and the rest rebuilt alike.
struct Action {
  enum Kind { kVote, kFlag, kWithdrawFlag, kAnswer, kEndorse, kDelegate, kRevoke } kind;
  std::int64_t ts = 0;
  int actor = 0;
  int proposal = 0;
  int target = 0;  // the delegate
  int value = 0;   // choice or severity
  std::string topic;
};

struct RandomCircle {
  v1::DecisionRules rules;
  std::vector<std::int64_t> amounts;  // minor units
  std::vector<int> proposers;
  std::vector<std::string> topics;
  std::vector<Action> actions;  // sorted by time
};

constexpr int kMembers = 9;
constexpr int kProposals = 12;
const std::vector<std::string> kTopics = {"", "parks", "arts"};

RandomCircle MakeRandom(std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint32_t>(n)); };
  RandomCircle rc;
  rc.rules.set_weighting(pick(2) ? v1::DecisionRules::ORGANISATION_BALANCED
                                 : v1::DecisionRules::ONE_MEMBER_ONE_VOTE);
  rc.rules.set_allocation(pick(2) ? v1::DecisionRules::EQUAL_SHARES
                                  : v1::DecisionRules::GREEDY_APPROVAL);
  rc.rules.set_max_share_per_proposal_bps(pick(2) ? 2500 : 0);
  rc.rules.set_max_share_per_org_bps(pick(2) ? 4000 : 0);
  rc.rules.set_quorum_bps(3000);
  // A late flag moves its proposal 2 s on (decided by kAfter), or by the default day (open then).
  rc.rules.set_late_flag_window_ms(pick(2) ? 2000 : 0);
  for (int p = 0; p < kProposals; ++p) {
    rc.amounts.push_back(50 + pick(400));
    rc.proposers.push_back(pick(kMembers));
    rc.topics.push_back(kTopics[static_cast<std::size_t>(pick(3))]);
  }
  auto ts = [&] { return kT0 + 100 + pick(11'000); };  // about 1 in 11 after the deadline
  for (int i = 0; i < kMembers; ++i) {
    for (int p = 0; p < kProposals; ++p) {
      for (int n = pick(3); n > 0; --n) {
        rc.actions.push_back({Action::kVote, ts(), i, p, 0, 1 + pick(3), ""});
      }
    }
  }
  for (int f = 0; f < 8; ++f) {
    const int flagger = pick(kMembers), p = pick(kProposals);
    const std::int64_t t = kT0 + 50 + pick(5000);
    rc.actions.push_back({Action::kFlag, t, flagger, p, 0, 1 + pick(5), ""});
    switch (pick(3)) {
      case 0:
        rc.actions.push_back({Action::kWithdrawFlag, t + 1 + pick(6000), flagger, p, 0, 0, ""});
        break;
      case 1: {
        const std::int64_t a = t + 1 + pick(4000);
        rc.actions.push_back(
            {Action::kAnswer, a, rc.proposers[static_cast<std::size_t>(p)], p, 0, 0, ""});
        break;
      }
      default: break;
    }
  }
  for (int e = 0; e < 20; ++e) {
    rc.actions.push_back({Action::kEndorse, ts(), pick(kMembers), pick(kProposals), 0, 0, ""});
  }
  for (int d = 0; d < 8; ++d) {
    const int from = pick(kMembers);
    const int to = (from + 1 + pick(kMembers - 1)) % kMembers;
    const std::string topic = kTopics[static_cast<std::size_t>(pick(3))];
    const std::int64_t t = kT0 + 20 + pick(8000);
    rc.actions.push_back({Action::kDelegate, t, from, 0, to, 0, topic});
    if (pick(3) == 0) rc.actions.push_back({Action::kRevoke, t + pick(5000), from, 0, 0, 0, topic});
  }
  std::stable_sort(rc.actions.begin(), rc.actions.end(),
                   [](const Action& a, const Action& b) { return a.ts < b.ts; });
  return rc;
}

std::vector<FoldEvent> Build(const RandomCircle& rc, std::vector<EventId>* proposal_ids = nullptr) {
  Circle c(1500, rc.rules);
  std::vector<MemberKey> m{c.founder()};
  for (int i = 1; i < kMembers; ++i) {
    m.push_back(c.Admit("m" + std::to_string(i), "Org" + std::to_string(i % 3)));
  }
  std::vector<EventId> ps;
  for (int p = 0; p < kProposals; ++p) {
    const auto u = static_cast<std::size_t>(p);
    ps.push_back(c.Propose(m[static_cast<std::size_t>(rc.proposers[u])], rc.amounts[u], kDeadline,
                           rc.topics[u], kT0 + 1 + p));
  }
  if (proposal_ids) *proposal_ids = ps;
  // A resolution resolves the earliest earlier flag on its proposal it may resolve.
  std::map<int, EventId> flags;
  for (std::size_t i = 0; i < rc.actions.size(); ++i) {
    const Action& a = rc.actions[i];
    const MemberKey& who = m[static_cast<std::size_t>(a.actor)];
    const EventId& p = ps[static_cast<std::size_t>(a.proposal)];
    switch (a.kind) {
      case Action::kVote: c.Vote(who, p, static_cast<v1::Choice>(a.value), a.ts); break;
      case Action::kFlag:
        flags[static_cast<int>(i)] = c.Flag(who, p, static_cast<v1::Severity>(a.value), a.ts);
        break;
      case Action::kWithdrawFlag:
      case Action::kAnswer: {
        for (std::size_t j = 0; j < i; ++j) {
          const Action& f = rc.actions[j];
          if (f.kind == Action::kFlag && f.proposal == a.proposal &&
              flags.count(static_cast<int>(j)) &&
              (a.kind == Action::kAnswer || f.actor == a.actor)) {
            c.Resolve(who, flags[static_cast<int>(j)],
                      a.kind == Action::kAnswer ? v1::FlagResolution::ANSWER
                                                : v1::FlagResolution::WITHDRAW,
                      a.ts);
            break;
          }
        }
        break;
      }
      case Action::kEndorse: c.Endorse(who, p, a.ts); break;
      case Action::kDelegate:
        c.Delegate(who, m[static_cast<std::size_t>(a.target)], a.topic, a.ts);
        break;
      case Action::kRevoke: c.Revoke(who, a.topic, a.ts); break;
    }
  }
  return c.events;
}

void CheckInvariants(const CircleState& st, const TallyResult& r, std::uint32_t seed) {
  Money total;
  std::map<std::string, Money> per_org;
  for (const auto& o : r.proposals) {
    if (o.explanation.blocked && o.explanation.closed) {
      EXPECT_NE(o.status, Status::kFunded) << "seed " << seed;
    }
    for (const auto& f : o.explanation.flags) {
      if (f.state == FlagState::kOpen && f.blocking_severity) {
        EXPECT_NE(o.status, Status::kFunded) << "seed " << seed;
      }
    }
    if (o.status != Status::kFunded) continue;
    total += o.amount_minor;
    per_org[o.organisation] += o.amount_minor;
    EXPECT_LE(static_cast<__int128>(o.amount_minor.minor()) * 10000,
              static_cast<__int128>(st.rules.max_share_per_proposal_bps) * r.pool_minor.minor())
        << "seed " << seed;
  }
  EXPECT_EQ(total, r.allocated_minor);
  EXPECT_LE(total, r.pool_minor) << "seed " << seed;
  for (const auto& [org, sum] : per_org) {
    EXPECT_LE(static_cast<__int128>(sum.minor()) * 10000,
              static_cast<__int128>(st.rules.max_share_per_org_bps) * r.pool_minor.minor())
        << "seed " << seed << " org " << org;
  }
}

TEST(TallyProperty, SameTallyAndExplanationForEveryArrivalOrder) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    auto events = Build(MakeRandom(seed));
    const auto st = Fold(events);
    const auto expected = Tally(st, kAfter);
    const auto expected_open = Tally(st, kT0 + 5000);
    const auto text = ExplainText(st, expected);
    CheckInvariants(st, expected, seed);
    std::mt19937 rng(seed);
    for (int i = 0; i < 100; ++i) {
      std::shuffle(events.begin(), events.end(), rng);
      const auto st2 = Fold(events);
      ASSERT_EQ(st2, st) << "seed " << seed << " permutation " << i;
      ASSERT_EQ(Tally(st2, kAfter), expected) << "seed " << seed << " permutation " << i;
      ASSERT_EQ(Tally(st2, kT0 + 5000), expected_open) << "seed " << seed;
      ASSERT_EQ(ExplainText(st2, Tally(st2, kAfter)), text) << "seed " << seed;
    }
  }
}

TEST(TallyProperty, InvariantsHoldOnManyRandomCircles) {
  std::set<Status> seen;
  for (std::uint32_t seed = 100; seed < 160; ++seed) {
    const auto st = Fold(Build(MakeRandom(seed)));
    const auto r = Tally(st, kAfter);
    CheckInvariants(st, r, seed);
    for (const auto& o : r.proposals) seen.insert(o.status);
  }
  EXPECT_TRUE(seen.count(Status::kFunded));
  EXPECT_TRUE(seen.count(Status::kNotFunded));
}

// Under greedy, turning one against vote into an abstention (same participation, less
// opposition) never turns the proposal it was cast on from funded into unfunded; nor does
// removing it, as long as the proposal still meets its quorum.
TEST(TallyProperty, LessOppositionNeverUnfundsUnderGreedy) {
  int checked = 0;
  for (std::uint32_t seed = 200; seed < 240; ++seed) {
    RandomCircle rc = MakeRandom(seed);
    rc.rules.set_allocation(v1::DecisionRules::GREEDY_APPROVAL);
    std::vector<EventId> ids;
    const auto before = Tally(Fold(Build(rc, &ids)), kAfter);
    for (std::size_t i = 0; i < rc.actions.size(); ++i) {
      const Action& a = rc.actions[i];
      if (a.kind != Action::kVote || a.value != v1::AGAINST) continue;
      const EventId& p = ids[static_cast<std::size_t>(a.proposal)];
      if (Find(before, p).status != Status::kFunded) continue;
      RandomCircle changed = rc;
      changed.actions[i].value = v1::ABSTAIN;
      const auto after = Tally(Fold(Build(changed)), kAfter);
      EXPECT_EQ(Find(after, p).status, Status::kFunded) << "seed " << seed << " action " << i;
      ++checked;
      // Removed outright, participation may fall below the quorum; otherwise it stays funded.
      RandomCircle removed = rc;
      removed.actions.erase(removed.actions.begin() + static_cast<long>(i));
      const auto removed_tally = Tally(Fold(Build(removed)), kAfter);
      const auto& without = Find(removed_tally, p);
      if (without.explanation.quorum_met) {
        EXPECT_EQ(without.status, Status::kFunded) << "seed " << seed << " action " << i;
      }
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace polder::decide
