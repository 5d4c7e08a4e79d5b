// bench/rotation: what a network key rotation costs (docs/protocol.md §11), against the machine's
// limit measured in the same run: raw X25519 scalar multiplications per second on one core.
//   * sealing a key to 10,000 members (the circle size): each box is an ephemeral key
//     pair and one X25519 multiplication after converting the member's Ed25519 key;
//   * opening one's own box;
//   * a responder's handshakes per second when it accepts 8 retired keys and the initiator used
//     the last it tries, against one that accepts only its current key.
#include <chrono>
#include <cstdio>

#include <sodium.h>

#include "node/app/network_keys.h"
#include "node/net/transport.h"

namespace polder {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double RawScalarMultPerSecond(double seconds) {
  unsigned char n[32], q[32];
  randombytes_buf(n, sizeof n);
  int done = 0;
  const auto t0 = Clock::now();
  while (Since(t0) < seconds) {
    for (int i = 0; i < 64; ++i) crypto_scalarmult_base(q, n), n[0] ^= q[0];
    done += 64;
  }
  return done / Since(t0);
}

double HandshakesPerSecond(std::size_t retired, double seconds) {
  const auto a = crypto::SigningKey::Generate();
  const auto b = crypto::SigningKey::Generate();
  auto config = [&](bool initiator) {
    net::TransportConfig c;
    c.initiator = initiator;
    c.circle = *CircleId::FromBytes(Bytes(32, 1));
    c.network_key.fill(9);
    c.identity = initiator ? &a : &b;
    c.is_member = [](const MemberKey&) { return true; };
    return c;
  };
  int done = 0;
  const auto t0 = Clock::now();
  while (Since(t0) < seconds) {
    auto ic = config(true);
    auto rc = config(false);
    for (std::size_t k = 0; k < retired; ++k) {
      std::array<std::uint8_t, 32> old{};
      old.fill(static_cast<std::uint8_t>(100 + k));
      rc.also_accept.push_back(old);
    }
    if (retired > 0) ic.network_key = rc.also_accept.back();  // the last one tried
    auto i = net::Transport::Create(std::move(ic));
    auto r = net::Transport::Create(std::move(rc));
    auto o1 = *r->Feed(*i->Start());
    auto o2 = *i->Feed(o1.to_send);
    auto o3 = *r->Feed(o2.to_send);
    auto o4 = *i->Feed(o3.to_send);
    done += i->ready() && r->ready() && o4.became_ready;
  }
  return done / Since(t0);
}

int Main() {
  if (sodium_init() < 0) return 1;
  const double raw = RawScalarMultPerSecond(1.0);
  std::printf("machine: %.0f X25519 scalar multiplications/s (one core)\n", raw);

  std::vector<crypto::SigningKey> members;
  std::vector<MemberKey> recipients;
  for (int i = 0; i < 10'000; ++i) {
    members.push_back(crypto::SigningKey::Generate());
    recipients.push_back(members.back().public_key());
  }
  app::NetworkKey key{};
  crypto::RandomBytes(std::span(key.data(), key.size()));
  auto t0 = Clock::now();
  auto payloads = app::SealNetworkKey(key, recipients);
  const double seal_s = Since(t0);
  if (!payloads) return 1;
  std::size_t bytes = 0;
  for (const auto& p : *payloads) bytes += p.ByteSizeLong();
  std::printf(
      "seal a key to 10,000 members: %.2f s, %zu events, %.1f KiB; %.0f boxes/s = %.2f of "
      "the raw multiplication rate\n",
      seal_s, payloads->size(), bytes / 1024.0, 10'000 / seal_s, 10'000 / seal_s / raw);

  const auto& box = payloads->front().boxes(0);
  const crypto::SigningKey* owner = nullptr;
  for (const auto& m : members) {
    if (m.public_key().str() == box.recipient()) owner = &m;
  }
  int opened = 0;
  t0 = Clock::now();
  while (Since(t0) < 1.0) opened += owner->OpenSealed(AsBytes(box.sealed())).has_value();
  std::printf("open one's box: %.0f/s\n", opened / Since(t0));

  const double plain = HandshakesPerSecond(0, 1.5);
  const double eight = HandshakesPerSecond(8, 1.5);
  std::printf(
      "handshakes/s (in memory): %.0f with the current key only, %.0f accepting 8 retired "
      "keys (the initiator's tried last): %.2f of it\n",
      plain, eight, eight / plain);
  return 0;
}

}  // namespace
}  // namespace polder

int main() { return polder::Main(); }
