#include "crypto/noise/symmetric_state.h"

#include <cstring>

#include <sodium.h>

namespace polder::crypto::noise {

Hash64 Blake2b512(ByteView a, ByteView b) {
  crypto_generichash_blake2b_state st;
  crypto_generichash_blake2b_init(&st, nullptr, 0, kHashLen);
  crypto_generichash_blake2b_update(&st, a.data(), a.size());
  crypto_generichash_blake2b_update(&st, b.data(), b.size());
  Hash64 out;
  crypto_generichash_blake2b_final(&st, out.data(), out.size());
  return out;
}

Hash64 HmacBlake2b(ByteView key, ByteView data) {
  // RFC 2104 with the hash's block length; keys longer than a block are hashed first.
  std::array<std::uint8_t, kBlockLen> k{};
  if (key.size() > kBlockLen) {
    const Hash64 hk = Blake2b512(key);
    std::memcpy(k.data(), hk.data(), hk.size());
  } else {
    std::memcpy(k.data(), key.data(), key.size());
  }
  std::array<std::uint8_t, kBlockLen> ipad, opad;
  for (std::size_t i = 0; i < kBlockLen; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  const Hash64 inner = Blake2b512(ipad, data);
  Hash64 out = Blake2b512(opad, inner);
  sodium_memzero(k.data(), k.size());
  sodium_memzero(ipad.data(), ipad.size());
  sodium_memzero(opad.data(), opad.size());
  return out;
}

void Hkdf(ByteView ck, ByteView ikm, Hash64* out1, Hash64* out2, Hash64* out3) {
  Hash64 temp = HmacBlake2b(ck, ikm);
  const std::uint8_t one = 1;
  *out1 = HmacBlake2b(temp, ByteView(&one, 1));
  std::array<std::uint8_t, kHashLen + 1> buf;
  std::memcpy(buf.data(), out1->data(), kHashLen);
  buf[kHashLen] = 2;
  *out2 = HmacBlake2b(temp, buf);
  if (out3) {
    std::memcpy(buf.data(), out2->data(), kHashLen);
    buf[kHashLen] = 3;
    *out3 = HmacBlake2b(temp, buf);
  }
  sodium_memzero(temp.data(), temp.size());
  sodium_memzero(buf.data(), buf.size());
}

SymmetricState SymmetricState::Clone() const {
  SymmetricState c;
  c.ck_ = ck_;
  c.h_ = h_;
  c.cipher_ = cipher_.Clone();
  return c;
}

SymmetricState::SymmetricState(std::string_view protocol_name) {
  InitSodium();
  if (protocol_name.size() <= kHashLen) {
    std::memcpy(h_.data(), protocol_name.data(), protocol_name.size());
  } else {
    h_ = Blake2b512(AsBytes(protocol_name));
  }
  ck_ = h_;
}

void SymmetricState::MixKey(ByteView ikm) {
  Hash64 temp_k;
  Hkdf(ck_, ikm, &ck_, &temp_k);
  cipher_.InitializeKey(ByteView(temp_k.data(), kKeyLen));  // HASHLEN 64: truncate to 32
  sodium_memzero(temp_k.data(), temp_k.size());
}

void SymmetricState::MixHash(ByteView data) { h_ = Blake2b512(h_, data); }

void SymmetricState::MixKeyAndHash(ByteView ikm) {
  Hash64 temp_h, temp_k;
  Hkdf(ck_, ikm, &ck_, &temp_h, &temp_k);
  MixHash(temp_h);
  cipher_.InitializeKey(ByteView(temp_k.data(), kKeyLen));
  sodium_memzero(temp_k.data(), temp_k.size());
}

Result<Bytes> SymmetricState::EncryptAndHash(ByteView plaintext) {
  auto c = cipher_.EncryptWithAd(h_, plaintext);
  if (c) MixHash(*c);
  return c;
}

Result<Bytes> SymmetricState::DecryptAndHash(ByteView ciphertext) {
  auto p = cipher_.DecryptWithAd(h_, ciphertext);
  if (p) MixHash(ciphertext);
  return p;
}

std::pair<CipherState, CipherState> SymmetricState::Split() {
  Hash64 k1, k2;
  Hkdf(ck_, {}, &k1, &k2);
  std::pair<CipherState, CipherState> out;
  out.first.InitializeKey(ByteView(k1.data(), kKeyLen));
  out.second.InitializeKey(ByteView(k2.data(), kKeyLen));
  sodium_memzero(k1.data(), k1.size());
  sodium_memzero(k2.data(), k2.size());
  return out;
}

}  // namespace polder::crypto::noise
