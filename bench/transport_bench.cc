// bench/transport: one encrypted session's bulk throughput over loopback (64 KiB application
// messages), against the machine's limit measured in the same run: raw ChaCha20-Poly1305 IETF
// encryption on one core. Also handshakes per second (in memory, and over loopback TCP).
//
// Target (issue 3): one session carries at least 50% of the raw single-core encryption rate.
// The sender and the receiver each run on their own thread (the machine has 2 cores).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <sodium.h>

#include "node/net/session.h"
#include "node/net/transport.h"

namespace polder::net {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Raw AEAD on one core: 65519-byte plaintexts (one Noise transport message) for ~`seconds`.
double RawEncryptMBps(double seconds) {
  std::vector<std::uint8_t> key(32, 7), nonce(12, 0), pt(kMaxChunkBytes, 1),
      ct(kMaxChunkBytes + 16);
  std::uint64_t bytes = 0;
  const auto t0 = Clock::now();
  std::uint64_t n = 0;
  while (Since(t0) < seconds) {
    for (int i = 0; i < 16; ++i) {
      std::memcpy(nonce.data() + 4, &n, 8);
      ++n;
      unsigned long long len = 0;
      crypto_aead_chacha20poly1305_ietf_encrypt(ct.data(), &len, pt.data(), pt.size(), nullptr, 0,
                                                nullptr, nonce.data(), key.data());
      bytes += pt.size();
    }
  }
  return static_cast<double>(bytes) / Since(t0) / 1e6;
}

struct Keys {
  crypto::SigningKey a = crypto::SigningKey::Generate();
  crypto::SigningKey b = crypto::SigningKey::Generate();
  TransportConfig Config(bool initiator) const {
    TransportConfig c;
    c.initiator = initiator;
    c.circle = *CircleId::FromBytes(Bytes(32, 1));
    c.network_key.fill(9);
    c.identity = initiator ? &a : &b;
    c.is_member = [](const MemberKey&) { return true; };
    return c;
  }
};

double HandshakesPerSecondInMemory(const Keys& keys, double seconds) {
  int done = 0;
  const auto t0 = Clock::now();
  while (Since(t0) < seconds) {
    auto i = Transport::Create(keys.Config(true));
    auto r = Transport::Create(keys.Config(false));
    auto m1 = *i->Start();
    auto o1 = *r->Feed(m1);
    auto o2 = *i->Feed(o1.to_send);
    auto o3 = *r->Feed(o2.to_send);
    auto o4 = *i->Feed(o3.to_send);  // the responder's identity: the initiator is ready now
    done += i->ready() && r->ready() && o4.became_ready;
  }
  return done / Since(t0);
}

// Full sessions over loopback TCP (connect, accept, handshake, identity check, close), both
// ends on one io_context and one thread, `parallel` connections in flight at a time.
double HandshakesPerSecondLoopback(const Keys& keys, double seconds, int parallel) {
  asio::io_context io;
  asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto endpoint = acc.local_endpoint();
  int done = 0;
  bool stop = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        while (!stop) {
          auto [ec, sock] =
              co_await acc.async_accept(asio::experimental::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          auto s = Session::Create(std::move(sock), keys.Config(false), {});
          if (s) asio::co_spawn(io, (*s)->Run(), asio::detached);
        }
      },
      asio::detached);
  const auto t0 = Clock::now();
  int running = parallel;
  double elapsed = 0;
  for (int p = 0; p < parallel; ++p) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          while (Since(t0) < seconds) {
            asio::ip::tcp::socket sock(io);
            auto [ec] = co_await sock.async_connect(
                endpoint, asio::experimental::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            auto c = Session::Create(std::move(sock), keys.Config(true), {});
            if (!c) co_return;
            auto session = *c;
            asio::co_spawn(io, session->Run(), asio::detached);
            if (co_await session->WaitReady()) ++done;
            session->Close(CloseReason::kShutdown);
          }
          if (--running == 0) {
            elapsed = Since(t0);
            std::error_code ignored;
            acc.close(ignored);  // ends the accept loop: io.run_for returns once all is closed
          }
        },
        asio::detached);
  }
  io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(seconds + 5)));
  stop = true;
  return elapsed > 0 ? done / elapsed : 0;
}

// Sender on this thread, receiver on another; `total` bytes of 64 KiB messages.
double SessionMBps(const Keys& keys, std::size_t total, std::size_t message) {
  asio::io_context server_io, client_io;
  asio::ip::tcp::acceptor acc(server_io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client_sock(client_io), server_sock(server_io);
  client_sock.connect(acc.local_endpoint());
  acc.accept(server_sock);
  auto server = *Session::Create(std::move(server_sock), keys.Config(false), {});
  auto client = *Session::Create(std::move(client_sock), keys.Config(true), {});
  std::atomic<std::size_t> received{0};
  server->on_message([&](ByteView m) { received += m.size(); });
  asio::co_spawn(server_io, server->Run(), asio::detached);
  asio::co_spawn(client_io, client->Run(), asio::detached);
  std::thread receiver([&] { server_io.run_for(std::chrono::seconds(120)); });
  Clock::time_point t0;
  asio::co_spawn(
      client_io,
      [&]() -> asio::awaitable<void> {
        if (!co_await client->WaitReady()) co_return;
        t0 = Clock::now();
        const Bytes payload(message, 0xab);
        for (std::size_t sent = 0; sent < total; sent += message) {
          if (!co_await client->Send(payload)) co_return;
        }
      },
      asio::detached);
  const auto limit = Clock::now() + std::chrono::seconds(120);
  while (received.load() < total && Clock::now() < limit)
    client_io.run_for(std::chrono::milliseconds(20));
  const double secs = Since(t0);
  client->Shutdown();
  client_io.run_for(std::chrono::seconds(2));
  server_io.stop();
  receiver.join();
  return static_cast<double>(received.load()) / secs / 1e6;
}

}  // namespace
}  // namespace polder::net

int main(int argc, char** argv) {
  using namespace polder::net;
  polder::crypto::InitSodium();
  const std::size_t total = (argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2048) << 20;  // MiB
  const Keys keys;
  const double raw_before = RawEncryptMBps(1.0);
  const double session = SessionMBps(keys, total, 64 * 1024);
  const double raw_after = RawEncryptMBps(1.0);
  const double raw = (raw_before + raw_after) / 2;
  const double hs = HandshakesPerSecondInMemory(keys, 1.0);
  const double hs_tcp = HandshakesPerSecondLoopback(keys, 1.0, 8);
  std::printf(
      "raw ChaCha20-Poly1305 IETF encryption, one core: %.0f MB/s (%.0f before, %.0f after)\n", raw,
      raw_before, raw_after);
  std::printf("one session over loopback, 64 KiB messages:   %.0f MB/s (%zu MiB)\n", session,
              total >> 20);
  std::printf("ratio session / raw encryption:               %.2f (target >= 0.50)\n",
              session / raw);
  std::printf(
      "handshakes per second (XXpsk3 + identity binding, both sides, in memory, one core): %.0f\n",
      hs);
  std::printf(
      "handshakes per second (whole sessions over loopback TCP, both ends on one thread, 8 in "
      "flight): %.0f\n",
      hs_tcp);
  return 0;
}
