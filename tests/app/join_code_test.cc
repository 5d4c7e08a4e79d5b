// Join codes (docs/protocol.md §13): a round trip, a typo caught by the checksum, and the checksum
// computed the way an independent client following the document computes it.
#include "node/app/join_code.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <gtest/gtest.h>
#include <sodium.h>

#include "crypto/member_id.h"

namespace polder::app {
namespace {

v1::JoinCode Sample() {
  v1::JoinCode c;
  c.set_circle_id(std::string(32, '\x11'));
  c.set_network_key(std::string(32, '\x22'));
  c.set_member(std::string(32, '\x33'));
  c.add_addresses("127.0.0.1:7714");
  return c;
}

TEST(JoinCode, RoundTrips) {
  const std::string text = EncodeJoinCode(Sample());
  EXPECT_EQ(text.rfind("polder1-", 0), 0u);
  auto back = DecodeJoinCode(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->SerializeAsString(), Sample().SerializeAsString());
}

TEST(JoinCode, AWrongCharacterFailsTheChecksum) {
  std::string text = EncodeJoinCode(Sample());
  char& c = text[text.size() - 3];
  c = c == 'a' ? 'b' : 'a';
  auto r = DecodeJoinCode(text);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("checksum"), std::string::npos) << r.error().message;
}

// The checksum is the first 4 bytes of BLAKE2b-256 with the 16-byte personalization
// "polder-join-code" over the protobuf bytes, as the protocol document says — computed here with
// libsodium directly, not through the node's hashing.
TEST(JoinCode, ChecksumIsTheDocumentedDomainHash) {
  const v1::JoinCode code = Sample();
  const std::string text = EncodeJoinCode(code);
  std::string b32;
  for (char ch : text.substr(8)) {
    if (ch != '-') b32 += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  auto raw = crypto::Base32Decode(b32);
  ASSERT_TRUE(raw);
  const std::string payload = code.SerializeAsString();
  ASSERT_EQ(raw->size(), payload.size() + 4);
  unsigned char personal[crypto_generichash_blake2b_PERSONALBYTES] = {};
  const std::string domain = "polder-join-code";
  ASSERT_EQ(domain.size(), sizeof personal);
  std::memcpy(personal, domain.data(), domain.size());
  unsigned char sum[32];
  ASSERT_EQ(crypto_generichash_blake2b_salt_personal(
                sum, sizeof sum, reinterpret_cast<const unsigned char*>(payload.data()),
                payload.size(), nullptr, 0, nullptr, personal),
            0);
  EXPECT_TRUE(std::equal(sum, sum + 4, raw->end() - 4));
}

}  // namespace
}  // namespace polder::app
