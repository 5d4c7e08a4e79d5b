#include "crypto/noise/cipher_state.h"

#include <cstring>

#include <sodium.h>

namespace polder::crypto::noise {
namespace {

std::array<std::uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> Nonce(std::uint64_t n) {
  std::array<std::uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> nonce{};
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
  return nonce;
}

}  // namespace

CipherState CipherState::Clone() const {
  CipherState c;
  std::memcpy(c.k_.data(), k_.data(), kKeyLen);
  c.has_key_ = has_key_;
  c.n_ = n_;
  return c;
}

void CipherState::InitializeKey(ByteView key) {
  has_key_ = key.size() == kKeyLen;
  if (has_key_) std::memcpy(k_.data(), key.data(), kKeyLen);
  n_ = 0;
}

Result<Bytes> CipherState::EncryptWithAd(ByteView ad, ByteView plaintext) {
  if (!has_key_) return Bytes(plaintext.begin(), plaintext.end());
  Bytes out;
  if (auto s = EncryptAppend(ad, plaintext, out); !s) return Unexpected<Error>{s.error()};
  return out;
}

Result<Bytes> CipherState::DecryptWithAd(ByteView ad, ByteView ciphertext) {
  if (!has_key_) return Bytes(ciphertext.begin(), ciphertext.end());
  Bytes out;
  if (auto s = DecryptAppend(ad, ciphertext, out); !s) return Unexpected<Error>{s.error()};
  return out;
}

Status CipherState::EncryptAppend(ByteView ad, ByteView plaintext, Bytes& out) {
  if (!has_key_) return Fail(Errc::kInternal, "noise: no key");
  if (n_ > kMaxNonce) return Fail(Errc::kLimit, "noise: nonce exhausted; rekey or start over");
  if (plaintext.size() + kTagLen > kMaxMessageLen) {
    return Fail(Errc::kLimit, "noise: message larger than 65535 bytes");
  }
  const std::size_t at = out.size();
  out.resize(at + plaintext.size() + kTagLen);
  unsigned long long len = 0;
  const auto nonce = Nonce(n_);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + at, &len, plaintext.data(),
                                            plaintext.size(), ad.data(), ad.size(), nullptr,
                                            nonce.data(), k_.data());
  ++n_;
  return {};
}

Status CipherState::DecryptAppend(ByteView ad, ByteView ciphertext, Bytes& out) {
  if (!has_key_) return Fail(Errc::kInternal, "noise: no key");
  if (n_ > kMaxNonce) return Fail(Errc::kLimit, "noise: nonce exhausted");
  if (ciphertext.size() < kTagLen)
    return Fail(Errc::kRefused, "noise: ciphertext shorter than a tag");
  if (ciphertext.size() > kMaxMessageLen) return Fail(Errc::kLimit, "noise: message too large");
  const std::size_t at = out.size();
  out.resize(at + ciphertext.size() - kTagLen);
  unsigned long long len = 0;
  const auto nonce = Nonce(n_);
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data() + at, &len, nullptr, ciphertext.data(),
                                                ciphertext.size(), ad.data(), ad.size(),
                                                nonce.data(), k_.data()) != 0) {
    out.resize(at);
    // The nonce is not advanced: a forged or replayed message does not desynchronise us, and the
    // caller ends the session anyway.
    return Fail(Errc::kRefused, "noise: decryption failed (tampered, replayed or wrong key)");
  }
  ++n_;
  return {};
}

void CipherState::Rekey() {
  if (!has_key_) return;
  std::uint8_t zeros[kKeyLen] = {};
  std::uint8_t out[kKeyLen + kTagLen];
  unsigned long long len = 0;
  const auto nonce = Nonce(~std::uint64_t{0});
  crypto_aead_chacha20poly1305_ietf_encrypt(out, &len, zeros, kKeyLen, nullptr, 0, nullptr,
                                            nonce.data(), k_.data());
  std::memcpy(k_.data(), out, kKeyLen);
  sodium_memzero(out, sizeof out);
}

}  // namespace polder::crypto::noise
