// Fold must count exactly the events the replica applies: the same signed circle (with a
// stranger, void events, an event beyond a gap and an equivocating member) is ingested into a
// Replica and folded, in random orders, and the derived facts are compared.
#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <unistd.h>

#include "crypto/member_id.h"
#include "node/decide/fold.h"
#include "node/decide/tally.h"
#include "storage/replica.h"
#include "storage/rulebook/decode.h"
#include "tests/testutil/circle.h"

namespace polder::decide {
namespace {

using testutil::TestCircle;

// `extra`: events to add to the circle's (the other side of a fork); `lost`: events to leave out
// of it (so the next event of their author is beyond a gap).
TestCircle Circle(std::uint32_t seed, std::vector<Bytes>* extra, Bytes* lost) {
  TestCircle c("Org A");
  std::mt19937 rng(seed);
  std::vector<int> m = {0};
  const char* orgs[] = {"Org A", "Org B", "Org C"};
  for (int i = 1; i < 8; ++i) {
    m.push_back(c.Admit(m[rng() % m.size()], "Member " + std::to_string(i), orgs[i % 3]));
  }
  std::vector<EventId> proposals;
  std::vector<int> proposer;
  std::vector<std::pair<EventId, int>> flags;  // flag, flagger
  for (int round = 0; round < 80; ++round) {
    const int who = m[rng() % m.size()];
    c.Advance(1000);
    switch (proposals.empty() ? 0 : rng() % 9) {
      case 0:
        proposals.push_back(c.Propose(who, "P" + std::to_string(round), 1000 + rng() % 5000));
        proposer.push_back(who);
        break;
      case 1:
      case 2:
        c.Vote(who, proposals[rng() % proposals.size()], static_cast<v1::Choice>(1 + rng() % 3));
        break;
      case 3: {
        const auto i = rng() % proposals.size();
        flags.emplace_back(c.Flag(who, proposals[i], static_cast<v1::Severity>(1 + rng() % 5)),
                           who);
        break;
      }
      case 4:
        // Withdrawn by its flagger, or "withdrawn" by someone else (void).
        if (!flags.empty()) {
          const auto& [f, flagger] = flags[rng() % flags.size()];
          c.Resolve(rng() % 2 ? flagger : who, f, v1::FlagResolution::WITHDRAW);
        }
        break;
      case 5: c.Endorse(who, proposals[rng() % proposals.size()]); break;
      case 6: {
        const int to = m[rng() % m.size()];
        if (to != who) c.Delegate(who, to, round % 2 ? "parks" : "");
        break;
      }
      case 7: {
        // Withdrawing a proposal: valid only for its author.
        const auto i = rng() % proposals.size();
        c.Withdraw(rng() % 2 ? proposer[i] : who, proposals[i]);
        break;
      }
      case 8: c.Comment(who, "note"); break;
    }
  }
  // A stranger votes; member 4 has an event beyond a gap; member 5 equivocates.
  const int stranger = c.Stranger();
  c.Vote(stranger, proposals[0], v1::FOR);
  *lost = c.Next(m[4], [](v1::EventBody& b) { b.mutable_comment()->set_text("lost"); });
  c.Vote(m[4], proposals[0], v1::AGAINST);
  extra->push_back(c.Next(
      m[5], [](v1::EventBody& b) { b.mutable_comment()->set_text("fork A"); }, nullptr, false));
  c.Vote(m[5], proposals[0], v1::FOR);
  return c;
}

// What a node holding every event of `c` so far names in a seal: each author's last seq and id.
std::map<std::string, std::pair<std::uint64_t, EventId>> HeadsOf(const TestCircle& c,
                                                                 std::int64_t now) {
  std::map<std::string, std::pair<std::uint64_t, EventId>> out;
  for (const auto& bytes : c.events()) {
    const auto d = rulebook::Decode(bytes, now);
    auto& h = out[d->body.author()];
    if (d->body.seq() > h.first) h = {d->body.seq(), d->id};
  }
  return out;
}

// `who` seals the round `deadline`, naming `heads`.
void SealNaming(TestCircle& c, int who, std::int64_t deadline,
                const std::map<std::string, std::pair<std::uint64_t, EventId>>& heads) {
  c.Next(who, [&](v1::EventBody& b) {
    b.mutable_seal()->set_deadline_ms(deadline);
    for (const auto& [author, h] : heads) {
      auto* e = b.mutable_seal()->add_heads();
      e->set_author(author);
      e->set_seq(h.first);
      e->set_head(h.second.str());
    }
  });
}

class FoldReplicaTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& d : dirs_) std::filesystem::remove_all(d);
  }
  std::unique_ptr<storage::Replica> NewReplica(int i) {
    auto d = std::filesystem::temp_directory_path() /
             ("polder-fold-" + std::to_string(::getpid()) + "-" + std::to_string(i));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    dirs_.push_back(d);
    auto r = storage::Replica::Open(d / "r.sqlite3");
    EXPECT_TRUE(r.has_value());
    return std::move(*r);
  }
  // `events` received by fresh replicas in 100 shuffled orders, one at a time: each holds them
  // all and its events tally as `want`. `first_dir`: numbers the replicas' directories.
  void ExpectEveryOrderTalliesAs(const CircleId& circle, const std::vector<Bytes>& events,
                                 std::int64_t as_of, const TallyResult& want, int first_dir) {
    std::mt19937 rng(static_cast<std::uint32_t>(first_dir));
    for (int order = 0; order < 100; ++order) {
      std::vector<Bytes> all = events;
      std::shuffle(all.begin(), all.end(), rng);
      auto rep = NewReplica(first_dir + order);
      ASSERT_TRUE(rep->SetCircle(circle).has_value());
      for (const auto& bytes : all) {
        const std::vector<Bytes> one{bytes};
        ASSERT_TRUE(rep->Ingest(one, storage::IngestOptions{as_of}).has_value());
      }
      std::vector<FoldEvent> held;
      ASSERT_TRUE(
          rep->events().ForEachBody([&](const EventId& id, ByteView body) -> polder::Status {
            FoldEvent e{id, {}};
            EXPECT_TRUE(e.body.ParseFromArray(body.data(), static_cast<int>(body.size())));
            held.push_back(std::move(e));
            return {};
          }));
      EXPECT_EQ(held.size(), events.size()) << "order " << order;
      ASSERT_EQ(Tally(Fold(held), as_of), want) << "order " << order;
    }
  }

  std::vector<std::filesystem::path> dirs_;
};

