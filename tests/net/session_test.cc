// Encrypted sessions over loopback TCP: handshake outcomes, timeouts, bulk traffic both ways,
// limits, and many sessions at once. Every test runs its io_context for a bounded time.
#include "node/net/session.h"

#include <algorithm>
#include <random>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>

namespace polder::net {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);

class SessionTest : public ::testing::Test {
 protected:
  TransportConfig Config(bool initiator, const crypto::SigningKey& me) {
    TransportConfig c;
    c.initiator = initiator;
    c.circle = *CircleId::FromBytes(Bytes(32, 0x5a));
    c.network_key.fill(0x33);
    c.identity = &me;
    c.is_member = [this](const MemberKey& k) {
      return k == a_.public_key() || k == b_.public_key();
    };
    return c;
  }

  tcp::acceptor Listen() {
    tcp::acceptor acc(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acc;
  }

  // Connects a client session to a server session over loopback; both start running.
  std::pair<std::shared_ptr<Session>, std::shared_ptr<Session>> Pair(TransportConfig client_tc,
                                                                     TransportConfig server_tc,
                                                                     SessionConfig sc = {}) {
    auto acc = Listen();
    tcp::socket server_sock(io_), client_sock(io_);
    client_sock.connect(acc.local_endpoint());
    acc.accept(server_sock);
    auto c = Session::Create(std::move(client_sock), std::move(client_tc), sc);
    auto s = Session::Create(std::move(server_sock), std::move(server_tc), sc);
    EXPECT_TRUE(c && s);
    asio::co_spawn(io_, (*c)->Run(), asio::detached);
    asio::co_spawn(io_, (*s)->Run(), asio::detached);
    return {*c, *s};
  }

  void RunFor(std::chrono::milliseconds limit) {
    io_.restart();
    io_.run_for(limit);
  }

  asio::io_context io_;
  crypto::SigningKey a_ = crypto::SigningKey::Generate();
  crypto::SigningKey b_ = crypto::SigningKey::Generate();
};

TEST_F(SessionTest, HandshakeSucceedsOnLoopbackAndMessagesFlow) {
  auto [c, s] = Pair(Config(true, a_), Config(false, b_));
  std::vector<std::string> got;
  s->on_message([&](ByteView m) { got.emplace_back(m.begin(), m.end()); });
  bool ready = false, sent = false;
  auto client = c;
  const Bytes hi = {'h', 'i'};
  asio::co_spawn(
      io_,
      [client, hi, &ready, &sent]() -> asio::awaitable<void> {
        // No gtest assertions and no brace-initialised temporaries inside coroutines: GCC 12
        // rejects them ("array used as initializer").
        ready = co_await client->WaitReady();
        sent = co_await client->Send(hi);
        client->Shutdown();
      },
      asio::detached);
  RunFor(5s);
  EXPECT_TRUE(ready);
  EXPECT_TRUE(sent);
  EXPECT_TRUE(c->ready() && s->ready());
  EXPECT_EQ(s->peer(), a_.public_key());
  EXPECT_EQ(c->peer(), b_.public_key());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "hi");
  ASSERT_TRUE(c->closed() && s->closed());
  EXPECT_EQ(c->closed()->reason, CloseReason::kShutdown);
  EXPECT_EQ(s->closed()->reason, CloseReason::kPeerClosed);
}

TEST_F(SessionTest, WrongNetworkKeyEndsBothSidesWithAReason) {
  auto tc = Config(false, b_);
  tc.network_key[3] ^= 1;
  auto [c, s] = Pair(Config(true, a_), std::move(tc));
  RunFor(5s);
  ASSERT_TRUE(c->closed() && s->closed());
  // In XXpsk3 the PSK enters with the initiator's last message: the responder cannot decrypt it
  // and ends the session; the initiator, still waiting for the responder's identity (which only
  // a holder of the network key can send), is never ready and sees the handshake fail.
  EXPECT_FALSE(s->ready());
  EXPECT_FALSE(c->ready());
  EXPECT_EQ(s->closed()->reason, CloseReason::kHandshakeFailed);
  EXPECT_EQ(c->closed()->reason, CloseReason::kHandshakeFailed);
}

TEST_F(SessionTest, WrongCircleEndsTheSession) {
  auto tc = Config(false, b_);
  tc.circle.bytes[0] ^= 1;
  auto [c, s] = Pair(Config(true, a_), std::move(tc));
  RunFor(5s);
  ASSERT_TRUE(c->closed() && s->closed());
  EXPECT_FALSE(s->ready());
}

