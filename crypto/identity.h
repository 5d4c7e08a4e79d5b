// Ed25519 identities. Every signature is domain-separated: the signed message is
// context || 0x00 || message, with one context string per purpose.
//
// Thread-safety: SigningKey is immutable after construction; Verify() is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "proto/bytes.h"

namespace polder::crypto {

inline constexpr std::string_view kContextEvent = "polder/v1/event";

// Must be called once before any other crypto function (idempotent, thread-safe).
void InitSodium();

// A secret kept in memory that is wiped when it goes away and cannot be copied.
class SecretBytes {
 public:
  explicit SecretBytes(std::size_t size) : bytes_(size) {}
  SecretBytes(SecretBytes&& other) noexcept = default;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  std::uint8_t* data() { return bytes_.data(); }
  const std::uint8_t* data() const { return bytes_.data(); }
  std::size_t size() const { return bytes_.size(); }
  ByteView view() const { return {bytes_.data(), bytes_.size()}; }

 private:
  void Wipe();
  Bytes bytes_;
};

using Signature = std::array<std::uint8_t, 64>;

class SigningKey {
 public:
  static SigningKey Generate();
  // `seed` is the 32-byte Ed25519 seed.
  static Result<SigningKey> FromSeed(ByteView seed);

  const MemberKey& public_key() const { return public_; }
  SecretBytes Seed() const;
  Signature Sign(std::string_view context, ByteView message) const;
  // Opens a secret sealed to this key with SealTo; fails when it was sealed to another key or
  // tampered with.
  Result<SecretBytes> OpenSealed(ByteView sealed) const;

 private:
  SigningKey() : secret_(64) {}
  SecretBytes secret_;  // libsodium's 64-byte secret key (seed || public key)
  MemberKey public_;
};

// Seals a secret to the holder of `recipient`'s signing key (an anonymous libsodium sealed box to
// the X25519 key the Ed25519 key converts to): kSealOverhead bytes longer than `secret`. Fails
// when the key is not a valid Ed25519 point.
inline constexpr std::size_t kSealOverhead = 48;
Result<Bytes> SealTo(const MemberKey& recipient, ByteView secret);

// Builds the exact bytes that are signed for `message` under `context`.
Bytes SignedMessage(std::string_view context, ByteView message);

bool Verify(const MemberKey& key, std::string_view context, ByteView message, ByteView signature);

// Raw Ed25519 verification of an already-built message; for benchmarks that need the machine's
// limit.
bool VerifyRaw(const MemberKey& key, ByteView message, ByteView signature);

// Fills `out` with random bytes from the OS.
void RandomBytes(std::span<std::uint8_t> out);

}  // namespace polder::crypto
