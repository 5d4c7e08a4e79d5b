// Fuzz target: transport messages after the handshake. A ready responder is fed either the input
// as raw wire bytes, or a genuine encrypted message carrying the input with one byte flipped at a
// position the input chooses: decryption, framing and reassembly must refuse or deliver, never
// crash or allocate beyond the limits.
#include <cstddef>
#include <cstdint>

#include "crypto/identity.h"
#include "node/net/transport.h"

namespace {

using polder::Bytes;
using polder::ByteView;
using namespace polder::net;

struct Pair {
  polder::crypto::SigningKey a = polder::crypto::SigningKey::Generate();
  polder::crypto::SigningKey b = polder::crypto::SigningKey::Generate();
  TransportConfig Config(bool initiator) {
    TransportConfig c;
    c.initiator = initiator;
    c.circle = *polder::CircleId::FromBytes(Bytes(32, 3));
    c.network_key.fill(4);
    c.identity = initiator ? &a : &b;
    c.max_app_message = 1 << 16;
    c.is_member = [](const polder::MemberKey&) { return true; };
    return c;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bool init = (polder::crypto::InitSodium(), true);
  (void)init;
  static Pair keys;
  auto i = Transport::Create(keys.Config(true));
  auto r = Transport::Create(keys.Config(false));
  if (!i || !r) return 0;
  Bytes to_r = *i->Start();
  for (int round = 0; round < 4 && !(i->ready() && r->ready()); ++round) {
    auto o = r->Feed(to_r);
    if (!o) return 0;
    auto back = i->Feed(o->to_send);
    if (!back) return 0;
    to_r = back->to_send;
  }
  if (!i->ready() || !r->ready()) return 0;
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    (void)r->Feed(ByteView(data + 1, size - 1));
    return 0;
  }
  auto wire = i->Send(ByteView(data + 1, size - 1));
  if (!wire || wire->empty()) return 0;
  if (size >= 3) {
    const std::size_t pos = (static_cast<std::size_t>(data[1]) << 8 | data[2]) % wire->size();
    (*wire)[pos] ^= static_cast<std::uint8_t>(data[size - 1] | 1);
  }
  (void)r->Feed(*wire);
  return 0;
}