TEST_F(SessionTest, NonMemberIsRefused) {
  const auto stranger = crypto::SigningKey::Generate();
  auto [c, s] = Pair(Config(true, stranger), Config(false, b_));
  RunFor(5s);
  ASSERT_TRUE(s->closed());
  EXPECT_EQ(s->closed()->reason, CloseReason::kNotMember);
  EXPECT_FALSE(s->ready());
}

// A relay between client and server that flips one bit at byte `flip_at` of the client's stream.
struct TamperingRelay {
  tcp::acceptor acc;
  std::size_t flip_at;
  std::size_t forwarded = 0;
  TamperingRelay(asio::io_context& io, std::size_t at)
      : acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), flip_at(at) {}

  static asio::awaitable<void> Pipe(tcp::socket& from, tcp::socket& to, std::size_t* count,
                                    std::size_t flip_at) {
    std::vector<std::uint8_t> buf(4096);
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), kUseTuple);
      if (ec) break;
      if (count) {
        if (flip_at >= *count && flip_at < *count + n) buf[flip_at - *count] ^= 0x04;
        *count += n;
      }
      auto [wec, w] = co_await asio::async_write(to, asio::buffer(buf.data(), n), kUseTuple);
      if (wec) break;
    }
    std::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }
  // Accepts one client and connects it to `server`.
  asio::awaitable<void> Run(tcp::endpoint server) {
    auto exec = co_await asio::this_coro::executor;
    auto [aec, client] = co_await acc.async_accept(kUseTuple);
    if (aec) co_return;
    tcp::socket upstream(exec);
    auto [cec] = co_await upstream.async_connect(server, kUseTuple);
    if (cec) co_return;
    auto c = std::make_shared<tcp::socket>(std::move(client));
    auto u = std::make_shared<tcp::socket>(std::move(upstream));
    asio::co_spawn(
        exec, [c, u]() -> asio::awaitable<void> { co_await Pipe(*u, *c, nullptr, 0); },
        asio::detached);
    co_await Pipe(*c, *u, &forwarded, flip_at);
  }
};

// Runs a client and a server session through a relay that flips one bit at `flip_at` in the
// client's bytes, the client sending one 10 KiB message once ready.
struct TamperOutcome {
  std::optional<Closed> client, server;
  bool client_ready = false, server_ready = false;
  int server_messages = 0;
};

TEST_F(SessionTest, TamperedByteOnTheWireEndsTheSession) {
  auto run = [&](std::size_t flip_at) {
    auto listener = Listen();
    TamperingRelay relay(io_, flip_at);
    tcp::socket client_sock(io_);
    client_sock.connect(relay.acc.local_endpoint());
    asio::co_spawn(io_, relay.Run(listener.local_endpoint()), asio::detached);
    tcp::socket server_sock(io_);
    RunFor(50ms);  // the relay accepts and connects upstream
    listener.accept(server_sock);
    auto c = *Session::Create(std::move(client_sock), Config(true, a_), {});
    auto s = *Session::Create(std::move(server_sock), Config(false, b_), {});
    TamperOutcome out;
    s->on_message([&](ByteView) { ++out.server_messages; });
    asio::co_spawn(io_, c->Run(), asio::detached);
    asio::co_spawn(io_, s->Run(), asio::detached);
    const Bytes payload(10 * 1024, 0x61);
    asio::co_spawn(
        io_,
        [c, payload]() -> asio::awaitable<void> {
          if (co_await c->WaitReady()) co_await c->Send(payload);
        },
        asio::detached);
    RunFor(3s);
    out.client = c->closed();
    out.server = s->closed();
    out.client_ready = c->ready();
    out.server_ready = s->ready();
    c->Close(CloseReason::kShutdown);
    s->Close(CloseReason::kShutdown);
    RunFor(100ms);
    return out;
  };
  // Byte 40 of the client's stream lies in handshake message 3 (message 1 is 2 + 32 bytes).
  auto hs = run(40);
  ASSERT_TRUE(hs.server.has_value());
  EXPECT_EQ(hs.server->reason, CloseReason::kHandshakeFailed) << hs.server->message;
  EXPECT_FALSE(hs.server_ready);
  EXPECT_FALSE(hs.client_ready);
  ASSERT_TRUE(hs.client.has_value());
  // Far past the handshake (message 3 is a few hundred bytes): inside the 10 KiB message.
  auto tr = run(4000);
  EXPECT_TRUE(tr.client_ready && tr.server_ready);
  ASSERT_TRUE(tr.server.has_value());
  EXPECT_EQ(tr.server->reason, CloseReason::kDecryptFailed) << tr.server->message;
  EXPECT_EQ(tr.server_messages, 0);
  ASSERT_TRUE(tr.client.has_value());
  EXPECT_EQ(tr.client->reason, CloseReason::kPeerClosed);
}

