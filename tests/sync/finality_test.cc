// Seals across running nodes: after a round's deadline the nodes seal it by themselves, every
// node then shows the round final, and a vote backdated before the deadline but published after
// the round was sealed changes nothing on any node and raises the same integrity alert on each;
// nor do an early seal holding little and late seals with backdated votes.
#include <optional>

#include <gtest/gtest.h>

#include "node/app/circle_state.h"
#include "node/decide/tally.h"
#include "storage/rulebook/sign.h"
#include "tests/sync/harness.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

decide::TallyResult TallyAt(Network& net, int i) {
  auto st = app::LoadCircleState(net.member(i).session->replica());
  EXPECT_TRUE(st);
  return decide::Tally(*st, Now());
}

// By value, so that it may be called on a temporary result.
std::optional<decide::ProposalOutcome> Outcome(const decide::TallyResult& r, const EventId& p) {
  for (const auto& o : r.proposals) {
    if (o.proposal == p) return o;
  }
  return std::nullopt;
}

EventId Author(Network& net, int i, const std::function<void(v1::EventBody&)>& fill) {
  auto a = net.member(i).node->Author(fill);
  EXPECT_TRUE(a) << (a ? "" : a.error().message);
  return a ? a->id : EventId{};
}

constexpr int kNodes = 5;
const std::vector<int> kAll = {0, 1, 2, 3, 4};

// Five nodes in a chain of peers; nodes below `sealers` seal by themselves (300 ms after a
// deadline), the others only when a test says so. Returns when their vectors agree.
::testing::AssertionResult StartNodes(Network& net, int sealers) {
  for (int i = 0; i < kNodes; ++i) {
    app::NodeConfig cfg;
    cfg.seal_grace = 300ms;
    cfg.seal_check = 100ms;
    cfg.auto_seal = i < sealers;
    std::vector<int> peers;
    for (int j = 0; j < i; ++j) peers.push_back(j);
    net.Start(i, peers, cfg);
  }
  if (!net.RunUntil([&] { return net.VectorsEqual(kAll); }, 20s)) {
    return ::testing::AssertionFailure() << "the nodes did not sync";
  }
  return ::testing::AssertionSuccess();
}

// Member 1's proposal with `deadline`.
EventId ProposeTools(Network& net, std::int64_t deadline) {
  return Author(net, 1, [&](v1::EventBody& b) {
    auto* pr = b.mutable_proposal();
    pr->set_title("shared tools");
    pr->set_amount_minor(100);
    pr->set_deadline_ms(deadline);
  });
}

// Member i's vote on p (timestamped `ts`, else now).
EventId VoteOn(Network& net, const EventId& p, int i, v1::Choice c, std::int64_t ts = 0) {
  return Author(net, i, [&](v1::EventBody& b) {
    if (ts) b.set_timestamp_ms(ts);
    b.mutable_vote()->set_proposal(p.str());
    b.mutable_vote()->set_choice(c);
  });
}

// Member 1 proposes with `deadline`; once every node holds it, members 0 and 1 vote for and
// member 2 votes `third`.
EventId ProposeAndVote(Network& net, std::int64_t deadline, v1::Choice third) {
  const EventId p = ProposeTools(net, deadline);
  EXPECT_TRUE(net.RunUntil([&] { return net.VectorsEqual(kAll); }, 20s));
  VoteOn(net, p, 0, v1::FOR);
  VoteOn(net, p, 1, v1::FOR);
  VoteOn(net, p, 2, third);
  return p;
}

// Until every node shows p's round final.
::testing::AssertionResult FinalEverywhere(Network& net, const EventId& p) {
  if (net.RunUntil(
          [&] {
            if (!net.VectorsEqual(kAll)) return false;
            for (int i = 0; i < kNodes; ++i) {
              const auto o = Outcome(TallyAt(net, i), p);
              if (!o || o->finality != decide::Finality::kFinal) return false;
            }
            return true;
          },
          20s)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "the round did not become final everywhere";
}

// After the late events synced: one digest, p funded and final everywhere, and on every node the
// same integrity alert naming p and each of `late`.
void ExpectFinalFundedWithOneAlert(Network& net, const EventId& p,
                                   const std::vector<EventId>& late) {
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual(kAll); }, 20s));
  const Digest32 digest = net.StateDigest(0);
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(net.StateDigest(i), digest);
    const auto r = TallyAt(net, i);
    const auto o = Outcome(r, p);
    ASSERT_TRUE(o) << "node " << i;
    EXPECT_EQ(o->status, decide::Status::kFunded) << "node " << i;
    EXPECT_EQ(o->finality, decide::Finality::kFinal) << "node " << i;
    ASSERT_EQ(r.alerts.size(), 1u) << "node " << i;
    EXPECT_EQ(r.alerts[0].proposals, std::vector<EventId>{p});
    const auto& ev = r.alerts[0].events;
    for (const auto& e : late) EXPECT_TRUE(std::find(ev.begin(), ev.end(), e) != ev.end());
  }
}

