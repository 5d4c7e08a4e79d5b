#include "crypto/member_id.h"

#include <random>

#include <gtest/gtest.h>

#include "crypto/identity.h"

namespace polder::crypto {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

MemberKey RandomKey(std::mt19937& rng) {
  MemberKey k;
  for (auto& b : k.bytes) b = static_cast<std::uint8_t>(rng());
  return k;
}

TEST(MemberId, RoundTripsAndHasTheDocumentedShape) {
  std::mt19937 rng(1);
  for (int i = 0; i < 500; ++i) {
    const MemberKey k = RandomKey(rng);
    const std::string id = FormatMemberId(k);
    ASSERT_EQ(id.size(), 56u + 7u);  // 8 blocks of 7, 7 dashes
    for (std::size_t j = 7; j < id.size(); j += 8) EXPECT_EQ(id[j], '-');
    auto back = ParseMemberId(id);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(*back, k);
    EXPECT_EQ(Fingerprint(k), id.substr(0, 7));
  }
}

TEST(MemberId, ParsingForgivesCaseDashesSpacesAndLookalikes) {
  std::mt19937 rng(2);
  const MemberKey k = RandomKey(rng);
  std::string id = FormatMemberId(k);
  std::string lower;
  for (char c : id) {
    if (c == '-') continue;
    lower.push_back(static_cast<char>(std::tolower(c)));
  }
  EXPECT_EQ(*ParseMemberId(lower), k);
  std::string spaced;
  for (char c : id) spaced.push_back(c == '-' ? ' ' : c);
  EXPECT_EQ(*ParseMemberId(spaced), k);
  std::string lookalike = id;
  for (char& c : lookalike) {
    if (c == 'O') c = '0';
    if (c == 'I') c = '1';
    if (c == 'B') c = '8';
  }
  EXPECT_EQ(*ParseMemberId(lookalike), k);
}

TEST(MemberId, EverySingleMistypedCharacterIsCaught) {
  std::mt19937 rng(3);
  for (int n = 0; n < 20; ++n) {
    const std::string id = FormatMemberId(RandomKey(rng));
    for (std::size_t pos = 0; pos < id.size(); ++pos) {
      if (id[pos] == '-') continue;
      for (char c : kAlphabet) {
        if (c == id[pos]) continue;
        std::string typo = id;
        typo[pos] = c;
        EXPECT_FALSE(ParseMemberId(typo).has_value()) << typo;
      }
    }
  }
}

TEST(MemberId, MostSwapsOfNeighboursAreCaught) {
  std::mt19937 rng(4);
  int swaps = 0;
  int caught = 0;
  for (int n = 0; n < 200; ++n) {
    std::string id = FormatMemberId(RandomKey(rng));
    id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
    for (std::size_t pos = 0; pos + 1 < id.size(); ++pos) {
      if (id[pos] == id[pos + 1]) continue;
      std::string swapped = id;
      std::swap(swapped[pos], swapped[pos + 1]);
      ++swaps;
      caught += !ParseMemberId(swapped).has_value();
    }
  }
  // Luhn mod 32 misses only the swaps of a few symbol pairs (like 0↔9 in decimal Luhn).
  EXPECT_GT(caught * 100, swaps * 95) << caught << " of " << swaps;
}

TEST(MemberId, RefusesWrongLengthsAndForeignCharacters) {
  std::mt19937 rng(5);
  const std::string id = FormatMemberId(RandomKey(rng));
  EXPECT_FALSE(ParseMemberId("").has_value());
  EXPECT_FALSE(ParseMemberId(id.substr(0, id.size() - 1)).has_value());
  EXPECT_FALSE(ParseMemberId(id + "A").has_value());
  EXPECT_FALSE(ParseMemberId(std::string(10000, 'A')).has_value());
  std::string bad = id;
  bad[3] = '!';
  auto r = ParseMemberId(bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("'!'"), std::string::npos);
}

TEST(Base32, MatchesRfc4648Vectors) {
  // RFC 4648 section 10, without padding.
  EXPECT_EQ(Base32Encode(AsBytes("")), "");
  EXPECT_EQ(Base32Encode(AsBytes("f")), "MY");
  EXPECT_EQ(Base32Encode(AsBytes("fo")), "MZXQ");
  EXPECT_EQ(Base32Encode(AsBytes("foo")), "MZXW6");
  EXPECT_EQ(Base32Encode(AsBytes("foob")), "MZXW6YQ");
  EXPECT_EQ(Base32Encode(AsBytes("fooba")), "MZXW6YTB");
  EXPECT_EQ(Base32Encode(AsBytes("foobar")), "MZXW6YTBOI");
  auto d = Base32Decode("MZXW6YTBOI");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(std::string(d->begin(), d->end()), "foobar");
  EXPECT_FALSE(Base32Decode("MZXW6YTBOJ").has_value());  // non-zero padding bits
}

}  // namespace
}  // namespace polder::crypto