TEST_F(FoldReplicaTest, FoldCountsWhatTheReplicaApplies) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    std::vector<Bytes> extra;
    Bytes lost;
    const TestCircle c = Circle(seed, &extra, &lost);
    std::vector<Bytes> all = c.events();
    all.erase(std::remove(all.begin(), all.end(), lost), all.end());
    all.insert(all.end(), extra.begin(), extra.end());
    std::mt19937 rng(seed);
    std::shuffle(all.begin(), all.end(), rng);
    const std::int64_t now = c.now() + 1000;

    auto rep = NewReplica(static_cast<int>(seed));
    ASSERT_TRUE(rep->SetCircle(c.circle()).has_value());
    ASSERT_TRUE(rep->Ingest(all, storage::IngestOptions{now}).has_value());

    std::vector<FoldEvent> evs;
    for (const auto& bytes : all) {
      auto d = rulebook::Decode(bytes, now);
      ASSERT_TRUE(d.has_value());
      evs.push_back({d->id, d->body});
    }
    const CircleState st = Fold(evs);
    std::set<Ignored> reasons;
    for (const auto& i : st.ignored) reasons.insert(i.reason);
    EXPECT_EQ(reasons, (std::set<Ignored>{Ignored::kNotMember, Ignored::kPending, Ignored::kForked,
                                          Ignored::kVoid}));

    // Members, organisations and forks.
    auto members = rep->views().Members();
    ASSERT_TRUE(members.has_value());
    ASSERT_EQ(members->size(), st.members.size());
    int forked = 0;
    for (const auto& mv : *members) {
      const Member* m = st.FindMember(mv.key);
      ASSERT_NE(m, nullptr) << mv.name;
      EXPECT_EQ(m->name, mv.name);
      EXPECT_EQ(m->organisation, mv.organisation);
      EXPECT_EQ(m->forked(), mv.forked);
      forked += mv.forked;
    }
    EXPECT_EQ(forked, 1);

    // Proposals: latest vote per member, endorsers, flags not withdrawn, withdrawal.
    auto proposals = rep->views().Proposals();
    ASSERT_TRUE(proposals.has_value());
    ASSERT_EQ(proposals->size(), st.proposals.size());
    for (const auto& pv : *proposals) {
      const ProposalRecord* p = st.FindProposal(pv.id);
      ASSERT_NE(p, nullptr);
      std::map<MemberKey, v1::Choice> latest;
      for (const auto& v : p->votes) latest[v.voter] = v.choice;  // sorted by (voter, seq)
      std::map<v1::Choice, std::uint32_t> counts;
      for (const auto& [k, choice] : latest) ++counts[choice];
      EXPECT_EQ(counts[v1::FOR], pv.votes_for) << pv.title;
      EXPECT_EQ(counts[v1::AGAINST], pv.votes_against) << pv.title;
      EXPECT_EQ(counts[v1::ABSTAIN], pv.votes_abstain) << pv.title;
      std::set<MemberKey> endorsers;
      for (const auto& e : p->endorsements) endorsers.insert(e.member);
      EXPECT_EQ(endorsers.size(), pv.endorsements) << pv.title;
      std::uint32_t open = 0;
      for (const auto& f : p->flags) {
        open += std::none_of(f.resolutions.begin(), f.resolutions.end(),
                             [](const auto& r) { return r.kind == v1::FlagResolution::WITHDRAW; });
      }
      EXPECT_EQ(open, pv.open_flags) << pv.title;
      EXPECT_EQ(p->withdrawn_ms.has_value(), pv.withdrawn) << pv.title;
    }
  }
}

