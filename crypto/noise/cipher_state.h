// Noise CipherState (Noise Protocol Framework rev. 34, section 5.1) for ChaChaPoly:
// ChaCha20-Poly1305 IETF, nonce = 4 zero bytes || 64-bit counter little-endian, 16-byte tag.
// Sans-I/O: bytes in, bytes out.
//
// Thread-safety: none; one CipherState per direction of one session.
#pragma once

#include <array>
#include <cstdint>

#include "crypto/identity.h"
#include "proto/bytes.h"

namespace polder::crypto::noise {

inline constexpr std::size_t kKeyLen = 32;
inline constexpr std::size_t kTagLen = 16;
inline constexpr std::size_t kMaxMessageLen = 65535;  // Noise spec, section 3
// The largest nonce a key may use: 2^64-1 is reserved by the spec (section 5.1).
inline constexpr std::uint64_t kMaxNonce = ~std::uint64_t{0} - 1;

class CipherState {
 public:
  CipherState() : k_(kKeyLen) {}
  CipherState(CipherState&&) noexcept = default;
  CipherState& operator=(CipherState&&) noexcept = default;

  // A copy, key included (a responder trying several pre-shared keys from one state).
  CipherState Clone() const;

  void InitializeKey(ByteView key);  // empty = no key (the spec's "empty")
  bool HasKey() const { return has_key_; }
  void SetNonce(std::uint64_t n) { n_ = n; }
  std::uint64_t nonce() const { return n_; }

  // With no key these return the input unchanged, as the spec says.
  Result<Bytes> EncryptWithAd(ByteView ad, ByteView plaintext);
  Result<Bytes> DecryptWithAd(ByteView ad, ByteView ciphertext);
  // The same, appending to `out` (no intermediate buffer). REQUIRES: HasKey(). On failure `out`
  // is left as it was.
  Status EncryptAppend(ByteView ad, ByteView plaintext, Bytes& out);
  Status DecryptAppend(ByteView ad, ByteView ciphertext, Bytes& out);
  // REKEY: k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes).
  void Rekey();

 private:
  SecretBytes k_;
  bool has_key_ = false;
  std::uint64_t n_ = 0;
};

}  // namespace polder::crypto::noise