TEST_F(SessionTest, PeerSendingOneBytePerSecondIsTimedOut) {
  auto acc = Listen();
  tcp::socket server_sock(io_), slow(io_);
  slow.connect(acc.local_endpoint());
  acc.accept(server_sock);
  SessionConfig sc;
  sc.handshake_timeout = 1500ms;
  auto s = *Session::Create(std::move(server_sock), Config(false, b_), sc);
  asio::co_spawn(io_, s->Run(), asio::detached);
  const auto start = std::chrono::steady_clock::now();
  // The start of a plausible 32-byte first handshake message, one byte a second.
  const Bytes trickle = {0, 32, 1, 2, 3, 4, 5};
  asio::co_spawn(
      io_,
      [&slow, trickle]() -> asio::awaitable<void> {
        asio::steady_timer t(slow.get_executor());
        for (auto b : trickle) {
          auto [ec, n] = co_await asio::async_write(slow, asio::buffer(&b, 1), kUseTuple);
          if (ec) co_return;
          t.expires_after(1s);
          co_await t.async_wait(kUseTuple);
        }
      },
      asio::detached);
  RunFor(4s);
  ASSERT_TRUE(s->closed());
  EXPECT_EQ(s->closed()->reason, CloseReason::kHandshakeTimeout);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 4s);
}

TEST_F(SessionTest, SilentPeerAfterTheHandshakeHitsTheIdleTimeout) {
  SessionConfig quiet;
  quiet.keepalive_interval = 1h;  // this side never shows liveness
  quiet.idle_timeout = 1h;
  SessionConfig strict;
  strict.idle_timeout = 800ms;
  auto acc = Listen();
  tcp::socket server_sock(io_), client_sock(io_);
  client_sock.connect(acc.local_endpoint());
  acc.accept(server_sock);
  auto c = *Session::Create(std::move(client_sock), Config(true, a_), quiet);
  auto s = *Session::Create(std::move(server_sock), Config(false, b_), strict);
  asio::co_spawn(io_, c->Run(), asio::detached);
  asio::co_spawn(io_, s->Run(), asio::detached);
  RunFor(3s);
  ASSERT_TRUE(s->closed());
  EXPECT_EQ(s->closed()->reason, CloseReason::kIdle);
}

TEST_F(SessionTest, KeepalivesHoldAnIdleSessionOpen) {
  SessionConfig sc;
  sc.idle_timeout = 1500ms;  // roomy: CI runs this beside heavy tests
  sc.keepalive_interval = 200ms;
  auto [c, s] = Pair(Config(true, a_), Config(false, b_), sc);
  RunFor(4s);  // well past the idle timeout: only keepalives keep it open
  EXPECT_FALSE(c->closed().has_value());
  EXPECT_FALSE(s->closed().has_value());
  c->Shutdown();
  RunFor(2s);
}