// A sealed round through replicas: an early seal holding none of the round, three honest seals,
// then — after the round is sealed — a vote backdated before the deadline and a seal hiding what
// it covers. Received one event at a time in 100 orders, every replica holds an event set whose
// tally is the fold's: the round final and funded, the backdated vote left out with an alert.
TEST_F(FoldReplicaTest, ASealedRoundIsTheSameWhateverOrderTheReplicaReceivesItsEvents) {
  TestCircle c("Org A");
  for (int i = 1; i < 5; ++i) c.Admit(0, "Member " + std::to_string(i), i % 2 ? "Org A" : "Org B");
  const std::int64_t later = c.now() + 1'000'000;
  auto decode = [&](const Bytes& bytes) { return *rulebook::Decode(bytes, later); };
  auto heads = [&] { return HeadsOf(c, later); };
  auto seal = [&](int who, std::int64_t deadline, const auto& named) {
    SealNaming(c, who, deadline, named);
  };
  const auto nothing = heads();
  const EventId p = c.Propose(1, "Tools", 100, 10'000);
  const std::int64_t deadline = decode(c.events().back()).body.proposal().deadline_ms();
  c.Vote(0, p, v1::FOR);
  c.Vote(1, p, v1::FOR);
  c.Vote(2, p, v1::AGAINST);
  c.Advance(20'000);
  seal(3, deadline, nothing);
  for (int i : {0, 1, 2}) seal(i, deadline, heads());
  EventId late;
  c.Next(
      4,
      [&](v1::EventBody& b) {
        b.set_timestamp_ms(deadline - 100);
        b.mutable_vote()->set_proposal(p.str());
        b.mutable_vote()->set_choice(v1::AGAINST);
      },
      &late);
  c.Advance(1000);
  seal(4, deadline, nothing);
  const std::int64_t as_of = c.now() + 1000;

  std::vector<FoldEvent> evs;
  for (const auto& bytes : c.events()) {
    const auto d = decode(bytes);
    evs.push_back({d.id, d.body});
  }
  const TallyResult want = Tally(Fold(evs), as_of);
  ASSERT_EQ(want.proposals.size(), 1u);
  EXPECT_EQ(want.proposals[0].finality, Finality::kFinal);
  EXPECT_EQ(want.proposals[0].status, Status::kFunded);
  EXPECT_EQ(want.proposals[0].explanation.seals->counting.size(), 5u);
  ASSERT_EQ(want.alerts.size(), 1u);
  EXPECT_EQ(want.alerts[0].events, std::vector<EventId>{late});

  ExpectEveryOrderTalliesAs(c.circle(), c.events(), as_of, want, 100);
}

// Issue 13: a member forks after the round is sealed (their last event, after the deadline, has a
// second version), and replicas receive the fork proof and everything else in 100 orders: the
// round stays final with the outcome it had, the forker's vote counted, on every replica.
TEST_F(FoldReplicaTest, AForkAfterTheRoundIsSealedChangesNothingWhateverTheOrder) {
  TestCircle c("Org A");
  for (int i = 1; i < 5; ++i) c.Admit(0, "Member " + std::to_string(i), "Org A");
  const std::int64_t later = c.now() + 1'000'000;
  const EventId p = c.Propose(1, "Tools", 100, 10'000);
  const std::int64_t deadline =
      rulebook::Decode(c.events().back(), later)->body.proposal().deadline_ms();
  c.Vote(0, p, v1::FOR);
  c.Vote(1, p, v1::AGAINST);
  c.Vote(4, p, v1::FOR);  // decides the round: without it, 1 for and 1 against
  c.Advance(20'000);
  // Member 4's next seq in two versions: one kept aside (another laptop), one written now.
  const Bytes other = c.Next(
      4, [](v1::EventBody& b) { b.mutable_comment()->set_text("from the other laptop"); }, nullptr,
      /*record=*/false);
  c.Next(4, [](v1::EventBody& b) { b.mutable_comment()->set_text("after the deadline"); });
  for (int i : {0, 1, 2}) SealNaming(c, i, deadline, HeadsOf(c, later));
  const std::int64_t as_of = c.now() + 1000;
  auto tally = [&](const std::vector<Bytes>& events) {
    std::vector<FoldEvent> evs;
    for (const auto& bytes : events) {
      const auto d = rulebook::Decode(bytes, later);
      evs.push_back({d->id, d->body});
    }
    return Tally(Fold(evs), as_of);
  };
  const TallyResult sealed = tally(c.events());
  ASSERT_EQ(sealed.proposals[0].finality, Finality::kFinal);
  ASSERT_EQ(sealed.proposals[0].status, Status::kFunded);

  std::vector<Bytes> all = c.events();
  all.push_back(other);
  const TallyResult want = tally(all);
  EXPECT_EQ(want.proposals, sealed.proposals) << "the fork changed the sealed round";
  ExpectEveryOrderTalliesAs(c.circle(), all, as_of, want, 300);
}

}  // namespace
}  // namespace polder::decide
