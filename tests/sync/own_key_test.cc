// One key on two machines (issue 13's early warning): a node that receives an event signed with
// its member's key that it did not write stops authoring with that key — its seals included —
// and says why, before it signs a second event at the same seq and forks its member's log.
// Before, the node signed on from whatever head the other machine's events gave it.
#include <filesystem>

#include <gtest/gtest.h>

#include "storage/rulebook/sign.h"
#include "tests/sync/harness.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

TEST(OwnKey, ANodeThatReceivesAnEventOfItsKeyItDidNotWriteStopsWriting) {
  Network net(3, 3, 41);
  // Member 1's key is also on "another machine", which signs member 1's seq 1; member 0 holds it.
  const auto& key = net.member(1).session->key();
  v1::EventBody b;
  b.set_circle_id(net.circle().str());
  b.set_author(key.public_key().str());
  b.set_seq(1);
  b.set_timestamp_ms(app::NowMs());
  b.mutable_comment()->set_text("from the laptop");
  const Bytes elsewhere = rulebook::Sign(key, b);
  auto in =
      net.member(0).session->replica().IngestOne(elsewhere, storage::IngestOptions{app::NowMs()});
  ASSERT_TRUE(in.has_value());
  ASSERT_EQ(in->outcome, storage::Outcome::kApplied);

  net.Start(0, {});
  net.Start(1, {0});
  auto& replica = net.member(1).session->replica();
  ASSERT_TRUE(net.RunUntil(
      [&] { return replica.state().OwnLog(key.public_key())->max_seen_seq == 1; }, 10s));

  auto authored = net.member(1).node->Author(
      [](v1::EventBody& e) { e.mutable_comment()->set_text("from the desk"); });
  ASSERT_FALSE(authored.has_value()) << "signed seq " << authored->seq;
  EXPECT_NE(authored.error().message.find("another machine"), std::string::npos)
      << authored.error().message;
  bool warned = false;
  for (const auto& w : net.member(1).session->Warnings()) {
    warned |= w.find("Never copy identity.key") != std::string::npos;
  }
  EXPECT_TRUE(warned);
  EXPECT_EQ(replica.events().Counts()->forked_authors, 0u);
  EXPECT_EQ(replica.state().OwnLog(key.public_key())->head_seq, 1u);
}