TEST(Finality, NodesSealARoundAndABackdatedVoteChangesNothingAnywhere) {
  Network net(kNodes, 3, 11);
  // Members 3 and 4 stay quiet (3 of 5 seals make the majority).
  ASSERT_TRUE(StartNodes(net, 3));
  const std::int64_t deadline = Now() + 1500;
  const EventId p = ProposeAndVote(net, deadline, v1::ABSTAIN);
  auto vote = [&](int i, v1::Choice c, std::int64_t ts = 0) { return VoteOn(net, p, i, c, ts); };
  // Every node seals, and every replica ends up with the round final and funded.
  ASSERT_TRUE(FinalEverywhere(net, p));
  for (int i = 0; i < kNodes; ++i) {
    const auto r = TallyAt(net, i);
    EXPECT_EQ(Outcome(r, p)->status, decide::Status::kFunded) << "node " << i;
    EXPECT_GE(Outcome(r, p)->explanation.seals->counting.size(), 3u);
    EXPECT_TRUE(r.alerts.empty());
  }

  // Two quiet members now publish votes against, timestamped before the deadline: counted,
  // they would tie the vote (2 for, 2 against) and unfund the proposal.
  const EventId late3 = vote(3, v1::AGAINST, deadline - 100);
  const EventId late4 = vote(4, v1::AGAINST, deadline - 100);
  ExpectFinalFundedWithOneAlert(net, p, {late3, late4});
}

// Issue 14: one node seals early with low coverage (what it held before the proposal), another
// publishes, after the round is final, a vote backdated before the deadline and a seal hiding
// what it covers of the others' logs. The early seal excludes none of the votes three honest
// seals cover; the late ones change nothing; every node agrees, with one integrity alert.
TEST(Finality, AnEarlyLowSealAndLateSealsWithBackdatedVotesChangeNothingAnywhere) {
  Network net(kNodes, 3, 12);
  ASSERT_TRUE(StartNodes(net, 3));  // 3 and 4 seal by hand, as this test says
  auto early = net.member(3).session->replica().events().Vector();
  ASSERT_TRUE(early);
  auto seal = [&](int i, std::int64_t deadline, const storage::VersionVector& v) {
    return Author(net, i, [&](v1::EventBody& b) {
      b.mutable_seal()->set_deadline_ms(deadline);
      for (const auto& [author, head] : v.heads) {
        auto* h = b.mutable_seal()->add_heads();
        h->set_author(author.str());
        h->set_seq(head.seq);
        h->set_head(head.id.str());
      }
    });
  };
  const std::int64_t deadline = Now() + 1500;
  const EventId p = ProposeAndVote(net, deadline, v1::AGAINST);
  auto vote = [&](int i, v1::Choice c, std::int64_t ts = 0) { return VoteOn(net, p, i, c, ts); };
  ASSERT_TRUE(net.RunUntil([&] { return Now() > deadline + 20; }, 5s));
  seal(3, deadline, *early);  // 1 ms after the deadline, as it were: covers none of the round
  ASSERT_TRUE(FinalEverywhere(net, p));
  for (int i = 0; i < kNodes; ++i) {
    const auto r = TallyAt(net, i);
    const auto o = Outcome(r, p);
    ASSERT_TRUE(o) << "node " << i;
    EXPECT_EQ(o->status, decide::Status::kFunded) << "node " << i;
    EXPECT_EQ(o->explanation.for_count, 2u) << "node " << i << ": the early seal excluded votes";
    EXPECT_EQ(o->explanation.against_count, 1u) << "node " << i;
    EXPECT_EQ(o->explanation.seals->counting.size(), 4u) << "node " << i;
    EXPECT_TRUE(r.alerts.empty());
  }

  // Node 4, which has not sealed: a vote against backdated before the deadline (counted, it would
  // tie the vote), then a seal naming what node 3 held early (plus its own log, up to the vote).
  // Node 3 seals again, naming everything: only a member's first seal counts.
  const EventId late = vote(4, v1::AGAINST, deadline - 100);
  seal(4, deadline, *early);
  auto now = net.member(3).session->replica().events().Vector();
  ASSERT_TRUE(now);
  seal(3, deadline, *now);
  ExpectFinalFundedWithOneAlert(net, p, {late});
  for (int i = 0; i < kNodes; ++i) {
    const auto r = TallyAt(net, i);
    EXPECT_EQ(r.alerts[0].events, std::vector<EventId>{late}) << "node " << i;
    EXPECT_EQ(Outcome(r, p)->explanation.against_count, 1u) << "node " << i;
    EXPECT_EQ(Outcome(r, p)->explanation.seals->counting.size(), 5u) << "node " << i;
  }
}

