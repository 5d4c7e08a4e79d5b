// Several devices, one member, across running nodes (issue 13): Ben's node links a laptop with a
// key of its own; the laptop's node is accepted by Ben's, catches up, and its vote — after the
// claim it writes first — counts as Ben's on every node; once Ben revokes it, what it writes
// next counts for nothing; every replica ends on one digest.
#include <gtest/gtest.h>

#include "node/app/circle_state.h"
#include "tests/sync/harness.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

const decide::VoteRecord* VoteOf(Network& net, int i, const EventId& proposal) {
  static decide::CircleState st;
  st = *app::LoadCircleState(net.member(i).session->replica());
  const auto* p = st.FindProposal(proposal);
  if (!p || p->votes.empty()) return nullptr;
  return &p->votes.back();
}

TEST(DeviceSync, ALinkedDeviceVotesForItsMemberUntilRevoked) {
  Network net(3, 3, 44, /*strangers=*/1);  // Ana (0), Ben (1); home 2 is Ben's laptop
  app::NodeConfig cfg;
  cfg.backoff_max = std::chrono::milliseconds(300);
  net.Start(0, {}, cfg);
  net.Start(1, {0}, cfg);
  const MemberKey ben = net.member(1).session->key().public_key();
  const MemberKey laptop = net.member(2).session->key().public_key();
  ASSERT_TRUE(
      net.RunUntil([&] { return net.member(1).session->replica().state().IsMember(ben); }, 10s));
  auto link = net.member(1).node->Author(
      [&](v1::EventBody& b) { b.mutable_device_link()->set_device(laptop.str()); });
  ASSERT_TRUE(link.has_value()) << link.error().message;
  auto trees = net.member(0).node->Author([](v1::EventBody& b) {
    b.mutable_proposal()->set_title("Trees");
    b.mutable_proposal()->set_amount_minor(300'000);
    b.mutable_proposal()->set_deadline_ms(b.timestamp_ms() + 86'400'000);
  });
  ASSERT_TRUE(trees.has_value()) << trees.error().message;

  // The laptop's node dials Ben's: accepted as a device Ben linked, though not a member.
  net.Start(2, {1}, cfg);
  auto& at_laptop = net.member(2).session->replica();
  ASSERT_TRUE(net.RunUntil(
      [&] {
        return at_laptop.state().LinkedBy(laptop) == ben &&
               at_laptop.state().ResolvePrefix(trees->id.hex(), "proposal").has_value();
      },
      10s));
  EXPECT_FALSE(at_laptop.state().IsMember(laptop));
  auto vote = net.member(2).node->Author([&](v1::EventBody& b) {
    b.mutable_vote()->set_proposal(trees->id.str());
    b.mutable_vote()->set_choice(v1::FOR);
  });
  ASSERT_TRUE(vote.has_value()) << vote.error().message;
  EXPECT_EQ(vote->seq, 2u);  // the claim first
  ASSERT_TRUE(net.RunUntil(
      [&] {
        const auto* v = VoteOf(net, 0, trees->id);
        return v && v->voter == ben && v->device == laptop;
      },
      10s))
      << [&] {
           std::string o;
           for (int i = 0; i < 3; ++i) {
             auto& r = net.member(i).session->replica();
             auto c = *r.events().Counts();
             o += std::to_string(i) + ": laptop seen " +
                  std::to_string(r.state().OwnLog(laptop)->max_seen_seq) + " head " +
                  std::to_string(r.state().OwnLog(laptop)->head_seq) + " events " +
                  std::to_string(c.events) + " pending " + std::to_string(c.pending) + " peers " +
                  std::to_string(net.member(i).node->ready_peers()) + "\n";
           }
           return o;
         }();

  // Lost: Ben revokes it after seq 2. The laptop's next vote reaches Ana's node and counts for
  // nothing there.
  auto revoke = net.member(1).node->Author([&](v1::EventBody& b) {
    b.mutable_device_link()->set_device(laptop.str());
    b.mutable_device_link()->set_revoke(true);
    b.mutable_device_link()->set_last_seq(2);
  });
  ASSERT_TRUE(revoke.has_value()) << revoke.error().message;
  auto stolen = net.member(2).node->Author([&](v1::EventBody& b) {
    b.mutable_vote()->set_proposal(trees->id.str());
    b.mutable_vote()->set_choice(v1::AGAINST);
  });
  ASSERT_TRUE(stolen.has_value()) << stolen.error().message;
  ASSERT_TRUE(net.RunUntil(
      [&] {
        for (int i = 0; i < 3; ++i) {
          if (net.member(i).session->replica().state().OwnLog(laptop)->max_seen_seq < 3) {
            return false;
          }
          const auto devices = net.member(i).session->replica().state().DevicesOf(ben);
          if (!devices || devices->empty() || !devices->front().revoked_after) return false;
        }
        const auto d = net.StateDigest(0);
        return net.StateDigest(1) == d && net.StateDigest(2) == d;
      },
      20s));
  for (int i = 0; i < 3; ++i) {
    const auto* v = VoteOf(net, i, trees->id);
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(v->choice, v1::FOR) << i;
    EXPECT_EQ(v->event, vote->id) << i;
  }
}

}  // namespace
}  // namespace polder::testing