// Issue 13's scenario across running nodes: Ana (0) founds, Ben (1) proposes "Trees", Cy (2)
// votes for it and comments; Ben's laptop (3: a home where Ben copied his identity.key) wrote its
// own seq 1 before it saw Ben's events. When the laptop's node joins, Ben's log forks: "Trees"
// counts for nothing, Cy's vote awaits, every replica ends with one digest, and Cy (and Ana) keep
// writing. Before rules version 2, Cy's vote and everything after it stayed pending for ever; and
// until this test, Cy's vote on a proposal her node did not hold yet was reported written (seq 4)
// and lost (IngestTest.AnAuthoredEventThatAwaitsIsStoredAndMadeDurable).
TEST(OwnKey, ACopiedKeyForksOnlyItsOwnerAcrossRunningNodes) {
  Network net(4, 3, 42, /*strangers=*/1);
  const auto& ben = net.member(1).session->key();
  // The laptop: member 3's home with Ben's key, holding the circle as Ana's node had it.
  std::filesystem::copy_file(net.member(1).dir / "identity.key", net.member(3).dir / "identity.key",
                             std::filesystem::copy_options::overwrite_existing);
  net.Reopen(3);
  ASSERT_EQ(net.member(3).session->key().public_key(), ben.public_key());
  ASSERT_TRUE(net.member(0)
                  .session->replica()
                  .events()
                  .ForEachEvent([&](ByteView ev) -> Status {
                    auto r = net.member(3).session->replica().IngestOne(
                        Bytes(ev.begin(), ev.end()), storage::IngestOptions{app::NowMs()});
                    if (!r) return Unexpected<Error>{r.error()};
                    return {};
                  })
                  .has_value());
  auto laptop = net.member(3).session->Author(
      [](v1::EventBody& b) { b.mutable_comment()->set_text("from the laptop"); });
  ASSERT_TRUE(laptop.has_value()) << laptop.error().message;
  ASSERT_EQ(laptop->seq, 1u);

  app::NodeConfig cfg;
  cfg.backoff_max = std::chrono::milliseconds(300);
  net.Start(0, {}, cfg);
  net.Start(1, {0}, cfg);
  net.Start(2, {0}, cfg);
  ASSERT_TRUE(net.RunUntil(
      [&] {
        return net.member(1).session->replica().state().IsMember(ben.public_key()) &&
               net.member(2).session->replica().state().IsMember(
                   net.member(2).session->key().public_key());
      },
      10s));
  auto trees = net.member(1).node->Author([](v1::EventBody& b) {
    b.mutable_proposal()->set_title("Trees");
    b.mutable_proposal()->set_amount_minor(300'000);
    b.mutable_proposal()->set_deadline_ms(b.timestamp_ms() + 86'400'000);
  });
  ASSERT_TRUE(trees.has_value()) << trees.error().message;
  ASSERT_EQ(trees->seq, 1u);
  auto& cy = *net.member(2).node;
  ASSERT_TRUE(net.RunUntil(
      [&] {
        return net.member(2)
            .session->replica()
            .state()
            .ResolvePrefix(trees->id.hex(), "proposal")
            .has_value();
      },
      10s));
  auto vote = cy.Author([&](v1::EventBody& b) {
    b.mutable_vote()->set_proposal(trees->id.str());
    b.mutable_vote()->set_choice(v1::FOR);
  });
  ASSERT_TRUE(vote.has_value()) << vote.error().message;
  ASSERT_TRUE(cy.Author([&](v1::EventBody& b) {
                  b.mutable_comment()->set_text("count me in");
                  b.mutable_comment()->set_target(trees->id.str());
                }).has_value());

  // The laptop's node comes online.
  net.Start(3, {0, 2}, cfg);
  auto forked = [&](int i) {
    return net.member(i).session->replica().events().Counts()->forked_authors == 1;
  };
  ASSERT_TRUE(net.RunUntil([&] { return forked(0) && forked(1) && forked(2) && forked(3); }, 20s));

  // Cy keeps writing; so does Ana, on a proposal of her own.
  auto later = cy.Author([](v1::EventBody& b) { b.mutable_comment()->set_text("still here"); });
  ASSERT_TRUE(later.has_value()) << later.error().message;
  auto ana = net.member(0).node->Author([](v1::EventBody& b) {
    b.mutable_proposal()->set_title("Benches");
    b.mutable_proposal()->set_amount_minor(100'000);
    b.mutable_proposal()->set_deadline_ms(b.timestamp_ms() + 86'400'000);
  });
  ASSERT_TRUE(ana.has_value()) << ana.error().message;
  auto on_benches = cy.Author([&](v1::EventBody& b) {
    b.mutable_vote()->set_proposal(ana->id.str());
    b.mutable_vote()->set_choice(v1::FOR);
  });
  ASSERT_TRUE(on_benches.has_value()) << on_benches.error().message;
  const auto cy_key = net.member(2).session->key().public_key();
  ASSERT_TRUE(net.RunUntil(
      [&] {
        for (int i = 0; i < 4; ++i) {
          if (net.member(i).session->replica().state().OwnLog(cy_key)->head_seq < 4) return false;
        }
        const auto d = net.StateDigest(0);
        return net.StateDigest(1) == d && net.StateDigest(2) == d && net.StateDigest(3) == d;
      },
      20s))
      << [&] {
           std::string o;
           for (int i = 0; i < 4; ++i) {
             auto& r = net.member(i).session->replica();
             auto c = *r.events().Counts();
             o += std::to_string(i) + ": cy head " +
                  std::to_string(r.state().OwnLog(cy_key)->head_seq) + " events " +
                  std::to_string(c.events) + " applied " + std::to_string(c.applied) + " pending " +
                  std::to_string(c.pending) + " frozen " + std::to_string(c.frozen) + " awaiting " +
                  std::to_string(c.awaiting) + " peers " +
                  std::to_string(net.member(i).node->ready_peers()) + " digest " +
                  net.StateDigest(i).hex().substr(0, 8) + "\n";
           }
           return o;
         }();

  // Where the rules put them: "Trees" is past Ben's fork, Cy's vote and comment on it await, Cy's
  // log is whole and nothing of anybody is pending.
  for (int i = 0; i < 4; ++i) {
    auto& r = net.member(i).session->replica();
    EXPECT_FALSE(r.state().ResolvePrefix(trees->id.hex(), "proposal").has_value()) << i;
    EXPECT_EQ(r.events().Counts()->pending, 0u) << i;
    EXPECT_EQ(r.events().Counts()->awaiting, 2u) << i;
    EXPECT_EQ(r.state().OwnLog(cy_key)->head_seq, 4u) << i;
    auto benches = r.views().Proposal(ana->id);
    ASSERT_TRUE(benches.has_value()) << i;
    EXPECT_EQ(benches->proposal.votes_for, 1u) << i;
  }
  auto mine = net.member(2).session->replica().events().AwaitingOf(cy_key, 10);
  ASSERT_TRUE(mine.has_value());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].id, vote->id);
  EXPECT_EQ((*mine)[0].why, storage::AwaitingEvent::Why::kFrozen);
}

}  // namespace
}  // namespace polder::testing
