// Partitions and hostile peers, on loopback in one process.
#include <atomic>
#include <functional>
#include <set>
#include <thread>
#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "node/app/circle_state.h"
#include "node/decide/tally.h"
#include "node/net/session.h"
#include "node/sync/messages.h"
#include "storage/limits.h"
#include "storage/rulebook/limits.h"
#include "storage/rulebook/sign.h"
#include "tests/sync/harness.h"
#include "tests/sync/hostile_client.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

TEST(Partition, TwoGroupsKeepWorkingApartThenConverge) {
  constexpr int kNodes = 6;
  Network net(kNodes, 3, 7);
  auto partitioned = std::make_shared<bool>(false);
  std::vector<MemberKey> keys;
  for (int i = 0; i < kNodes; ++i) keys.push_back(net.member(i).session->key().public_key());
  auto group = [keys](const MemberKey& k) {
    for (int i = 0; i < kNodes; ++i) {
      if (keys[static_cast<std::size_t>(i)] == k) return i < kNodes / 2 ? 0 : 1;
    }
    return -1;
  };
  for (int i = 0; i < kNodes; ++i) {
    app::NodeConfig cfg;
    cfg.backoff_max = 1s;
    cfg.anti_entropy = 500ms;
    const int mine = i < kNodes / 2 ? 0 : 1;
    cfg.accept_peer = [partitioned, group, mine](const MemberKey& k) {
      return !*partitioned || group(k) == mine;
    };
    std::vector<int> peers;
    for (int j = 0; j < i; ++j) peers.push_back(j);  // a full mesh of dials
    net.Start(i, peers, cfg);
  }
  std::vector<int> all = {0, 1, 2, 3, 4, 5};
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual(all); }, 20s));
  // Cut the network in two: {0,1,2} and {3,4,5}.
  *partitioned = true;
  for (int i = 0; i < kNodes; ++i) net.member(i).node->Recheck();
  net.RunFor(200ms);
  for (int e = 0; e < 60; ++e) ASSERT_TRUE(net.RandomEvent(e % kNodes));
  ASSERT_TRUE(net.RunUntil(
      [&] {
        return net.VectorsEqual({0, 1, 2}) && net.VectorsEqual({3, 4, 5});
      },
      20s))
      << "each side converges on its own";
  EXPECT_FALSE(net.VectorsEqual(all)) << "the sides cannot have exchanged anything";
  EXPECT_NE(net.StateDigest(0), net.StateDigest(3));
  // Heal.
  *partitioned = false;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual(all); }, 30s)) << "did not heal";
  std::printf(
      "[ info ] healed in %.0f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  const Digest32 d = net.StateDigest(0);
  for (int i = 1; i < kNodes; ++i) EXPECT_EQ(net.StateDigest(i), d) << "node " << i;
}

// A member's node that misbehaves: connects to an honest node with valid credentials, then
// sends `messages`. Returns why the honest node ended the session (if it did).
struct HostileRun {
  std::optional<net::Closed> closed;
  bool ready = false;
};

HostileRun RunHostile(Network& net, int hostile, int honest, std::vector<Bytes> messages,
                      std::chrono::milliseconds wait = 5s,
                      const std::function<bool()>& done = nullptr) {
  HostileRun out;
  auto& io = net.io();
  asio::ip::tcp::socket sock(io);
  sock.connect(net.member(honest).node->local_endpoint());
  auto s = *net::Session::Create(std::move(sock), MemberTransport(net, hostile), {});
  s->on_ready([s, messages] {
    for (const auto& m : messages) s->Post(m);
  });
  asio::co_spawn(io, s->Run(), asio::detached);
  net.RunUntil([&] { return s->closed().has_value() || (done && done()); }, wait);
  out.closed = s->closed();
  out.ready = s->ready();
  s->Close(net::CloseReason::kShutdown);
  net.RunFor(50ms);
  return out;
}

Bytes Message(const v1::SyncMessage& m) {
  const std::string s = m.SerializeAsString();
  return Bytes(s.begin(), s.end());
}

Bytes Batch(const std::vector<Bytes>& events, bool push = true) {
  v1::SyncMessage m;
  m.mutable_events()->set_push(push);
  for (const auto& e : events) m.mutable_events()->add_events(e.data(), e.size());
  return Message(m);
}

