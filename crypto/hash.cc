#include "crypto/hash.h"

#include <cstring>

#include <sodium.h>

namespace polder::crypto {
namespace {

static_assert(kMaxDomainBytes == crypto_generichash_blake2b_PERSONALBYTES);

std::array<std::uint8_t, crypto_generichash_blake2b_PERSONALBYTES> Personal(Domain domain) {
  const std::string_view d = domain.view();  // at most 16 bytes: Domain's constructor
  std::array<std::uint8_t, crypto_generichash_blake2b_PERSONALBYTES> p{};
  std::memcpy(p.data(), d.data(), d.size());
  return p;
}

crypto_generichash_blake2b_state* State(std::array<std::uint8_t, 384>& raw) {
  static_assert(sizeof(crypto_generichash_blake2b_state) <= 384);
  return reinterpret_cast<crypto_generichash_blake2b_state*>(raw.data());
}

}  // namespace

Digest32 Blake2b256(ByteView data) {
  Digest32 out;
  crypto_generichash_blake2b(out.bytes.data(), out.bytes.size(), data.data(), data.size(), nullptr,
                             0);
  return out;
}

Digest32 DomainHash(Domain domain, ByteView data) {
  Digest32 out;
  auto personal = Personal(domain);
  crypto_generichash_blake2b_salt_personal(out.bytes.data(), out.bytes.size(), data.data(),
                                           data.size(), nullptr, 0, nullptr, personal.data());
  return out;
}

Hasher::Hasher(Domain domain) {
  auto personal = Personal(domain);
  crypto_generichash_blake2b_init_salt_personal(State(state_), nullptr, 0, 32, nullptr,
                                                personal.data());
}

Hasher& Hasher::Update(ByteView data) {
  crypto_generichash_blake2b_update(State(state_), data.data(), data.size());
  return *this;
}

Hasher& Hasher::Update(std::string_view text) {
  UpdateU64(text.size());
  return Update(AsBytes(text));
}

Hasher& Hasher::UpdateU64(std::uint64_t v) {
  std::uint8_t be[8];
  for (int i = 7; i >= 0; --i) {
    be[i] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return Update(ByteView(be, 8));
}

Digest32 Hasher::Final() {
  Digest32 out;
  crypto_generichash_blake2b_final(State(state_), out.bytes.data(), out.bytes.size());
  return out;
}

}  // namespace polder::crypto
