// A late node reports its catch-up as received / expected and ends with received == expected.
#include <gtest/gtest.h>

#include "tests/sync/harness.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

TEST(CatchUpProgress, LateNodeReportsExpectedEventsAndReachesThem) {
  constexpr int kEvents = 600;
  Network net(3, 3, 11);
  net.Start(0, {});
  net.Start(1, {0});
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 20s));
  for (int e = 0; e < kEvents; ++e) ASSERT_TRUE(net.RandomEvent(e % 2)) << "event " << e;
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 30s));

  // Node 2 starts late, with a small credit so its catch-up takes many round trips.
  app::NodeConfig slow;
  slow.sync_credit = 16 * 1024;
  net.Start(2, {0}, slow);
  auto& node = *net.member(2).node;
  std::vector<sync::Progress> finished;
  node.on_caught_up = [&](const sync::Progress& p) { finished.push_back(p); };
  std::uint64_t most_expected = 0, most_received_while_catching_up = 0;
  bool saw_rate = false;
  ASSERT_TRUE(net.RunUntil(
      [&] {
        const auto v = node.View().sync();
        if (v.catching_up()) {
          most_expected = std::max(most_expected, v.expected());
          most_received_while_catching_up = std::max(most_received_while_catching_up, v.received());
          EXPECT_LE(v.received(), v.expected());
          EXPECT_EQ(v.expected(), v.received() + v.missing());
          saw_rate |= v.rate_events_per_s() > 0;
        }
        return net.VectorsEqual({0, 1, 2}) && !v.catching_up();
      },
      60s))
      << "the late node did not catch up";
  // What it lacked: everything after the admissions (member 0's charter and admissions it holds).
  EXPECT_GE(most_expected, static_cast<std::uint64_t>(kEvents));
  EXPECT_GT(most_received_while_catching_up, 0u) << "progress moved while catching up";
  EXPECT_TRUE(saw_rate);
  const auto v = node.View().sync();
  EXPECT_FALSE(v.catching_up());
  EXPECT_EQ(v.received(), v.expected());
  EXPECT_EQ(v.missing(), 0u);
  ASSERT_FALSE(finished.empty());
  EXPECT_GE(finished.front().received, static_cast<std::uint64_t>(kEvents));
  EXPECT_EQ(finished.front().received, finished.front().expected);
  EXPECT_EQ(net.StateDigest(2), net.StateDigest(0));
}

}  // namespace
}  // namespace polder::testing