TEST(HostilePeer, IsCutOffAndChangesNothing) {
  Network net(4, 2, 11);
  app::NodeConfig no_cooloff;  // the same member misbehaves again at once, in each way below
  no_cooloff.cut_off_cooldown = 0ms;
  net.Start(0, {}, no_cooloff);
  net.Start(1, {0});
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 10s));
  for (int e = 0; e < 10; ++e) ASSERT_TRUE(net.RandomEvent(e % 2));
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 10s));
  const int hostile = 3;  // an admitted member whose node misbehaves
  auto& hk = net.member(hostile).session->key();
  const auto victim_key = net.member(2).session->key().public_key();
  auto body = [&](std::uint64_t seq, const std::string& text) {
    v1::EventBody b;
    b.set_circle_id(net.circle().str());
    b.set_author(hk.public_key().str());
    b.set_seq(seq);
    if (seq > 1) b.set_prev(std::string(32, '\x07'));  // an event nobody has
    b.set_timestamp_ms(app::NowMs());
    b.mutable_comment()->set_text(text);
    return b;
  };
  const Digest32 before = net.StateDigest(0);
  const auto counts_before = *net.member(0).session->replica().events().Counts();
  std::uint64_t cut_before = net.member(0).node->syncer().stats().peers_cut_off;

  // 1. Garbage instead of a sync message.
  auto r = RunHostile(net, hostile, 0, {Bytes{0xff, 0xff, 0xff, 0x01, 0x02}});
  ASSERT_TRUE(r.ready);
  ASSERT_TRUE(r.closed.has_value()) << "garbage protobuf";
  // 2. A bad signature.
  Bytes bad = rulebook::Sign(hk, body(1, "x"), nullptr);
  bad[bad.size() - 3] ^= 1;
  r = RunHostile(net, hostile, 0, {Batch({bad})});
  ASSERT_TRUE(r.closed.has_value()) << "bad signature";
  // 3. A forged author: signed by the hostile key, claiming to be member 2.
  v1::EventBody forged = body(1, "forged");
  forged.set_author(victim_key.str());
  r = RunHostile(net, hostile, 0, {Batch({rulebook::Sign(hk, forged, nullptr)})});
  ASSERT_TRUE(r.closed.has_value()) << "forged author";
  // 4. An oversized batch (more events than a batch may hold).
  std::vector<Bytes> many(sync::kMaxBatchEventsIn + 1, Bytes{1});
  r = RunHostile(net, hostile, 0, {Batch(many)});
  ASSERT_TRUE(r.closed.has_value()) << "oversized batch";
  // 5. Catch-up beyond the credit granted: node 0 catches up from node 1 and grants the newcomer
  // no catch-up credit, so a catch-up batch of (valid, already held) events over the slack (one
  // event's largest size, by which a page may pass the credit) is a breach.
  std::vector<Bytes> held;
  ASSERT_TRUE(net.member(0).session->replica().events().ForEachEvent([&](ByteView e) -> Status {
    held.emplace_back(e.begin(), e.end());
    return {};
  }));
  ASSERT_GT(held.size(), 12u);
  std::size_t bytes = 0;
  for (const auto& e : held) bytes += e.size();
  for (std::size_t i = 0, n = held.size(); bytes <= 2 * rulebook::kMaxEventBytes; ++i) {
    held.push_back(held[i % n]);
    bytes += held.back().size();
  }
  r = RunHostile(net, hostile, 0, {Batch(held, /*push=*/false)});
  ASSERT_TRUE(r.closed.has_value()) << "beyond credit";
  EXPECT_EQ(net.member(0).node->syncer().stats().peers_cut_off, cut_before + 5);
  EXPECT_EQ(net.StateDigest(0), before) << "nothing the hostile peer sent changed the state";
  EXPECT_EQ(net.member(0).session->replica().events().Counts()->events, counts_before.events);

  // 6. A gap: seq 5 without 1..4 is held pending (it may be honest data arriving out of order)
  // and changes no decision.
  r = RunHostile(net, hostile, 0, {Batch({rulebook::Sign(hk, body(5, "gap"), nullptr)})}, 1s);
  const auto after_gap = *net.member(0).session->replica().events().Counts();
  EXPECT_EQ(after_gap.pending, counts_before.pending + 1)
      << "events " << after_gap.events << " (before " << counts_before.events << "), frozen "
      << after_gap.frozen << ", refused " << net.member(0).node->syncer().stats().refused
      << ", closed " << (r.closed ? r.closed->message : "no");
  // 7. A fork: two different events at seq 1. Both are kept as proof; the author is frozen,
  // and the proof reaches the other honest node.
  r = RunHostile(net, hostile, 0,
                 {Batch({rulebook::Sign(hk, body(1, "one"), nullptr),
                         rulebook::Sign(hk, body(1, "two"), nullptr)})},
                 1s);
  auto forked = [&](int i) {
    auto own = net.member(i).session->replica().state().OwnLog(hk.public_key());
    return own && own->forked;
  };
  ASSERT_TRUE(net.RunUntil([&] { return forked(0) && forked(1); }, 10s))
      << "the fork proof did not reach every honest node";
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 10s));
  EXPECT_EQ(net.StateDigest(0), net.StateDigest(1));
}

