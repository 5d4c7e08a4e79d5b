// Join codes: what a new member needs to reach their circle — its id, its network key and where
// existing nodes listen — as one copyable text (docs/protocol.md, section 13):
//
//   polder1-<base32 of (JoinCode protobuf || 4-byte checksum)>, in groups of 8 joined by dashes
//
// The checksum is the first 4 bytes of BLAKE2b-256 in the domain "polder-join-code" over the
// protobuf bytes. Decoding ignores case, dashes and white space. The code is a secret: it holds
// the network key.
#pragma once

#include <string>
#include <string_view>

#include "polder/v1/wire.pb.h"
#include "proto/result.h"

namespace polder::app {

inline constexpr std::string_view kJoinCodePrefix = "polder1-";
inline constexpr std::size_t kMaxJoinCodeChars = 4096;

std::string EncodeJoinCode(const v1::JoinCode& code);
Result<v1::JoinCode> DecodeJoinCode(std::string_view text);

}  // namespace polder::app