// Issue 13: "Finality survives forks", across five running nodes. Member 4's vote decides the
// round; once the round is final everywhere, member 4's key signs a second version of its next
// seq (a copied key on another machine) while its node writes the first. Every node learns of
// the fork, and the round stays final with the same outcome, member 4's vote still counted (no
// seal had seen a fork).
TEST(Finality, AForkAfterTheRoundIsFinalChangesNothingOnAnyNode) {
  Network net(kNodes, 3, 13);
  ASSERT_TRUE(StartNodes(net, 3));
  const std::int64_t deadline = Now() + 1500;
  const EventId p = ProposeTools(net, deadline);
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual(kAll); }, 20s));
  VoteOn(net, p, 0, v1::FOR);
  VoteOn(net, p, 1, v1::AGAINST);
  VoteOn(net, p, 4, v1::FOR);  // without it: 1 for, 1 against
  ASSERT_TRUE(FinalEverywhere(net, p));
  const auto before = *Outcome(TallyAt(net, 0), p);
  ASSERT_EQ(before.status, decide::Status::kFunded);

  auto& replica4 = net.member(4).session->replica();
  const auto& key4 = net.member(4).session->key();
  const auto head = replica4.events().VectorOf(key4.public_key());
  ASSERT_TRUE(head);
  v1::EventBody other;
  other.set_circle_id(replica4.circle()->str());
  other.set_author(key4.public_key().str());
  other.set_seq(head->seq + 1);
  other.set_prev(head->id.str());
  other.set_timestamp_ms(Now());
  other.mutable_comment()->set_text("from the other laptop");
  const Bytes copy = rulebook::Sign(key4, other);
  ASSERT_TRUE(net.member(0).session->replica().IngestOne(copy, storage::IngestOptions{Now()}));
  net.member(0).node->syncer().OnLocalEvent(copy, key4.public_key(), head->seq + 1);
  Author(net, 4, [](v1::EventBody& b) { b.mutable_comment()->set_text("from this laptop"); });

  auto forked_everywhere = [&] {
    for (int i = 0; i < kNodes; ++i) {
      if (net.member(i).session->replica().events().Counts()->forked_authors != 1) return false;
    }
    return net.VectorsEqual(kAll);
  };
  ASSERT_TRUE(net.RunUntil(forked_everywhere, 20s)) << "the fork did not reach every node";
  const Digest32 digest = net.StateDigest(0);
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(net.StateDigest(i), digest);
    const auto st = app::LoadCircleState(net.member(i).session->replica());
    ASSERT_TRUE(st);
    ASSERT_TRUE(st->FindMember(key4.public_key())->forked()) << "node " << i;
    const auto o = Outcome(decide::Tally(*st, Now()), p);
    ASSERT_TRUE(o) << "node " << i;
    EXPECT_EQ(o->finality, decide::Finality::kFinal) << "node " << i;
    EXPECT_EQ(o->status, decide::Status::kFunded) << "node " << i;
    EXPECT_EQ(o->explanation.for_count, before.explanation.for_count) << "node " << i;
  }
}