// A member's node floods an honest node with events past a gap that never closes: the honest
// node's pending set keeps to one author's share, the rest is evicted and counted, and its
// version vector never claims what it no longer holds.
TEST(HostilePeer, FloodPastAGapIsBoundedAndItsVectorStaysTrue) {
  Network net(3, 2, 13);
  net.Start(0, {});
  net.Start(1, {0});
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 10s));
  const int hostile = 2;
  auto& hk = net.member(hostile).session->key();
  constexpr auto kFlood = static_cast<std::uint64_t>(storage::kMaxPendingPerAuthor) + 200;
  std::vector<Bytes> batches;
  std::vector<Bytes> batch;
  const std::int64_t now = app::NowMs();
  for (std::uint64_t seq = 2; seq < kFlood + 2; ++seq) {
    v1::EventBody b;
    b.set_circle_id(net.circle().str());
    b.set_author(hk.public_key().str());
    b.set_seq(seq);
    b.set_prev(std::string(32, '\x07'));  // seq 1 never comes
    b.set_timestamp_ms(now);
    b.mutable_comment()->set_text("flood");
    batch.push_back(rulebook::Sign(hk, b, nullptr));
    if (batch.size() == 5000) batches.push_back(Batch(std::exchange(batch, {})));
  }
  if (!batch.empty()) batches.push_back(Batch(batch));
  auto& node = *net.member(0).node;
  const auto r = RunHostile(net, hostile, 0, batches, 60s,
                            [&] { return node.syncer().stats().events_stored >= kFlood; });
  EXPECT_FALSE(r.closed.has_value()) << "events past a gap are not hostile by themselves";
  ASSERT_GE(node.syncer().stats().events_stored, kFlood);
  const auto pending = *net.member(0).session->replica().Pending();
  EXPECT_LE(pending.events, static_cast<std::uint64_t>(storage::kMaxPendingPerAuthor));
  EXPECT_GE(pending.evicted, 200u);
  const auto m = node.Metrics();
  EXPECT_EQ(m.pending_evicted, pending.evicted);
  EXPECT_EQ(node.syncer().vector().SeqOf(hk.public_key()), 0u)
      << "without seq 1, the vector holds nothing of this author";
  // The honest nodes still agree (node 1 received node 0's pushes and bounded them too).
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 30s));
  EXPECT_EQ(net.StateDigest(0), net.StateDigest(1));
}

