// Who may open a session (issue 13): only members, whatever the replica holds. A node that has
// not yet received its circle's events accepts the members who invited it and nobody else, and a
// founder's second charter neither changes anything nor opens the network to a stranger who holds
// the network key. Before, a replica without a charter accepted any holder of the network key.
#include <gtest/gtest.h>

#include "crypto/identity.h"
#include "crypto/member_id.h"
#include "node/app/circle_state.h"
#include "node/decide/tally.h"
#include "storage/rulebook/sign.h"
#include "tests/sync/harness.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

std::uint64_t Events(Network& net, int i) {
  return net.member(i).session->replica().events().Counts()->events;
}

// Member 2 is a stranger with the network key and the circle id; member 1 is admitted but its
// replica is still empty.
TEST(SessionMembership, ANodeWithoutItsCircleYetAcceptsOnlyItsInviters) {
  Network net(3, 3, 31, /*strangers=*/1);
  app::NodeConfig cfg;
  cfg.backoff_max = 300ms;
  net.Start(1, {});
  net.Start(2, {1}, cfg);
  net.RunFor(1500ms);
  EXPECT_EQ(net.member(1).node->ready_peers(), 0u) << "the stranger got a session";
  EXPECT_EQ(Events(net, 2), 0u);

  // The founder (who invited member 1) is accepted, and member 1 receives the circle.
  net.Start(0, {1}, cfg);
  ASSERT_TRUE(net.RunUntil(
      [&] { return net.member(1).session->replica().state().Charter().has_value(); }, 10s));
  net.RunFor(1500ms);  // the stranger keeps dialing member 1 (and now the founder)
  EXPECT_EQ(net.member(1).node->ready_peers(), 1u);
  EXPECT_EQ(net.member(0).node->ready_peers(), 1u);
  EXPECT_EQ(Events(net, 2), 0u);
}

// Admitted is not eligible (issue 14): a member the founder alone admitted under the default
// two-organisation rule holds no session with any eligible member's node until a member of a
// second organisation admits them too; then it gets one and catches up. Before, one admission
// granted network access.
TEST(SessionMembership, OnlyEligibleMembersGetSessions) {
  // Members 0 (org0, founder) and 1 (org1, admitted while only org0 had a member) are eligible;
  // 2 (org2) and 3 (org0) were admitted by the founder alone: one organisation of the two needed.
  Network net(4, 3, 33, /*strangers=*/0, /*admission_orgs=*/2);
  auto& founder_replica = net.member(0).session->replica().state();
  for (int i : {2, 3}) {
    EXPECT_TRUE(founder_replica.IsMember(net.member(i).session->key().public_key())) << "admitted";
  }
  app::NodeConfig cfg;
  cfg.backoff_max = 300ms;
  cfg.access_check = 100ms;
  net.Start(0, {});
  net.Start(1, {0}, cfg);
  // Member 1's node holds the circle (a node without it trusts the members its join codes name,
  // which the harness makes everyone).
  ASSERT_TRUE(net.RunUntil([&] { return net.HasPeer(0, 1) && net.VectorsEqual({0, 1}); }, 10s));
  net.Start(2, {0, 1}, cfg);
  net.Start(3, {0, 1}, cfg);
  net.RunFor(1500ms);  // 2 and 3 keep dialing 0 and 1
  for (int i : {0, 1}) {
    for (int j : {2, 3}) EXPECT_FALSE(net.HasPeer(i, j)) << i << " accepted " << j;
  }
  EXPECT_EQ(Events(net, 2), 0u);

  // Member 1 (org1) admits member 2 too: two organisations. Node 0 learns it, lets member 2 in,
  // and member 2 catches up; member 3 stays out. Member 1's clock runs two minutes fast (the gate
  // allows five): before, node 0 counted admissions up to its own now only, and kept member 2
  // out until its next forced refresh, five minutes later.
  auto admitted = net.member(1).node->Author([&](v1::EventBody& b) {
    b.set_timestamp_ms(b.timestamp_ms() + 2 * 60'000);
    b.mutable_admit()->set_member(net.member(2).session->key().public_key().str());
    b.mutable_admit()->mutable_info()->set_name("member2");
    b.mutable_admit()->mutable_info()->set_organisation("org2");
  });
  ASSERT_TRUE(admitted) << admitted.error().message;
  ASSERT_TRUE(net.RunUntil([&] { return net.HasPeer(0, 2) && net.VectorsEqual({0, 1, 2}); }, 10s));
  net.RunFor(1000ms);
  for (int i : {0, 1, 2}) EXPECT_FALSE(net.HasPeer(i, 3)) << i << " accepted 3";
  EXPECT_EQ(Events(net, 3), 0u);
}

// Removal over running nodes (issue 14): members 1 and 2 remove member 3, whose node is connected
// to every other. Its sessions close, it gets no session again, what it writes afterwards reaches
// no one, and the remaining nodes agree on one replica.
TEST(SessionMembership, ARemovedMembersSessionsCloseAndStayClosed) {
  Network net(4, 3, 34);
  app::NodeConfig cfg;
  cfg.backoff_max = 300ms;
  cfg.access_check = 100ms;
  net.StartAll({0, 1, 2, 3}, cfg);
  ASSERT_TRUE(net.RunUntil([&] { return net.Mesh({0, 1, 2, 3}); }, 15s));
  for (int i : {1, 2}) ASSERT_TRUE(net.Remove(i, 3));
  ASSERT_TRUE(net.RunUntil(
      [&] {
        return !net.HasPeer(0, 3) && !net.HasPeer(1, 3) && !net.HasPeer(2, 3) &&
               net.VectorsEqual({0, 1, 2});
      },
      15s));
  auto late = net.member(3).node->Author(
      [&](v1::EventBody& b) { b.mutable_comment()->set_text("still here"); });
  ASSERT_TRUE(late) << late.error().message;
  const auto before = Events(net, 0);
  net.RunFor(1500ms);  // member 3 keeps dialing
  for (int i : {0, 1, 2}) EXPECT_FALSE(net.HasPeer(i, 3)) << i << " accepted the removed member";
  EXPECT_EQ(Events(net, 0), before);
  EXPECT_TRUE(net.VectorsEqual({0, 1, 2}));
  const auto digest = *net.member(0).session->replica().StateDigest();
  for (int i : {1, 2}) EXPECT_EQ(*net.member(i).session->replica().StateDigest(), digest);
}

// A member removed before a round's deadline does not seal it, even though their node holds the
// round: their seal would count for nothing (before, the node sealed every round it held).
TEST(SessionMembership, ARemovedMembersNodeDoesNotSeal) {
  Network net(4, 3, 38);
  app::NodeConfig cfg;
  cfg.backoff_max = 300ms;
  cfg.access_check = 100ms;
  cfg.seal_grace = 300ms;
  cfg.seal_check = 100ms;
  net.StartAll({0, 1, 2, 3}, cfg);
  ASSERT_TRUE(net.RunUntil([&] { return net.Mesh({0, 1, 2, 3}); }, 15s));
  const std::int64_t deadline = app::NowMs() + 2'000;
  auto p = net.member(1).node->Author([&](v1::EventBody& b) {
    b.mutable_proposal()->set_title("tools");
    b.mutable_proposal()->set_amount_minor(100);
    b.mutable_proposal()->set_deadline_ms(deadline);
  });
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1, 2, 3}); }, 10s));
  for (int i : {1, 2}) ASSERT_TRUE(net.Remove(i, 3));
  const MemberKey removed = net.member(3).session->key().public_key();
  const auto removed_here = [&] {
    auto st = app::LoadCircleState(net.member(3).session->replica());
    if (!st) return false;
    for (const auto& s :
         decide::Standings(*st, decide::Tally(*st, app::NowMs()).rules_now, app::NowMs())) {
      if (s.key == removed) return s.removed;
    }
    return false;
  };
  ASSERT_TRUE(net.RunUntil(removed_here, 10s)) << "member 3's node never learned of its removal";
  const auto seals_by = [&](int node, const MemberKey& who) {
    auto st = app::LoadCircleState(net.member(node).session->replica());
    int n = 0;
    for (const auto& seal : st->seals) n += seal.author == who && seal.deadline_ms == deadline;
    return n;
  };
  ASSERT_TRUE(net.RunUntil(
      [&] {
        return seals_by(0, net.member(0).session->key().public_key()) == 1 &&
               seals_by(0, net.member(1).session->key().public_key()) == 1;
      },
      15s));
  net.RunFor(1000ms);
  EXPECT_EQ(seals_by(3, removed), 0);
}

