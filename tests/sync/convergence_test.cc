// Many member nodes in one process on loopback: they find each other, sync and converge.
#include <algorithm>

#include <gtest/gtest.h>

#include "tests/sync/harness.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

std::vector<int> All(int n, int except = -1) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) {
    if (i != except) v.push_back(i);
  }
  return v;
}

TEST(Convergence, TenNodesSparseTopologyThousandEventsLateJoinerAndRestart) {
  constexpr int kNodes = 10;
  constexpr int kEvents = 1000;
  Network net(kNodes, 3, 42);
  // A random sparse topology: each node dials two random nodes started before it (connected),
  // and learns more peers by peer exchange. Node 9 starts late.
  net.Start(0, {});
  for (int i = 1; i < kNodes - 1; ++i) {
    std::vector<int> peers = {static_cast<int>(net.rng()() % i)};
    if (i > 1) peers.push_back(static_cast<int>(net.rng()() % i));
    net.Start(i, peers);
  }
  const auto running = All(kNodes, kNodes - 1);
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual(running); }, 20s))
      << "the admissions did not reach every node";
  for (int e = 0; e < kEvents; ++e) {
    const int at = static_cast<int>(net.rng()() % (kNodes - 1));
    ASSERT_TRUE(net.RandomEvent(at)) << "event " << e;
    if (e % 20 == 0) net.RunFor(5ms);
  }
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual(running); }, 60s))
      << "nine nodes did not converge";
  std::printf(
      "[ info ] %d events from random nodes converged on %d nodes %.0f ms after the last\n",
      kEvents, kNodes - 1,
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  const Digest32 reference = net.StateDigest(0);
  for (int i : running) EXPECT_EQ(net.StateDigest(i), reference) << "node " << i;

  // The late node catches up from one peer.
  net.Start(kNodes - 1, {3});
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual(All(kNodes)); }, 60s))
      << "the late node did not catch up";
  EXPECT_EQ(net.StateDigest(kNodes - 1), reference);

  // A node restarted in the middle of a sync resumes without fetching again what it has.
  auto& m5 = net.member(5);
  const std::uint64_t held_before = m5.session->replica().events().Counts()->events;
  net.Stop(5);
  for (int e = 0; e < 300; ++e) ASSERT_TRUE(net.RandomEvent(static_cast<int>(e % 4)));
  net.RunUntil([&] { return net.VectorsEqual({0, 1, 2, 3, 4, 6, 7, 8, 9}); }, 30s);
  app::NodeConfig slow;
  slow.sync_credit = 8 * 1024;  // small catch-up batches, so it can be stopped in the middle
  net.Start(5, {0}, slow);
  // Stop it again as soon as some (not all) of the missing events have arrived.
  net.RunUntil([&] { return m5.node->syncer().stats().events_stored >= 50; }, 20s);
  const std::uint64_t got_first = m5.node->syncer().stats().events_received;
  net.Stop(5);
  net.Reopen(5);
  const std::uint64_t held_mid = m5.session->replica().events().Counts()->events;
  EXPECT_GT(held_mid, held_before);
  net.Start(5, {0});
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual(All(kNodes)); }, 60s));
  const std::uint64_t got_second = m5.node->syncer().stats().events_received;
  const std::uint64_t missing_at_restart = 300 - (held_mid - held_before);
  std::printf("[ info ] restart: %llu events before the stop, %llu after (missing %llu)\n",
              static_cast<unsigned long long>(got_first),
              static_cast<unsigned long long>(got_second),
              static_cast<unsigned long long>(missing_at_restart));
  // What it already held is not sent again (pushes of brand-new events may still duplicate).
  EXPECT_LE(got_second, missing_at_restart + 30);
  EXPECT_EQ(net.StateDigest(5), net.StateDigest(0));
}

}  // namespace
}  // namespace polder::testing
