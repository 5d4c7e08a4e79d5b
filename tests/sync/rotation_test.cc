// Network key rotation over running nodes (issue 14, docs/protocol.md §11): a removal rotates the
// key without any session among the remaining members ending; a member whose node was offline
// comes back under the retired key within the grace and adopts the new one; after the grace the
// old key (an old join code's) opens nothing; a rotation that leaves a member out is repaired by
// that member's node.
#include <gtest/gtest.h>

#include "node/app/circle_state.h"
#include "node/app/network_keys.h"
#include "tests/sync/harness.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

std::string KeyId(Network& net, int i) { return net.member(i).node->View().network_key_id(); }

bool SameKey(Network& net, const std::vector<int>& which, const std::string& not_this) {
  for (int i : which) {
    if (KeyId(net, i) == not_this || KeyId(net, i) != KeyId(net, which[0])) return false;
  }
  return true;
}

app::NodeConfig Fast() {
  app::NodeConfig cfg;
  cfg.backoff_max = 300ms;
  cfg.access_check = 100ms;
  cfg.rotation_stagger = 300ms;
  cfg.min_rotation_interval = 200ms;
  cfg.retired_key_grace = 3s;
  return cfg;
}

// The file a node would dial with after a restart: the rotation is stored, not only in memory.
std::string KeyFileId(Network& net, int i) {
  auto home = app::Home::Resolve(net.member(i).dir);
  auto keys = app::NetworkKeys::Load(*home);
  return keys ? keys->current_id().hex() : "";
}

TEST(KeyRotation, ARemovalRotatesTheKeyKeepsEverySessionAndTheOldKeyThenOpensNothing) {
  Network net(5, 3, 35, /*strangers=*/1);  // member 4: a stranger holding the network key
  const auto cfg = Fast();
  net.StartAll({0, 1, 2, 3}, cfg);
  ASSERT_TRUE(net.RunUntil([&] { return net.Mesh({0, 1, 2, 3}); }, 15s));
  const std::string old_id = KeyId(net, 0);
  std::vector<std::uint64_t> opened;
  for (int i : {0, 1, 2}) opened.push_back(net.member(i).node->View().sessions_opened());

  for (int i : {1, 2}) ASSERT_TRUE(net.Remove(i, 3));
  ASSERT_TRUE(net.RunUntil(
      [&] {
        return SameKey(net, {0, 1, 2}, old_id) && !net.HasPeer(0, 3) && !net.HasPeer(1, 3) &&
               !net.HasPeer(2, 3) && net.VectorsEqual({0, 1, 2});
      },
      15s));
  const std::string new_id = KeyId(net, 0);
  for (int i : {0, 1, 2}) {
    EXPECT_EQ(KeyFileId(net, i), new_id) << i;
    EXPECT_EQ(net.member(i).node->View().sessions_opened(), opened[static_cast<std::size_t>(i)])
        << "node " << i << " had to open a session again";
  }
  EXPECT_TRUE(net.Mesh({0, 1, 2}));
  EXPECT_EQ(KeyId(net, 3), old_id) << "the removed member's node learned the new key";
  // Exactly one rotation: the first member in line rotated, the others saw it and did not.
  auto state = app::LoadCircleState(net.member(0).session->replica());
  ASSERT_TRUE(state);
  EXPECT_EQ(state->network_keys.size(), 1u);

  // Within the grace, the old key still completes a handshake, and the membership check refuses
  // the stranger and the removed member; after it, the old key opens nothing.
  net.Start(4, {0, 1, 2}, cfg);
  ASSERT_TRUE(
      net.RunUntil([&] { return net.member(0).node->View().not_members_refused() > 0; }, 2s));
  ASSERT_TRUE(net.RunUntil([&] { return net.member(0).node->View().handshakes_failed() > 0; }, 6s));
  const auto refused = net.member(0).node->View().not_members_refused();
  const auto failed = net.member(0).node->View().handshakes_failed();
  net.RunFor(1500ms);
  EXPECT_EQ(net.member(0).node->View().not_members_refused(), refused);
  EXPECT_GT(net.member(0).node->View().handshakes_failed(), failed);
  // Counted in the metrics by reason (issue 15: refusals were invisible to an operator).
  const auto by_reason = net.member(0).node->Metrics().handshakes_refused;
  ASSERT_TRUE(by_reason.count("not_member"));
  EXPECT_EQ(by_reason.at("not_member"), refused);
  ASSERT_TRUE(by_reason.count("handshake_failed"));
  EXPECT_GE(by_reason.at("handshake_failed"), net.member(0).node->View().handshakes_failed());
  for (int i : {0, 1, 2}) {
    EXPECT_FALSE(net.HasPeer(i, 3));
    EXPECT_FALSE(net.HasPeer(i, 4));
  }
}

