// BLAKE2b-256 hashing. Every use other than event ids carries a domain (BLAKE2b personalization)
// so that a hash computed for one purpose can never be mistaken for another.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "proto/bytes.h"

namespace polder::crypto {

// BLAKE2b's personalization parameter holds 16 bytes: a longer domain would be cut short.
inline constexpr std::size_t kMaxDomainBytes = 16;

// A hashing domain: made only from a string literal of at most kMaxDomainBytes bytes, checked when
// the program is compiled (a longer literal does not compile).
class Domain {
 public:
  template <std::size_t N>
  consteval Domain(const char (&text)[N]) : text_(text, N - 1) {  // NOLINT: implicit on purpose
    static_assert(N >= 1);
    if (N - 1 > kMaxDomainBytes) throw "a hashing domain is at most 16 bytes";
  }
  constexpr std::string_view view() const { return text_; }

 private:
  std::string_view text_;
};

// Plain BLAKE2b-256; used for event ids (the id of an event is the hash of its signed body bytes).
Digest32 Blake2b256(ByteView data);

// Domain-separated BLAKE2b-256: the domain, zero-padded to 16 bytes, is BLAKE2b's personalization.
Digest32 DomainHash(Domain domain, ByteView data);

// Incremental domain-separated hashing, for digests over many rows.
class Hasher {
 public:
  explicit Hasher(Domain domain);
  Hasher& Update(ByteView data);
  Hasher& Update(std::string_view text);  // length-prefixed, so concatenations stay unambiguous
  Hasher& UpdateU64(std::uint64_t v);     // 8 bytes, big-endian
  Digest32 Final();

 private:
  alignas(64) std::array<std::uint8_t, 384> state_{};  // crypto_generichash_state
};

// Every domain in use (docs/protocol.md §1).
inline constexpr Domain kDomainCircleId = "polder-circle-v2";      // circle id: hash of its charter
inline constexpr Domain kDomainDigest = "polder-digest-v1";        // the state digest
inline constexpr Domain kDomainBundle = "polder-bundle-v1";        // a bundle file's checksum
inline constexpr Domain kDomainOwnLog = "polder-ownlog-v1";        // an own-log record's checksum
inline constexpr Domain kDomainVector = "polder-vector-v1";        // a version vector's digest
inline constexpr Domain kDomainJoinCode = "polder-join-code";      // a join code's checksum
inline constexpr Domain kDomainNetworkKeyId = "polder-netkey-id";  // names a network key
inline constexpr Domain kAllDomains[] = {kDomainCircleId,    kDomainDigest, kDomainBundle,
                                         kDomainOwnLog,      kDomainVector, kDomainJoinCode,
                                         kDomainNetworkKeyId};

}  // namespace polder::crypto