// Issue 15: "a 45-byte Want queues up to ~320 KiB of reply" — a member that asks for much more
// than it reads drove a node's send queue to 128 MiB. Now the queue stops at its bound: the node
// closes that session (send_queue_full, counted in its metrics) and goes on serving the others.
// The hostile member speaks the protocol itself (a Transport over a blocking socket, on its own
// thread): it completes the handshake, sends 500 Wants for member 1's whole log, and never reads.
TEST(HostilePeer, WantsItNeverReadsCostItTheSessionNotTheNodesMemory) {
  Network net(4, 2, 17);
  net.Start(0, {});
  net.Start(1, {0});
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 10s));
  // Member 1's log: 400 comments of 8 KiB (3.2 MB), so that each Want is answered with its most.
  const std::string text(8000, 'w');
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(
        net.member(1).node->Author([&](v1::EventBody& b) { b.mutable_comment()->set_text(text); }));
  }
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 20s));
  const auto wanted = net.member(1).session->key().public_key();

  const int hostile = 3;
  v1::SyncMessage want;
  auto* note = want.mutable_want()->add_notes();
  note->set_author(wanted.str());
  note->set_seq(1);
  const std::string want_bytes = want.SerializeAsString();
  int left = 500;
  auto client =
      std::make_unique<HostileClient>(net.member(0).node->local_endpoint(),
                                      MemberTransport(net, hostile), [&]() -> std::optional<Bytes> {
                                        if (left-- <= 0) return std::nullopt;
                                        return Bytes(want_bytes.begin(), want_bytes.end());
                                      });
  auto cut = [&] {
    const auto m = net.member(0).node->Metrics();
    auto it = m.sync.cut_off_by_reason.find("send_queue_full");
    return it == m.sync.cut_off_by_reason.end() ? std::uint64_t{0} : it->second;
  };
  const bool was_cut = net.RunUntil([&] { return cut() > 0; }, 30s);
  EXPECT_TRUE(client->WaitSent(10s)) << client->failure();
  EXPECT_EQ(client->sent(), 500);
  client.reset();
  EXPECT_TRUE(was_cut) << "the node should close the session at its send-queue bound";
  EXPECT_EQ(cut(), 1u);
  // The node goes on serving its members.
  ASSERT_TRUE(net.RandomEvent(1));
  EXPECT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 10s));
  // And refuses the member that was cut off for a while (NodeConfig::cut_off_cooldown): a new
  // session is closed as soon as the node knows who it is (an honest one stays open).
  const auto again = RunHostile(net, hostile, 0, {}, 3s);
  EXPECT_TRUE(again.closed) << "a cut-off member is refused during its cool-off";
  EXPECT_FALSE(net.HasPeer(0, hostile));
  net.RunFor(100ms);
  const auto refused = net.member(0).node->Metrics().handshakes_refused;
  ASSERT_TRUE(refused.count("not_accepted"));
  EXPECT_EQ(refused.at("not_accepted"), 1u);
}

// Issue 15: a member that claims, in its Vector, events it never sends kept a node "catching
// up" for good, and a node that is catching up did not seal: one fake Vector stopped a round from
// ever becoming final there. Now the claim stops counting once the peer stalls as the source
// (kSourceStall), and a node seals at the latest seal_catch_up_wait after the grace.
TEST(HostilePeer, AVectorClaimingEventsItNeverSendsDoesNotStopANodeFromSealing) {
  Network net(3, 3, 23);
  for (int i = 0; i < 2; ++i) {
    app::NodeConfig cfg;
    cfg.seal_grace = 300ms;
    cfg.seal_check = 100ms;
    cfg.seal_catch_up_wait = 2s;
    net.Start(i, i == 0 ? std::vector<int>{} : std::vector<int>{0}, cfg);
  }
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 10s));
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const std::int64_t deadline = now() + 1500;
  auto proposal = net.member(1).node->Author([&](v1::EventBody& b) {
    b.mutable_proposal()->set_title("tools");
    b.mutable_proposal()->set_amount_minor(100);
    b.mutable_proposal()->set_deadline_ms(deadline);
  });
  ASSERT_TRUE(proposal);
  // Member 2 says it holds 100,000 events of member 1's log, and sends none.
  v1::SyncMessage hello;
  hello.mutable_hello()->set_version(sync::kSyncVersion);
  hello.mutable_hello()->set_vector_digest(std::string(32, 'x'));
  hello.mutable_hello()->set_reply(true);
  storage::VersionVector claim;
  claim.heads[net.member(1).session->key().public_key()] = {100000, {}};
  const auto final_at_0 = [&] {
    auto st = app::LoadCircleState(net.member(0).session->replica());
    if (!st) return false;
    for (const auto& o : decide::Tally(*st, now()).proposals) {
      if (o.proposal == proposal->id) return o.finality == decide::Finality::kFinal;
    }
    return false;
  };
  const auto t0 = std::chrono::steady_clock::now();
  bool final_under_claim = false;  // while the claiming session is open
  const auto run = RunHostile(net, 2, 0, {Message(hello), Message(sync::VectorMessage(claim))}, 20s,
                              [&] { return final_under_claim = final_at_0(); });
  EXPECT_TRUE(run.ready);
  EXPECT_FALSE(run.closed) << "the claim is not a reason to cut the member off";
  EXPECT_TRUE(final_under_claim) << "node 0 never sealed: the claim kept it catching up";
  std::printf("[ info ] final on the node under the claim %.1f s after the deadline\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - 1.5);
}