// A founder's second charter changes nothing (issue 13): the circle id is the hash of the
// charter, so no second charter names it, and nothing else at the founder's seq 1 is of the
// circle. Before, the second charter froze the founder and left every replica without a charter.
TEST(SessionMembership, AFoundersSecondCharterChangesNothingAndDoesNotOpenTheNetwork) {
  Network net(3, 3, 32, /*strangers=*/1);
  app::NodeConfig cfg;
  cfg.backoff_max = 300ms;
  net.Start(0, {});
  net.Start(1, {0}, cfg);
  ASSERT_TRUE(net.RunUntil(
      [&] { return net.member(1).session->replica().state().Charter().has_value(); }, 10s));
  auto& replica = net.member(1).session->replica();
  const auto digest = *replica.StateDigest();

  // The founder signs a second charter for the same circle id (same salt), at seq 1 again, and
  // another event there.
  auto& founder = *net.member(0).session;
  v1::EventBody b;
  b.set_circle_id(net.circle().str());
  b.set_author(founder.key().public_key().str());
  b.set_seq(1);
  b.set_timestamp_ms(app::NowMs());
  auto* c = b.mutable_charter();
  c->set_name("another circle");
  c->set_purpose("take over");
  c->set_pool_minor(1);
  c->set_unit("EUR");
  c->set_salt(std::string(16, 's'));
  c->mutable_founder()->set_name("member0");
  c->mutable_founder()->set_organisation("org0");
  const Bytes second = rulebook::Sign(founder.key(), b);
  b.mutable_comment()->set_text("not the charter");
  const Bytes other = rulebook::Sign(founder.key(), b);
  for (const Bytes& ev : {second, other}) {
    auto r = replica.IngestOne(ev, storage::IngestOptions{app::NowMs()});
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->outcome, storage::Outcome::kRefused) << storage::ToString(r->outcome);
  }
  EXPECT_EQ(*replica.StateDigest(), digest);
  EXPECT_TRUE(replica.state().Charter().has_value());
  EXPECT_EQ(replica.events().Counts()->forked_authors, 0u);

  // And the stranger with the network key gets no session.
  net.Start(2, {1}, cfg);
  net.RunFor(2000ms);
  EXPECT_EQ(net.member(1).node->ready_peers(), 1u) << "only the founder's session";
  EXPECT_EQ(Events(net, 2), 0u);
}

}  // namespace
}  // namespace polder::testing