// A round of more authors than one seal event holds (issue 14: circles of 10,000 members): the
// node seals it in parts at consecutive seqs, and they count as its member's one seal, naming
// every author. Before, the node logged that it could not seal and did not.
TEST(Finality, ANodeSealsARoundOfMoreAuthorsThanOneSealHoldsInParts) {
  Network net(2, 1, 39);
  app::NodeConfig cfg;
  cfg.seal_grace = 300ms;
  cfg.seal_check = 100ms;
  cfg.seal_spread = 0ms;  // the founder seals first, whatever its place in line
  net.Start(0, {}, cfg);
  // Member 1 (admitted by the founder) admits 849 keys, each of which then writes a comment:
  // 851 authors with events, more than the 800 one seal event lists.
  const crypto::SigningKey& hub = net.member(1).session->key();
  std::vector<Bytes> batch;
  std::uint64_t hub_seq = 0;
  std::string hub_prev;
  const std::int64_t now = app::NowMs();
  const auto sign = [&](const crypto::SigningKey& key, std::uint64_t seq, const std::string& prev,
                        const std::function<void(v1::EventBody&)>& fill) {
    v1::EventBody b;
    b.set_circle_id(net.circle().str());
    b.set_author(key.public_key().str());
    b.set_seq(seq);
    b.set_prev(prev);
    b.set_timestamp_ms(now);
    fill(b);
    EventId id;
    batch.push_back(rulebook::Sign(key, b, &id));
    return id.str();
  };
  std::vector<crypto::SigningKey> keys;
  for (int i = 0; i < 849; ++i) {
    keys.push_back(crypto::SigningKey::Generate());
    hub_prev = sign(hub, ++hub_seq, hub_prev, [&](v1::EventBody& b) {
      b.mutable_admit()->set_member(keys.back().public_key().str());
      b.mutable_admit()->mutable_info()->set_name("k" + std::to_string(i));
      b.mutable_admit()->mutable_info()->set_organisation("org0");
    });
  }
  for (const auto& k : keys) {
    sign(k, 1, "", [](v1::EventBody& b) { b.mutable_comment()->set_text("here"); });
  }
  auto& replica = net.member(0).session->replica();
  auto stored = replica.Ingest(batch, storage::IngestOptions{app::NowMs()});
  ASSERT_TRUE(stored) << stored.error().message;
  const std::int64_t deadline = app::NowMs() + 1'000;
  Author(net, 0, [&](v1::EventBody& b) {
    b.mutable_proposal()->set_title("tools");
    b.mutable_proposal()->set_amount_minor(100);
    b.mutable_proposal()->set_deadline_ms(deadline);
  });
  const MemberKey founder = net.member(0).session->key().public_key();
  std::optional<decide::CircleState> st;
  ASSERT_TRUE(net.RunUntil(
      [&] {
        auto s = app::LoadCircleState(replica);
        if (!s) return false;
        for (const auto& seal : s->seals) {
          if (seal.author == founder && seal.deadline_ms == deadline) {
            st = std::move(*s);
            return true;
          }
        }
        return false;
      },
      20s));
  const decide::SealRecord* seal = nullptr;
  for (const auto& s : st->seals) {
    if (s.author == founder && s.deadline_ms == deadline) seal = &s;
  }
  ASSERT_NE(seal, nullptr);
  EXPECT_EQ(seal->heads.size(), 851u);  // founder, member 1 and the 849 (the seal's own log too)
  const auto tally = decide::Tally(*st, deadline + 60'000);
  ASSERT_EQ(tally.rounds.size(), 1u);
  EXPECT_EQ(tally.rounds[0].seals.counting, std::vector<MemberKey>{founder});
}

// Issue 14, late flags: a blocking flag raised within the charter's window (here 3 s) before the
// deadline moves the proposal's decision to the deadline + 3 s. The nodes seal both rounds by
// themselves; the proposer answers the flag after the first deadline and two members accept, so
// every node shows the proposal funded and final at its new deadline, with one digest.
TEST(Finality, NodesSealTheRoundALateFlagMovedAProposalTo) {
  constexpr std::int64_t kWindow = 3000;
  Network net(kNodes, 3, 23, 0, 1, kWindow);
  ASSERT_TRUE(StartNodes(net, kNodes));
  const std::int64_t deadline = Now() + 2000;
  const EventId p = ProposeAndVote(net, deadline, v1::FOR);
  const EventId flag = Author(net, 3, [&](v1::EventBody& b) {
    b.mutable_risk_flag()->set_proposal(p.str());
    b.mutable_risk_flag()->set_severity(v1::HIGH);
    b.mutable_risk_flag()->set_category("finance");
    b.mutable_risk_flag()->set_rationale("no quote yet");
  });
  // Past the first deadline every node shows it moved, and open.
  ASSERT_TRUE(net.RunUntil(
      [&] {
        if (!net.VectorsEqual(kAll) || Now() <= deadline) return false;
        for (int i = 0; i < kNodes; ++i) {
          const auto o = Outcome(TallyAt(net, i), p);
          if (!o || o->explanation.moved_from_ms != deadline ||
              o->status != decide::Status::kOpen) {
            return false;
          }
        }
        return true;
      },
      20s));
  Author(net, 1, [&](v1::EventBody& b) {
    b.mutable_flag_resolution()->set_flag(flag.str());
    b.mutable_flag_resolution()->set_kind(v1::FlagResolution::ANSWER);
    b.mutable_flag_resolution()->set_mitigation("quote attached");
  });
  for (int i : {0, 2}) {
    Author(net, i, [&](v1::EventBody& b) { b.mutable_endorsement()->set_proposal(p.str()); });
  }
  ASSERT_TRUE(FinalEverywhere(net, p));
  const Digest32 digest = net.StateDigest(0);
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(net.StateDigest(i), digest);
    const auto r = TallyAt(net, i);
    const auto o = Outcome(r, p);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->status, decide::Status::kFunded) << "node " << i;
    EXPECT_EQ(o->explanation.deadline_ms, deadline + kWindow);
    ASSERT_EQ(r.rounds.size(), 2u);
    EXPECT_EQ(r.rounds[0].finality, decide::Finality::kFinal);
    EXPECT_EQ(r.rounds[1].deadline_ms, deadline + kWindow);
    EXPECT_GE(r.rounds[1].seals.counting.size(), 3u);
  }
}

