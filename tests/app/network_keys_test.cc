// The network keys a node holds (docs/protocol.md §11 "Network key rotation"): adopting a key
// retires the current one, which stays accepted for the grace only; both survive a restart; and
// a rotation's boxes open for their recipients only.
#include "node/app/network_keys.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "crypto/key_file.h"
#include "node/app/access.h"
#include "tests/testutil/circle.h"
#include "tests/testutil/run.h"

namespace polder::app {
namespace {

using namespace std::chrono_literals;

NetworkKey KeyOf(std::uint8_t b) {
  NetworkKey k{};
  k.fill(b);
  return k;
}

TEST(NetworkKeys, AdoptingRetiresTheCurrentKeyForTheGraceAndPersists) {
  const auto dir = std::filesystem::path(testutil::TempDir("netkeys"));
  auto home = Home::Resolve(dir);
  ASSERT_TRUE(home);
  ASSERT_TRUE(crypto::WriteSecretFile(home->network_key_file(), kNetworkKeyHeader, Bytes(32, 1)));
  auto keys = NetworkKeys::Load(*home);
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_EQ(keys->current(), KeyOf(1));
  EXPECT_TRUE(keys->Accepted(0, 1h).empty());
  ASSERT_TRUE(keys->Adopt(KeyOf(2), 1'000));
  ASSERT_TRUE(keys->Adopt(KeyOf(3), 2'000));
  EXPECT_EQ(keys->current(), KeyOf(3));
  EXPECT_EQ(keys->current_id(), NetworkKeyId(KeyOf(3)));
  EXPECT_EQ(keys->Accepted(2'000, 10s), (std::vector<NetworkKey>{KeyOf(2), KeyOf(1)}));
  EXPECT_EQ(keys->Accepted(11'500, 10s), (std::vector<NetworkKey>{KeyOf(2)}));  // 1 retired at 1 s
  EXPECT_TRUE(keys->Accepted(12'001, 10s).empty());
  EXPECT_EQ(keys->Find(NetworkKeyId(KeyOf(1))), KeyOf(1));
  EXPECT_FALSE(keys->Find(NetworkKeyId(KeyOf(9))));

  auto again = NetworkKeys::Load(*home);  // a restart
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->current(), KeyOf(3));
  EXPECT_EQ(again->Accepted(2'000, 10s), (std::vector<NetworkKey>{KeyOf(2), KeyOf(1)}));
  // Adopting a retired key again makes it current and retires the current one.
  ASSERT_TRUE(again->Adopt(KeyOf(1), 3'000));
  EXPECT_EQ(again->Accepted(3'000, 10s), (std::vector<NetworkKey>{KeyOf(3), KeyOf(2)}));
  // At most kMaxRetiredKeys are kept.
  for (std::uint8_t b = 10; b < 30; ++b) ASSERT_TRUE(again->Adopt(KeyOf(b), 4'000 + b));
  EXPECT_EQ(again->Accepted(5'000, 10s).size(), kMaxRetiredKeys);
  std::filesystem::remove_all(dir);
}

TEST(NetworkKeys, ARotationsBoxesOpenForTheirRecipientsOnly) {
  std::vector<crypto::SigningKey> members;
  std::vector<MemberKey> recipients;
  for (int i = 0; i < 450; ++i) {
    members.push_back(crypto::SigningKey::Generate());
    recipients.push_back(members.back().public_key());
  }
  recipients.push_back(recipients[3]);  // named twice: sealed once
  auto payloads = SealNetworkKey(KeyOf(7), recipients);
  ASSERT_TRUE(payloads) << payloads.error().message;
  ASSERT_EQ(payloads->size(), 2u);  // 400 to an event
  EXPECT_EQ((*payloads)[0].boxes_size() + (*payloads)[1].boxes_size(), 450);
  for (const auto& p : *payloads) {
    EXPECT_EQ(p.key_id(), NetworkKeyId(KeyOf(7)).str());
    for (int i = 1; i < p.boxes_size(); ++i)
      EXPECT_LT(p.boxes(i - 1).recipient(), p.boxes(i).recipient());
  }
  const auto& box = (*payloads)[1].boxes(0);
  const auto it = std::find_if(members.begin(), members.end(), [&](const auto& m) {
    return m.public_key().str() == box.recipient();
  });
  ASSERT_NE(it, members.end());
  auto opened = it->OpenSealed(AsBytes(box.sealed()));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(std::equal(opened->data(), opened->data() + 32, KeyOf(7).begin()));
  EXPECT_FALSE(crypto::SigningKey::Generate().OpenSealed(AsBytes(box.sealed())));
  EXPECT_FALSE(SealNetworkKey(KeyOf(7), {}));
}

// Which key is the circle's (docs/protocol.md §11): the latest rotation by a member eligible now.
// Once its author is removed, a rotation names nothing (the removed member knows that key), the
// removal makes a rotation due, and what the removed member rotates afterwards counts for nothing;
// the next eligible member's rotation is the circle's key and is sealed to the members only.
TEST(NetworkKeys, OnlyAnEligibleMembersRotationNamesTheCirclesKey) {
  testutil::TestCircle c;
  const int a = c.Admit(0, "A", "Org A");
  const int b = c.Admit(0, "B", "Org A");
  const int d = c.Admit(0, "D", "Org A");
  const auto rotate = [&](int who, std::uint8_t fill) {
    c.Advance(1'000);
    auto p = SealNetworkKey(KeyOf(fill), {c.key(0).public_key(), c.key(who).public_key()});
    EXPECT_TRUE(p);
    c.Next(who, [&](v1::EventBody& body) { *body.mutable_network_key() = p->front(); });
    return NetworkKeyId(KeyOf(fill));
  };
  const auto remove = [&](int who, int member) {
    c.Advance(1'000);
    c.Next(who, [&](v1::EventBody& body) {
      body.mutable_removal()->set_member(c.key(member).public_key().str());
      body.mutable_removal()->set_reason("left");
    });
  };
  auto opened = storage::Replica::Open(":memory:");
  ASSERT_TRUE(opened);
  auto& replica = **opened;
  ASSERT_TRUE(replica.SetCircle(c.circle()));
  Access access(replica);
  const auto refresh = [&] {
    for (const auto& ev : c.events()) {
      ASSERT_TRUE(replica.IngestOne(ev, storage::IngestOptions{c.now() + 1'000}));
    }
    ASSERT_TRUE(access.Refresh(c.now() + 1'000, true));
  };

  const EventId x = rotate(a, 1);
  refresh();
  EXPECT_EQ(access.keys().current_id, x);
  EXPECT_FALSE(access.keys().due);

  remove(0, a);
  remove(b, a);
  rotate(a, 2);  // signed after the removal: counts for nothing
  refresh();
  EXPECT_FALSE(access.Allows(c.key(a).public_key()));
  EXPECT_FALSE(access.keys().current_id) << "a removed member's rotation still named the key";
  EXPECT_TRUE(access.keys().due);
  const auto& to = access.keys().recipients;
  EXPECT_EQ(std::count(to.begin(), to.end(), c.key(a).public_key()), 0);
  EXPECT_EQ(to.size(), 3u);

  const EventId z = rotate(d, 3);
  refresh();
  EXPECT_EQ(access.keys().current_id, z);
  EXPECT_FALSE(access.keys().due);
}

}  // namespace
}  // namespace polder::app
