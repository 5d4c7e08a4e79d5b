#include "crypto/identity.h"

#include <array>
#include <cstdlib>
#include <cstring>

#include <sodium.h>

namespace polder::crypto {

void InitSodium() {
  static const int kInit = [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: nothing safe can be done
    return 0;
  }();
  (void)kInit;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  if (!bytes_.empty()) sodium_memzero(bytes_.data(), bytes_.size());
}

SigningKey SigningKey::Generate() {
  InitSodium();
  SigningKey k;
  crypto_sign_ed25519_keypair(k.public_.bytes.data(), k.secret_.data());
  return k;
}

Result<SigningKey> SigningKey::FromSeed(ByteView seed) {
  InitSodium();
  if (seed.size() != crypto_sign_ed25519_SEEDBYTES) {
    return Fail(Errc::kInvalidArgument, "an Ed25519 seed is 32 bytes");
  }
  SigningKey k;
  crypto_sign_ed25519_seed_keypair(k.public_.bytes.data(), k.secret_.data(), seed.data());
  return k;
}

SecretBytes SigningKey::Seed() const {
  SecretBytes seed(crypto_sign_ed25519_SEEDBYTES);
  crypto_sign_ed25519_sk_to_seed(seed.data(), secret_.data());
  return seed;
}

Result<SecretBytes> SigningKey::OpenSealed(ByteView sealed) const {
  static_assert(kSealOverhead == crypto_box_SEALBYTES);
  if (sealed.size() < crypto_box_SEALBYTES)
    return Fail(Errc::kInvalidArgument, "sealed box too short");
  SecretBytes x_secret(crypto_scalarmult_curve25519_BYTES);
  std::array<std::uint8_t, crypto_scalarmult_curve25519_BYTES> x_public{};
  if (crypto_sign_ed25519_sk_to_curve25519(x_secret.data(), secret_.data()) != 0 ||
      crypto_sign_ed25519_pk_to_curve25519(x_public.data(), public_.bytes.data()) != 0) {
    return Fail(Errc::kInvalidArgument, "this key has no X25519 form");
  }
  SecretBytes out(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(out.data(), sealed.data(), sealed.size(), x_public.data(),
                           x_secret.data()) != 0) {
    return Fail(Errc::kRefused, "the sealed box is not for this key, or was tampered with");
  }
  return out;
}

Result<Bytes> SealTo(const MemberKey& recipient, ByteView secret) {
  InitSodium();
  std::array<std::uint8_t, crypto_scalarmult_curve25519_BYTES> x_public{};
  if (crypto_sign_ed25519_pk_to_curve25519(x_public.data(), recipient.bytes.data()) != 0) {
    return Fail(Errc::kInvalidArgument, "the recipient key is not a valid Ed25519 key");
  }
  Bytes out(secret.size() + crypto_box_SEALBYTES);
  crypto_box_seal(out.data(), secret.data(), secret.size(), x_public.data());
  return out;
}

Bytes SignedMessage(std::string_view context, ByteView message) {
  Bytes m;
  m.reserve(context.size() + 1 + message.size());
  m.insert(m.end(), context.begin(), context.end());
  m.push_back(0);
  m.insert(m.end(), message.begin(), message.end());
  return m;
}

Signature SigningKey::Sign(std::string_view context, ByteView message) const {
  Bytes m = SignedMessage(context, message);
  Signature sig;
  crypto_sign_ed25519_detached(sig.data(), nullptr, m.data(), m.size(), secret_.data());
  return sig;
}

bool VerifyRaw(const MemberKey& key, ByteView message, ByteView signature) {
  if (signature.size() != crypto_sign_ed25519_BYTES) return false;
  return crypto_sign_ed25519_verify_detached(signature.data(), message.data(), message.size(),
                                             key.bytes.data()) == 0;
}

bool Verify(const MemberKey& key, std::string_view context, ByteView message, ByteView signature) {
  // One buffer per thread: verification sits on the ingest hot path.
  thread_local Bytes m;
  m.clear();
  m.insert(m.end(), context.begin(), context.end());
  m.push_back(0);
  m.insert(m.end(), message.begin(), message.end());
  return VerifyRaw(key, m, signature);
}

void RandomBytes(std::span<std::uint8_t> out) {
  InitSodium();
  randombytes_buf(out.data(), out.size());
}

}  // namespace polder::crypto