// 10,000 messages of mixed sizes (1 byte to 4 MiB) in each direction, content checked.
TEST_F(SessionTest, TenThousandMixedMessagesBothWays) {
  constexpr int kMessages = 10'000;
  auto sizes = [](std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::size_t> out;
    for (int i = 0; i < kMessages; ++i) {
      const auto pick = rng() % 1000;
      if (i == 0) {
        out.push_back(1);
      } else if (i == 1 || i == kMessages - 1) {
        out.push_back(kDefaultMaxAppMessageBytes);
      } else if (pick < 900) {
        out.push_back(1 + rng() % 1000);
      } else if (pick < 995) {
        out.push_back(1 + rng() % (64 * 1024));
      } else {
        out.push_back(1 + rng() % kDefaultMaxAppMessageBytes);
      }
    }
    return out;
  };
  // Message i of a stream is `size` bytes of a pattern derived from (seed, i).
  auto make = [](std::uint32_t seed, int i, std::size_t size) {
    Bytes m(size);
    std::uint32_t x = seed * 2654435761u + static_cast<std::uint32_t>(i);
    for (auto& b : m) {
      x = x * 1664525u + 1013904223u;
      b = static_cast<std::uint8_t>(x >> 24);
    }
    return m;
  };
  auto [c, s] = Pair(Config(true, a_), Config(false, b_));
  struct Side {
    std::vector<std::size_t> expect;
    std::uint32_t seed;
    int got = 0;
    int bad = 0;
  };
  Side at_s{sizes(1), 1}, at_c{sizes(2), 2};
  auto checker = [&make](Side& side) {
    return [&side, &make](ByteView m) {
      if (side.got >= kMessages ||
          !std::ranges::equal(m, make(side.seed, side.got, side.expect[side.got])))
        ++side.bad;
      ++side.got;
    };
  };
  s->on_message(checker(at_s));
  c->on_message(checker(at_c));
  auto sender = [&make](std::shared_ptr<Session> from, std::vector<std::size_t> sz,
                        std::uint32_t seed) -> asio::awaitable<void> {
    if (!co_await from->WaitReady()) co_return;
    for (int i = 0; i < kMessages; ++i) {
      if (!co_await from->Send(make(seed, i, sz[i]))) co_return;
    }
  };
  asio::co_spawn(io_, sender(c, at_s.expect, 1), asio::detached);
  asio::co_spawn(io_, sender(s, at_c.expect, 2), asio::detached);
  // Bounded: stop as soon as both sides have everything, or after the limit.
  const auto deadline = std::chrono::steady_clock::now() + 240s;
  io_.restart();
  while ((at_s.got < kMessages || at_c.got < kMessages) && !c->closed() && !s->closed() &&
         std::chrono::steady_clock::now() < deadline) {
    io_.run_for(200ms);
  }
  EXPECT_EQ(at_s.got, kMessages);
  EXPECT_EQ(at_c.got, kMessages);
  EXPECT_EQ(at_s.bad, 0);
  EXPECT_EQ(at_c.bad, 0);
  EXPECT_FALSE(c->closed().has_value()) << (c->closed() ? c->closed()->message : "");
  c->Shutdown();
  RunFor(3s);
}

TEST_F(SessionTest, MessageOverTheReceiversLimitEndsTheSession) {
  auto tc = Config(false, b_);
  tc.max_app_message = 1000;
  auto [c, s] = Pair(Config(true, a_), std::move(tc));
  auto client = c;
  asio::co_spawn(
      io_,
      [client]() -> asio::awaitable<void> {
        if (!co_await client->WaitReady()) co_return;
        co_await client->Send(Bytes(5000, 1));
      },
      asio::detached);
  RunFor(5s);
  ASSERT_TRUE(s->closed());
  EXPECT_EQ(s->closed()->reason, CloseReason::kMessageTooLarge);
}

TEST_F(SessionTest, SendingTooLargeAMessageFailsButKeepsTheSession) {
  auto [c, s] = Pair(Config(true, a_), Config(false, b_));
  bool big = true, small = false;
  auto client = c;
  asio::co_spawn(
      io_,
      [client, &big, &small]() -> asio::awaitable<void> {
        if (!co_await client->WaitReady()) co_return;
        big = co_await client->Send(Bytes(kDefaultMaxAppMessageBytes + 1, 0));
        small = co_await client->Send(Bytes(10, 0));
      },
      asio::detached);
  int got = 0;
  s->on_message([&](ByteView) { ++got; });
  RunFor(2s);
  EXPECT_FALSE(big);
  EXPECT_TRUE(small);
  EXPECT_EQ(got, 1);
  EXPECT_FALSE(c->closed().has_value());
  c->Shutdown();
  RunFor(2s);
}

TEST_F(SessionTest, WriteQueueStaysWithinItsLimit) {
  SessionConfig sc;
  sc.max_queued_write_bytes = 256 * 1024;
  auto [c, s] = Pair(Config(true, a_), Config(false, b_), sc);
  std::size_t peak = 0;
  int received = 0;
  s->on_message([&](ByteView) { ++received; });
  auto client = c;
  asio::co_spawn(
      io_,
      [&peak, client]() -> asio::awaitable<void> {
        if (!co_await client->WaitReady()) co_return;
        for (int i = 0; i < 200; ++i) {
          if (!co_await client->Send(Bytes(100 * 1024, 7))) co_return;
          peak = std::max(peak, client->queued_bytes());
        }
      },
      asio::detached);
  io_.restart();
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (received < 200 && !c->closed() && std::chrono::steady_clock::now() < deadline) {
    io_.run_for(100ms);
  }
  EXPECT_EQ(received, 200);
  // Never more than the limit plus the one message that was admitted below it.
  EXPECT_LE(peak, sc.max_queued_write_bytes + 110 * 1024);
  c->Shutdown();
  RunFor(2s);
}

