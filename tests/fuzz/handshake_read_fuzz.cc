// Fuzz target: the read side of the Noise handshake (responder reading message 1, initiator
// reading message 2) and the transport session fed arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "crypto/noise/handshake.h"
#include "node/net/transport.h"

namespace {

polder::crypto::noise::HandshakeConfig Config(bool initiator) {
  polder::crypto::noise::HandshakeConfig c;
  c.protocol_name = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";
  c.initiator = initiator;
  c.prologue = {'p', 'o', 'l', 'd', 'e', 'r'};
  std::array<std::uint8_t, 32> priv{};
  priv.fill(initiator ? 1 : 2);
  c.s = *polder::crypto::noise::KeyPair::FromPrivate(priv);
  priv.fill(initiator ? 3 : 4);
  c.e = *polder::crypto::noise::KeyPair::FromPrivate(priv);
  std::array<std::uint8_t, 32> psk{};
  psk.fill(9);
  c.psks = {psk};
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  polder::ByteView in(data, size);
  {
    auto r = polder::crypto::noise::Handshake::Create(Config(false));
    (void)r->Read(in);
  }
  {
    auto i = polder::crypto::noise::Handshake::Create(Config(true));
    (void)i->Write({});
    (void)i->Read(in);
  }
  {
    static const auto key = polder::crypto::SigningKey::Generate();
    polder::net::TransportConfig tc;
    tc.initiator = false;
    tc.identity = &key;
    tc.is_member = [](const polder::MemberKey&) { return true; };
    auto t = polder::net::Transport::Create(std::move(tc));
    (void)t->Feed(in);
  }
  return 0;
}