// Seal bases (issue 14, scale): a node that holds another's seal for the round when it seals
// bases its own on it and lists only what it holds otherwise — nothing, here, so its seal is a
// few dozen bytes instead of one entry per author — and the round is final everywhere on them.
TEST(Finality, NodesBaseTheirSealsOnTheFirstAndTheRoundIsFinalOnThem) {
  Network net(kNodes, 3, 41);
  for (int i = 0; i < kNodes; ++i) {
    app::NodeConfig cfg;
    cfg.seal_grace = i == 0 ? 300ms : 2000ms;  // node 0 seals first; the others hold its seal
    cfg.seal_check = 100ms;
    std::vector<int> peers;
    for (int j = 0; j < i; ++j) peers.push_back(j);
    net.Start(i, peers, cfg);
  }
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual(kAll); }, 20s));
  const std::int64_t deadline = Now() + 1500;
  const EventId p = ProposeAndVote(net, deadline, v1::FOR);
  ASSERT_TRUE(FinalEverywhere(net, p));
  auto st = app::LoadCircleState(net.member(0).session->replica());
  ASSERT_TRUE(st);
  const MemberKey first = net.member(0).session->key().public_key();
  std::optional<EventId> base;
  std::size_t based = 0;
  for (const auto& seal : st->seals) {
    if (seal.deadline_ms != deadline) continue;
    if (seal.author == first) {
      EXPECT_FALSE(seal.base);
      EXPECT_EQ(seal.heads.size(), 3u) << "the authors of events by the deadline: members 0-2";
      base = seal.event;
    }
  }
  ASSERT_TRUE(base);
  for (const auto& seal : st->seals) {
    if (seal.deadline_ms != deadline || seal.author == first) continue;
    EXPECT_EQ(seal.base, base);
    EXPECT_TRUE(seal.heads.empty());
    ++based;
  }
  EXPECT_GE(based, 2u) << "a majority of five sealed";
  const Digest32 digest = net.StateDigest(0);
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(net.StateDigest(i), digest);
    EXPECT_EQ(Outcome(TallyAt(net, i), p)->status, decide::Status::kFunded);
  }
}

}  // namespace
}  // namespace polder::testing
