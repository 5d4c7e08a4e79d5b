// BLAKE2b-256 hashing. Every use other than event ids carries a domain (BLAKE2b personalization)
// so that a hash computed for one purpose can never be mistaken for another.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "proto/bytes.h"

namespace polder::crypto {

// Plain BLAKE2b-256; used for event ids (the id of an event is the hash of its signed body bytes).
Digest32 Blake2b256(ByteView data);

// Domain-separated BLAKE2b-256. `domain` is at most 16 bytes (the BLAKE2b personalization size).
Digest32 DomainHash(std::string_view domain, ByteView data);

// Incremental domain-separated hashing, for digests over many rows.
class Hasher {
 public:
  explicit Hasher(std::string_view domain);
  Hasher& Update(ByteView data);
  Hasher& Update(std::string_view text);  // length-prefixed, so concatenations stay unambiguous
  Hasher& UpdateU64(std::uint64_t v);     // 8 bytes, big-endian
  Digest32 Final();

 private:
  alignas(64) std::array<std::uint8_t, 384> state_{};  // crypto_generichash_state
};

// Domains in use (each at most 16 bytes).
inline constexpr std::string_view kDomainCircleId = "polder-circle-id";
inline constexpr std::string_view kDomainDigest = "polder-digest-v1";
inline constexpr std::string_view kDomainBundle = "polder-bundle-v1";
inline constexpr std::string_view kDomainOwnLog = "polder-ownlog-v1";

}  // namespace polder::crypto
