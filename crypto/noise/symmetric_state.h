// Noise SymmetricState (rev. 34, section 5.2) with BLAKE2b (HASHLEN 64, BLOCKLEN 128), and the
// HMAC / HKDF constructions of section 4.3 that it uses.
#pragma once

#include <array>
#include <string_view>
#include <utility>

#include "crypto/noise/cipher_state.h"

namespace polder::crypto::noise {

inline constexpr std::size_t kHashLen = 64;
inline constexpr std::size_t kBlockLen = 128;
using Hash64 = std::array<std::uint8_t, kHashLen>;

Hash64 Blake2b512(ByteView a, ByteView b = {});
Hash64 HmacBlake2b(ByteView key, ByteView data);
// HKDF(chaining_key, input_key_material, num_outputs) with num_outputs 2 or 3.
void Hkdf(ByteView ck, ByteView ikm, Hash64* out1, Hash64* out2, Hash64* out3 = nullptr);

class SymmetricState {
 public:
  explicit SymmetricState(std::string_view protocol_name);
  SymmetricState Clone() const;

  void MixKey(ByteView ikm);
  void MixHash(ByteView data);
  void MixKeyAndHash(ByteView ikm);
  const Hash64& handshake_hash() const { return h_; }
  bool HasKey() const { return cipher_.HasKey(); }
  Result<Bytes> EncryptAndHash(ByteView plaintext);
  Result<Bytes> DecryptAndHash(ByteView ciphertext);
  // Returns (initiator → responder, responder → initiator).
  std::pair<CipherState, CipherState> Split();

 private:
  SymmetricState() = default;
  Hash64 ck_{};
  Hash64 h_{};
  CipherState cipher_;
};

}  // namespace polder::crypto::noise