// `polder rotate-network-key` without a removal (a leaked join code): every running node adopts
// the key without a session ending, and a member whose node was stopped comes back under the
// retired key (within the grace), catches up and adopts it too.
TEST(KeyRotation, ARotationReachesEveryNodeAndAnOfflineMemberCatchesUpUnderTheRetiredKey) {
  Network net(4, 3, 36);
  const auto cfg = Fast();
  net.StartAll({0, 1, 2, 3}, cfg);
  ASSERT_TRUE(net.RunUntil([&] { return net.Mesh({0, 1, 2, 3}); }, 15s));
  const std::string old_id = KeyId(net, 0);
  net.Stop(3);
  ASSERT_TRUE(net.RunUntil([&] { return !net.HasPeer(0, 3) && !net.HasPeer(1, 3); }, 5s));
  std::vector<std::uint64_t> opened;
  for (int i : {0, 1, 2}) opened.push_back(net.member(i).node->View().sessions_opened());
  ASSERT_TRUE(net.member(1).node->RotateNetworkKey());
  ASSERT_TRUE(net.RunUntil([&] { return SameKey(net, {0, 1, 2}, old_id); }, 10s));
  for (int i : {0, 1, 2}) {
    EXPECT_EQ(net.member(i).node->View().sessions_opened(), opened[static_cast<std::size_t>(i)]);
  }
  net.Reopen(3);
  net.Start(3, {0, 1, 2}, cfg);
  ASSERT_TRUE(net.RunUntil(
      [&] {
        return SameKey(net, {0, 1, 2, 3}, old_id) && net.Mesh({0, 1, 2, 3});
      },
      15s));
  EXPECT_EQ(KeyFileId(net, 3), KeyId(net, 0));
}

// A member who seals a new key to everyone but member 2 cuts nobody off: member 2's node, finding
// no box for itself, seals a fresh key to every member, itself included, and all nodes adopt it.
TEST(KeyRotation, ARotationLeavingAMemberOutIsRepairedByThatMembersNode) {
  Network net(4, 3, 37);
  const auto cfg = Fast();
  net.StartAll({0, 1, 2, 3}, cfg);
  ASSERT_TRUE(net.RunUntil([&] { return net.Mesh({0, 1, 2, 3}); }, 15s));
  const std::string old_id = KeyId(net, 0);
  std::vector<MemberKey> others;
  for (int i : {0, 1, 3}) others.push_back(net.member(i).session->key().public_key());
  app::NetworkKey hostile{};
  hostile.fill(0x66);
  auto payloads = app::SealNetworkKey(hostile, others);
  ASSERT_TRUE(payloads);
  auto r = net.member(1).node->Author(
      [&](v1::EventBody& b) { *b.mutable_network_key() = payloads->front(); });
  ASSERT_TRUE(r) << r.error().message;
  const std::string hostile_id = app::NetworkKeyId(hostile).hex();
  ASSERT_TRUE(net.RunUntil(
      [&] {
        return SameKey(net, {0, 1, 2, 3}, hostile_id) && KeyId(net, 0) != old_id &&
               net.VectorsEqual({0, 1, 2, 3});
      },
      15s));
  EXPECT_TRUE(net.Mesh({0, 1, 2, 3}));
  auto state = app::LoadCircleState(net.member(0).session->replica());
  ASSERT_TRUE(state);
  ASSERT_EQ(state->network_keys.size(), 2u);
  EXPECT_EQ(state->network_keys[1].author, net.member(2).session->key().public_key());
}

}  // namespace
}  // namespace polder::testing
