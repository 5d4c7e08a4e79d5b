#include "crypto/identity.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "crypto/hash.h"
#include "crypto/key_file.h"

namespace polder::crypto {
namespace {

TEST(Identity, SignaturesAreBoundToTheirContext) {
  const auto k = SigningKey::Generate();
  const auto msg = AsBytes("vote for trees");
  const auto sig = k.Sign(kContextEvent, msg);
  EXPECT_TRUE(Verify(k.public_key(), kContextEvent, msg, sig));
  EXPECT_FALSE(Verify(k.public_key(), "polder/v1/other", msg, sig));
  EXPECT_FALSE(Verify(k.public_key(), kContextEvent, AsBytes("vote for roads"), sig));
  EXPECT_FALSE(Verify(SigningKey::Generate().public_key(), kContextEvent, msg, sig));
  EXPECT_FALSE(Verify(k.public_key(), kContextEvent, msg, ByteView(sig.data(), 63)));
}

TEST(Identity, SeedRoundTrip) {
  const auto k = SigningKey::Generate();
  const auto seed = k.Seed();
  auto k2 = SigningKey::FromSeed(seed.view());
  ASSERT_TRUE(k2.has_value());
  EXPECT_EQ(k2->public_key(), k.public_key());
  EXPECT_FALSE(SigningKey::FromSeed(ByteView(seed.data(), 31)).has_value());
}

TEST(Hash, EveryDomainFitsBlake2bsPersonalizationAndIsDistinct) {
  std::set<std::string_view> seen;
  for (const Domain& d : kAllDomains) {
    EXPECT_LE(d.view().size(), 16u) << d.view();  // longer would be cut short, silently
    EXPECT_FALSE(d.view().empty());
    EXPECT_TRUE(seen.insert(d.view()).second) << d.view() << " twice";
  }
  // The two domains docs/protocol.md names for what node code hashed with its own strings.
  EXPECT_EQ(kDomainJoinCode.view(), "polder-join-code");
  EXPECT_EQ(kDomainVector.view(), "polder-vector-v1");
}

TEST(Hash, DomainsSeparate) {
  const auto data = AsBytes("same input");
  EXPECT_NE(DomainHash(kDomainCircleId, data), DomainHash(kDomainDigest, data));
  EXPECT_NE(DomainHash(kDomainDigest, data), Blake2b256(data));
  // BLAKE2b-256 of "abc" (RFC 7693 gives the 512-bit value; this is the 256-bit variant).
  EXPECT_EQ(Blake2b256(AsBytes("abc")).hex(),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  Hasher h(kDomainDigest);
  h.Update(AsBytes("same "));
  h.Update(AsBytes("input"));
  EXPECT_EQ(h.Final(), DomainHash(kDomainDigest, data));
}

// A network key sealed to a member's key (docs/protocol.md §11) opens with that member's
// signing key only, and not once tampered with.
TEST(SealedBox, OnlyTheRecipientOpensIt) {
  const auto ana = SigningKey::Generate();
  const auto ben = SigningKey::Generate();
  Bytes secret(32);
  RandomBytes(std::span(secret.data(), secret.size()));
  auto sealed = SealTo(ana.public_key(), secret);
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->size(), secret.size() + kSealOverhead);
  auto opened = ana.OpenSealed(*sealed);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_TRUE(std::equal(secret.begin(), secret.end(), opened->data()));
  EXPECT_FALSE(ben.OpenSealed(*sealed).has_value());
  (*sealed)[40] ^= 1;
  EXPECT_FALSE(ana.OpenSealed(*sealed).has_value());
  EXPECT_FALSE(ana.OpenSealed(ByteView(sealed->data(), 10)).has_value());
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("polder-key-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(KeyFileTest, WritesMode0600AndLoadsBack) {
  const auto k = SigningKey::Generate();
  const auto path = dir_ / "identity.key";
  ASSERT_TRUE(WriteKeyFile(path, k).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = LoadKeyFile(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->public_key(), k.public_key());
}

TEST_F(KeyFileTest, ReplaceSecretFileReplacesAtomically) {
  const auto path = dir_ / "network.key";
  ASSERT_TRUE(WriteSecretFile(path, "h", Bytes(32, 1)).has_value());
  ASSERT_TRUE(ReplaceSecretFile(path, "h", Bytes(32, 2)).has_value());
  EXPECT_EQ(*LoadSecretFile(path, "h", 32), Bytes(32, 2));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST_F(KeyFileTest, RefusesToOverwrite) {
  const auto path = dir_ / "identity.key";
  const auto first = SigningKey::Generate();
  ASSERT_TRUE(WriteKeyFile(path, first).has_value());
  auto second = WriteKeyFile(path, SigningKey::Generate());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::kAlreadyExists);
  EXPECT_EQ(LoadKeyFile(path)->public_key(), first.public_key());
}

TEST_F(KeyFileTest, RefusesAKeyOthersCanRead) {
  const auto path = dir_ / "identity.key";
  ASSERT_TRUE(WriteKeyFile(path, SigningKey::Generate()).has_value());
  ::chmod(path.c_str(), 0644);
  auto r = LoadKeyFile(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kPermission);
}

TEST_F(KeyFileTest, RefusesDamagedFiles) {
  const auto path = dir_ / "identity.key";
  for (const char* text :
       {"", "polder-identity-v2\n00\n", "polder-identity-v1\nzz\n", "polder-identity-v1\n0011\n"}) {
    std::filesystem::remove(path);
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0600);
    EXPECT_FALSE(LoadKeyFile(path).has_value()) << text;
  }
}

}  // namespace
}  // namespace polder::crypto