// Issue 15: strangers in numbers filled every inbound slot (32, no cap per address, 10 s to
// finish a handshake), and a member's node could not connect. Now strangers hold handshake places
// only — at most 8 from one address, 16 in all, the oldest giving way to a newer connection — and
// the member's connection gets one and then a slot. Every refusal is counted by reason.
TEST(HostilePeer, StrangersInNumbersDoNotLockAMemberOut) {
  Network net(3, 3, 29);
  net.Start(0, {});
  const auto endpoint = net.member(0).node->local_endpoint();
  // 40 connections from each of three loopback addresses that never say a word.
  std::vector<asio::ip::tcp::socket> strangers;
  for (const char* from : {"127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
    for (int k = 0; k < 40; ++k) {
      asio::ip::tcp::socket sock(net.io());
      asio::error_code ec;
      sock.open(asio::ip::tcp::v4(), ec);
      sock.bind(asio::ip::tcp::endpoint(asio::ip::make_address(from), 0), ec);
      ASSERT_FALSE(ec) << ec.message();
      sock.connect(endpoint, ec);
      ASSERT_FALSE(ec) << ec.message();
      strangers.push_back(std::move(sock));
    }
  }
  auto refused = [&](const std::string& reason) {
    const auto m = net.member(0).node->Metrics();
    auto it = m.handshakes_refused.find(reason);
    return it == m.handshakes_refused.end() ? std::uint64_t{0} : it->second;
  };
  ASSERT_TRUE(net.RunUntil([&] { return refused("per_address") >= 3 * (40 - 8); }, 5s))
      << refused("per_address");
  // Three addresses × 8 places > 16: the oldest gave way to newer ones.
  EXPECT_GE(refused("handshake_evicted"), 8u);
  const auto t0 = std::chrono::steady_clock::now();
  net.Start(1, {0});
  EXPECT_TRUE(net.RunUntil([&] { return net.HasPeer(0, 1) && net.HasPeer(1, 0); }, 5s))
      << "the member's node could not connect while strangers held the places";
  std::printf(
      "[ info ] member connected %.0f ms after it started, under %zu strangers\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
      strangers.size());
  EXPECT_EQ(refused("inbound_full"), 0u);
  for (auto& s : strangers) s.close();
  net.RunFor(100ms);
}

// A node whose outbound places are all taken closes its oldest outbound session now and then
// and dials another member (NodeConfig::outbound_rotation). Before, sessions never changed: in
// the simulation (tests/sync/simulation_test.cc, seed 70) the sessions formed within each side of
// a partition kept the sides apart for good after it healed.
TEST(Peering, ANodeWithItsOutboundPlacesFullRotatesThem) {
  Network net(5, 3, 31);
  app::NodeConfig one;
  one.max_outbound = 1;
  one.outbound_rotation = 0ms;
  net.Start(1, {}, one);
  for (int i = 2; i < 5; ++i) net.Start(i, {1}, one);
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({1, 2, 3, 4}); }, 10s));
  app::NodeConfig rotating = one;
  rotating.outbound_rotation = 200ms;
  net.Start(0, {1, 2, 3, 4}, rotating);
  std::set<int> met;
  net.RunUntil(
      [&] {
        for (int j = 1; j < 5; ++j) {
          if (net.HasPeer(0, j)) met.insert(j);
        }
        return met.size() >= 3;
      },
      10s);
  EXPECT_GE(met.size(), 3u) << "node 0 kept the same outbound session";
  EXPECT_GE(net.member(0).node->View().sessions_opened(), 3u);
  EXPECT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1, 2, 3, 4}); }, 10s));
}

}  // namespace
}  // namespace polder::testing
