#include "crypto/member_id.h"

#include <string>

namespace polder::crypto {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::size_t kGroups = 4;
constexpr std::size_t kGroupData = 13;
constexpr std::size_t kBlock = 7;

int Index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

std::string Base32Encode(ByteView data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (auto byte : data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

Result<Bytes> Base32Decode(std::string_view text) {
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = Index(c);
    if (v < 0)
      return Fail(Errc::kInvalidArgument, std::string("'") + c + "' is not a base32 character");
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  // Leftover bits must be zero so that every value has exactly one text form.
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) {
    return Fail(Errc::kInvalidArgument, "base32 text has non-zero padding bits");
  }
  return out;
}

char LuhnBase32(std::string_view group) {
  constexpr int n = 32;
  int factor = 1;
  int sum = 0;
  // Walk from the right, doubling every second character, as Luhn does.
  for (auto it = group.rbegin(); it != group.rend(); ++it) {
    factor = factor == 2 ? 1 : 2;
    int addend = factor * Index(*it);
    addend = addend / n + addend % n;
    sum += addend;
  }
  return kAlphabet[(n - sum % n) % n];
}

std::string FormatMemberId(const MemberKey& key) {
  const std::string raw = Base32Encode(key.view());  // 52 characters
  std::string with_checks;
  for (std::size_t g = 0; g < kGroups; ++g) {
    std::string_view group(raw.data() + g * kGroupData, kGroupData);
    with_checks.append(group);
    with_checks.push_back(LuhnBase32(group));
  }
  std::string out;
  for (std::size_t i = 0; i < with_checks.size(); ++i) {
    if (i > 0 && i % kBlock == 0) out.push_back('-');
    out.push_back(with_checks[i]);
  }
  return out;
}

std::string Fingerprint(const MemberKey& key) { return FormatMemberId(key).substr(0, kBlock); }

Result<MemberKey> ParseMemberId(std::string_view text) {
  std::string clean;
  clean.reserve(kMemberIdChars);
  for (char c : text) {
    if (c == '-' || c == ' ') continue;
    if (clean.size() >= kMemberIdChars) {
      return Fail(Errc::kInvalidArgument, "member ID is too long: expected 56 characters");
    }
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == '0') c = 'O';
    if (c == '1') c = 'I';
    if (c == '8') c = 'B';
    if (Index(c) < 0) {
      return Fail(Errc::kInvalidArgument,
                  std::string("member ID contains '") + c + "', which is not A-Z or 2-7");
    }
    clean.push_back(c);
  }
  if (clean.size() != kMemberIdChars) {
    return Fail(Errc::kInvalidArgument, "member ID has " + std::to_string(clean.size()) +
                                            " characters; expected 56 (8 blocks of 7)");
  }
  std::string raw;
  for (std::size_t g = 0; g < kGroups; ++g) {
    std::string_view group(clean.data() + g * (kGroupData + 1), kGroupData);
    if (LuhnBase32(group) != clean[g * (kGroupData + 1) + kGroupData]) {
      return Fail(Errc::kInvalidArgument, "member ID check character " + std::to_string(g + 1) +
                                              " does not match: a character near position " +
                                              std::to_string(g * (kGroupData + 1) + 1) + "-" +
                                              std::to_string((g + 1) * (kGroupData + 1)) +
                                              " is mistyped");
    }
    raw.append(group);
  }
  auto bytes = Base32Decode(raw);
  if (!bytes) return Fail(Errc::kInvalidArgument, "member ID: " + bytes.error().message);
  auto key = MemberKey::FromBytes(*bytes);
  if (!key) return Fail(Errc::kInvalidArgument, "member ID does not decode to 32 bytes");
  return *key;
}

}  // namespace polder::crypto