// Post() (replies the sync layer queues without waiting) never grows the queue past its bound: a
// peer that asks for more than it reads loses the session, with its own reason, and the node
// keeps its memory. Below the bound nothing is lost.
TEST_F(SessionTest, PostClosesTheSessionRatherThanQueuePastItsBound) {
  SessionConfig sc;
  sc.max_queue_bytes = 1 << 20;
  auto [c, s] = Pair(Config(true, a_), Config(false, b_), sc);
  RunFor(500ms);  // the handshake
  ASSERT_TRUE(c->ready() && s->ready());
  int received = 0;
  s->on_message([&](ByteView) { ++received; });
  // Within the bound: all queued, all delivered.
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(c->Post(Bytes(128 * 1024, 1)));
  RunFor(500ms);
  EXPECT_EQ(received, 7);
  EXPECT_FALSE(c->closed());
  // Queued faster than anything can be written (no write runs between these calls).
  std::size_t peak = 0;
  int posted = 0;
  while (posted < 100 && c->Post(Bytes(128 * 1024, 2))) {
    ++posted;
    peak = std::max(peak, c->queued_bytes());
  }
  EXPECT_EQ(posted, 7) << "eight messages and their framing pass 1 MiB";
  EXPECT_LE(peak, sc.max_queue_bytes);
  ASSERT_TRUE(c->closed());
  EXPECT_EQ(c->closed()->reason, CloseReason::kOverloaded);
  EXPECT_STREQ(ToString(c->closed()->reason), "send_queue_full");
  EXPECT_EQ(c->queued_bytes(), 0u);
  RunFor(500ms);
  EXPECT_TRUE(s->closed());
}

TEST_F(SessionTest, HundredConcurrentSessionsToOneListener) {
  constexpr int kClients = 100;
  auto acc = std::make_shared<tcp::acceptor>(Listen());
  const auto endpoint = acc->local_endpoint();
  std::vector<std::shared_ptr<Session>> servers, clients;
  int echoed = 0;
  asio::co_spawn(
      io_,
      [&, acc]() -> asio::awaitable<void> {
        for (int i = 0; i < kClients; ++i) {
          auto [ec, sock] = co_await acc->async_accept(kUseTuple);
          if (ec) co_return;
          auto s = *Session::Create(std::move(sock), Config(false, b_), {});
          servers.push_back(s);
          s->on_message([&](ByteView m) {
            if (std::string(m.begin(), m.end()).rfind("client ", 0) == 0) ++echoed;
          });
          asio::co_spawn(co_await asio::this_coro::executor, s->Run(), asio::detached);
        }
      },
      asio::detached);
  for (int i = 0; i < kClients; ++i) {
    asio::co_spawn(
        io_,
        [&, i]() -> asio::awaitable<void> {
          tcp::socket sock(co_await asio::this_coro::executor);
          auto [ec] = co_await sock.async_connect(endpoint, kUseTuple);
          if (ec) co_return;
          auto c = *Session::Create(std::move(sock), Config(true, a_), {});
          clients.push_back(c);
          asio::co_spawn(co_await asio::this_coro::executor, c->Run(), asio::detached);
          if (!co_await c->WaitReady()) co_return;
          const std::string text = "client " + std::to_string(i);
          co_await c->Send(Bytes(text.begin(), text.end()));
        },
        asio::detached);
  }
  io_.restart();
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  auto all_ready = [&] {
    if (static_cast<int>(servers.size()) < kClients) return false;
    for (auto& s : servers) {
      if (!s->ready()) return false;
    }
    return echoed == kClients;
  };
  while (!all_ready() && std::chrono::steady_clock::now() < deadline) io_.run_for(100ms);
  EXPECT_EQ(static_cast<int>(servers.size()), kClients);
  EXPECT_EQ(echoed, kClients);
  int ready = 0;
  for (auto& s : servers) ready += s->ready();
  EXPECT_EQ(ready, kClients);
  for (auto& c : clients) c->Shutdown();
  RunFor(3s);
}

}  // namespace
}  // namespace polder::net
