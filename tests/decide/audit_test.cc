// The audit document must let a checker recompute a decision from it alone: on random signed
// circles (3 organisations, delegations with topics, flags with answers and acceptances,
// withdrawals, votes that change and votes after deadlines), every counted vote points at the
// Vote and Delegation events that carry it, the weights add up to the figures, the comparisons
// agree with the outcome, and the document does not depend on the order the events came in.
#include "node/decide/audit.h"

#include <algorithm>
#include <limits>
#include <map>
#include <random>

#include <gmpxx.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "node/decide/fold.h"
#include "node/decide/tally.h"
#include "proto/words.h"
#include "storage/rulebook/decode.h"
#include "tests/testutil/circle.h"

namespace polder::decide {
namespace {

using testutil::TestCircle;

constexpr std::int64_t kNoClockLimitMs = std::numeric_limits<std::int64_t>::max() / 2;

struct Random {
  std::vector<FoldEvent> events;
  std::int64_t end_ms = 0;  // after the last event
};

Random MakeCircle(std::uint32_t seed) {
  std::mt19937 rng(seed);
  TestCircle c("Org A");
  std::vector<int> m = {0};
  const char* orgs[] = {"Org A", "Org B", "Org C"};
  for (int i = 1; i < 9; ++i) m.push_back(c.Admit(0, "M" + std::to_string(i), orgs[i % 3]));
  std::vector<EventId> proposals;
  std::vector<int> proposer;
  std::vector<std::pair<EventId, int>> flags;  // flag, its proposal's index
  const char* topics[] = {"", "parks"};
  for (int step = 0; step < 150; ++step) {
    c.Advance(static_cast<std::int64_t>(rng() % 4000));
    const int who = m[rng() % m.size()];
    switch (proposals.size() < 2 ? 0 : rng() % 10) {
      case 0:
        if (proposals.size() < 7) {
          proposals.push_back(c.Propose(who, "P" + std::to_string(step), 100 + rng() % 4000,
                                        60'000 + (rng() % 4) * 60'000));
          proposer.push_back(who);
        }
        break;
      case 1:
      case 2:
      case 3:
        c.Vote(who, proposals[rng() % proposals.size()], static_cast<v1::Choice>(1 + rng() % 3));
        break;
      case 4: {
        const int to = m[rng() % m.size()];
        if (to != who) c.Delegate(who, to, topics[rng() % 2]);
        break;
      }
      case 5: {
        const auto i = rng() % proposals.size();
        flags.emplace_back(c.Flag(who, proposals[i], static_cast<v1::Severity>(3 + rng() % 3)), i);
        break;
      }
      case 6:
        if (!flags.empty()) {
          const auto& [f, i] = flags[rng() % flags.size()];
          c.Resolve(proposer[i], f, v1::FlagResolution::ANSWER);
        }
        break;
      case 7:
      case 8: c.Endorse(who, proposals[rng() % proposals.size()]); break;
      case 9:
        if (rng() % 4 == 0) {
          const auto i = rng() % proposals.size();
          c.Withdraw(proposer[i], proposals[i]);
        }
        break;
    }
  }
  Random out;
  for (const auto& bytes : c.events()) {
    auto d = rulebook::Decode(bytes, kNoClockLimitMs);
    EXPECT_TRUE(d.has_value());
    if (d) out.events.push_back({d->id, d->body});
  }
  out.end_ms = c.now() + 600'000;
  return out;
}

// The charter's allocation rule and late-flag window, set after the fact (the charter is the first
// event, unsigned here: Fold does not verify signatures, the replica's gate does).
void SetAllocation(Random& r, v1::DecisionRules::Allocation allocation) {
  for (auto& e : r.events) {
    if (!e.body.has_charter()) continue;
    e.body.mutable_charter()->mutable_rules()->set_allocation(allocation);
    // Half a minute: flags in the last 30 s before a deadline move their proposal (closed again
    // by the end), earlier ones block it.
    e.body.mutable_charter()->mutable_rules()->set_late_flag_window_ms(30'000);
  }
}

mpq_class Q(const std::string& s) {
  mpq_class q(s);
  q.canonicalize();
  return q;
}

const v1::AuditCheckView* Check(const v1::AuditView& a, const std::string& prefix) {
  for (const auto& c : a.checks()) {
    if (c.rule().rfind(prefix, 0) == 0) return &c;
  }
  return nullptr;
}

// Checks one audit against the state alone (what an independent checker can do with the events).
void ExpectAuditHolds(const CircleState& st, const v1::AuditView& a, const std::string& where) {
  const auto& p = a.proposal();
  const auto& e = p.explanation();
  SCOPED_TRACE(where + " proposal " + p.title());
  const ProposalRecord* rec = nullptr;
  for (const auto& pr : st.proposals) {
    if (pr.event.hex() == p.proposal_id()) rec = &pr;
  }
  ASSERT_NE(rec, nullptr);

  std::map<std::string, const VoteRecord*> votes;  // event id → record
  for (const auto& v : rec->votes) votes[v.event.hex()] = &v;
  std::map<std::string, const DelegationRecord*> delegations;
  for (const auto& d : st.delegations) delegations[d.event.hex()] = &d;

  mpq_class for_w, against_w;
  std::uint32_t for_n = 0, against_n = 0, abstain_n = 0;
  for (const auto& cv : a.counted_votes()) {
    // The vote whose choice counts: on this proposal, by voted_by, same choice, by the cut-off,
    // and that voter's latest such vote.
    ASSERT_TRUE(votes.count(cv.vote_event())) << cv.DebugString();
    const VoteRecord* v = votes[cv.vote_event()];
    EXPECT_EQ(v->voter.hex(), cv.voted_by());
    EXPECT_EQ(ChoiceWord(v->choice), cv.choice());
    EXPECT_LE(v->timestamp_ms, e.cutoff_ms());
    for (const auto& other : rec->votes) {
      if (other.voter == v->voter && other.timestamp_ms <= e.cutoff_ms()) {
        EXPECT_LE(other.seq, v->seq) << "a later vote of the same voter was ignored";
      }
    }
    // The chain: each hop a Delegation event in force, from the member to voted_by.
    std::string from = cv.member();
    for (const auto& hop : cv.chain()) {
      ASSERT_TRUE(delegations.count(hop.event_id())) << cv.DebugString();
      const DelegationRecord* d = delegations[hop.event_id()];
      EXPECT_EQ(hop.delegator(), from);
      EXPECT_EQ(d->delegator.hex(), hop.delegator());
      EXPECT_EQ(d->delegate.hex(), hop.delegate());
      EXPECT_FALSE(d->revoke);
      EXPECT_LE(d->timestamp_ms, e.cutoff_ms());
      EXPECT_TRUE(d->topic.empty() || d->topic == p.topic());
      from = hop.delegate();
    }
    EXPECT_EQ(from, cv.voted_by());
    if (cv.chain_size() == 0) {
      EXPECT_EQ(cv.voted_by(), cv.member());
    }
    const mpq_class w = Q(cv.weight());
    if (cv.choice() == "for") {
      for_w += w;
      ++for_n;
    } else if (cv.choice() == "against") {
      against_w += w;
      ++against_n;
    } else {
      ++abstain_n;
    }
  }
  EXPECT_EQ(for_w, Q(p.for_weight()));
  EXPECT_EQ(against_w, Q(p.against_weight()));
  EXPECT_EQ(for_n, p.for_count());
  EXPECT_EQ(against_n, p.against_count());
  EXPECT_EQ(abstain_n, p.abstain_count());
  EXPECT_EQ(static_cast<std::uint32_t>(a.counted_votes_size()), p.participants());

  std::uint32_t eligible = 0;
  for (const auto& m : a.members()) eligible += m.eligible();
  EXPECT_EQ(eligible, p.eligible_members());

  const auto* quorum = Check(a, "participants");
  const auto* approval = Check(a, "for_weight");
  const auto* flags = Check(a, "open flags");
  ASSERT_TRUE(quorum && approval && flags);
  EXPECT_EQ(quorum->holds(), p.quorum_met());
  EXPECT_EQ(approval->holds(), p.approved());
  EXPECT_EQ(flags->holds(), !p.blocked());
  EXPECT_EQ(Q(approval->left()), for_w * 10000);
  EXPECT_EQ(Q(approval->right()), mpq_class(a.rules().approval_bps()) * (for_w + against_w));

  if (p.status() == "funded") {
    for (const auto& c : a.checks()) EXPECT_TRUE(c.holds()) << c.rule();
  }
  if (p.reason() == "quorum_not_met") {
    EXPECT_FALSE(quorum->holds());
  }
  if (p.reason() == "not_approved") {
    EXPECT_FALSE(approval->holds());
  }
  if (p.reason() == "blocked_by_flag") {
    EXPECT_FALSE(flags->holds());
  }
  if (p.reason() == "budget_exhausted") {
    const auto* budget = Check(a, "amount_minor ≤ pool_left_before_minor");
    ASSERT_NE(budget, nullptr);
    EXPECT_FALSE(budget->holds());
  }
  // Excluded votes are votes on this proposal that are not counted.
  for (const auto& x : a.excluded_votes()) {
    for (const auto& cv : a.counted_votes()) EXPECT_NE(cv.vote_event(), x.event_id());
  }
}

TEST(Audit, EveryCountedVoteRestsOnItsEventsAndTheFiguresAddUp) {
  std::map<std::string, int> seen;  // what the random circles exercised
  for (std::uint32_t seed = 0; seed < 25; ++seed) {
    for (auto allocation : {v1::DecisionRules::GREEDY_APPROVAL, v1::DecisionRules::EQUAL_SHARES}) {
      Random r = MakeCircle(seed);
      SetAllocation(r, allocation);
      const CircleState st = Fold(r.events);
      ASSERT_TRUE(st.has_charter);
      ASSERT_FALSE(st.proposals.empty());
      // At the end (all closed) and halfway (some open, some closed).
      const std::int64_t middle = st.proposals.front().created_ms + 150'000;
      for (std::int64_t as_of : {r.end_ms, middle}) {
        const TallyResult tally = Tally(st, as_of);
        for (const auto& o : tally.proposals) {
          auto a = Audit(st, tally, o.proposal, Provenance{"t", "s", "v", r.events.size()});
          ASSERT_TRUE(a.has_value());
          EXPECT_EQ(a->format(), kAuditFormat);
          EXPECT_EQ(a->proposal().status(), StatusWord(o));
          EXPECT_EQ(a->round().proposals_size(), static_cast<int>(tally.proposals.size()));
          ExpectAuditHolds(st, *a,
                           "seed " + std::to_string(seed) + " as_of " + std::to_string(as_of));
          ++seen[a->proposal().status() + " " + a->proposal().reason()];
          for (const auto& cv : a->counted_votes()) {
            seen["delegated"] += cv.chain_size() > 0;
            seen["chain of 2+"] += cv.chain_size() > 1;
          }
          for (const auto& x : a->excluded_votes()) ++seen["excluded " + x.reason()];
          for (const auto& f : a->flags()) ++seen["flag " + f.state()];
          seen["moved by a late flag"] += o.explanation.moved_from_ms != 0;
        }
      }
    }
  }
  std::string summary;
  for (const auto& [what, n] : seen) summary += what + ": " + std::to_string(n) + "\n";
  for (const char* must :
       {"funded ", "open ", "withdrawn ", "not_funded quorum_not_met", "not_funded not_approved",
        "not_funded blocked_by_flag", "delegated", "chain of 2+", "excluded late", "flag open",
        "flag mitigated", "moved by a late flag"}) {
    EXPECT_GT(seen[must], 0) << must << " never happened:\n" << summary;
  }
}

TEST(Audit, SameDocumentForEveryArrivalOrder) {
  for (std::uint32_t seed = 100; seed < 105; ++seed) {
    Random r = MakeCircle(seed);
    const CircleState st = Fold(r.events);
    const TallyResult tally = Tally(st, r.end_ms);
    std::vector<v1::AuditView> expected;
    for (const auto& o : tally.proposals) expected.push_back(*Audit(st, tally, o.proposal, {}));
    for (std::uint32_t order = 0; order < 10; ++order) {
      auto events = r.events;
      std::shuffle(events.begin(), events.end(), std::mt19937(order));
      const CircleState st2 = Fold(events);
      const TallyResult tally2 = Tally(st2, r.end_ms);
      for (std::size_t i = 0; i < tally2.proposals.size(); ++i) {
        const auto a = Audit(st2, tally2, tally2.proposals[i].proposal, {});
        ASSERT_TRUE(a.has_value());
        EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*a, expected[i]))
            << "seed " << seed << " order " << order;
      }
    }
  }
}

TEST(Audit, UnknownProposalIsNotFound) {
  Random r = MakeCircle(7);
  const CircleState st = Fold(r.events);
  const TallyResult tally = Tally(st, r.end_ms);
  EventId nobody;
  nobody.bytes.fill(0xee);
  auto a = Audit(st, tally, nobody, {});
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, Errc::kNotFound);
}

TEST(Audit, WordsAreStableSnakeCase) {
  EXPECT_STREQ(ReasonWord(Reason::kQuorumNotMet), "quorum_not_met");
  EXPECT_STREQ(ReasonWord(Reason::kNone), "");
  ProposalOutcome o;
  o.status = Status::kNotFunded;
  EXPECT_STREQ(StatusWord(o), "not_funded");
  EXPECT_STREQ(ExclusionWord(Exclusion::kLate), "late");
  EXPECT_STREQ(DelegationEndWord(DelegationEnd::kOverriddenByOwnVote), "overridden_by_own_vote");
  EXPECT_STREQ(FlagStateWord(FlagState::kMitigated), "mitigated");
}

}  // namespace
}  // namespace polder::decide
