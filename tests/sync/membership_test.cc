// Who may open a session (issue 13): only members, whatever the replica holds. A node that has
// not yet received its circle's events accepts the members who invited it and nobody else, and a
// founder's second charter neither changes anything nor opens the network to a stranger who holds
// the network key. Before, a replica without a charter accepted any holder of the network key.
#include <gtest/gtest.h>

#include "crypto/identity.h"
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
