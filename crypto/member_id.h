// The text form of a member id: something a person can read aloud, copy and type safely.
//
//   The 32-byte Ed25519 key in base32 (RFC 4648 alphabet, no padding) is 52 characters. It is cut
//   into 4 groups of 13, and each group gets one Luhn mod 32 check character (catches every single
//   mistyped character and every swap of two neighbours within a group). The 56 characters are
//   shown as 8 blocks of 7 joined by dashes:  ABCDEFG-HIJKLMN-...
//   Parsing ignores case, dashes and spaces, and reads 0 as O, 1 as I and 8 as B.
//
// The fingerprint is the first block (7 characters): short enough to say, long enough to tell
// members of one circle apart; always shown next to a name.
#pragma once

#include <string>
#include <string_view>

#include "proto/bytes.h"

namespace polder::crypto {

inline constexpr std::size_t kMemberIdChars = 56;

std::string FormatMemberId(const MemberKey& key);
std::string Fingerprint(const MemberKey& key);
Result<MemberKey> ParseMemberId(std::string_view text);

// Base32 (RFC 4648 alphabet, upper case, no padding) helpers, exposed for tests and join codes.
std::string Base32Encode(ByteView data);
Result<Bytes> Base32Decode(std::string_view text);  // strict: upper-case alphabet only
char LuhnBase32(std::string_view group);

}  // namespace polder::crypto
