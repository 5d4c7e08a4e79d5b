// ProgressMeter: received / expected, the rate over a recent window and the time left, with
// injected time.
#include "node/sync/progress.h"

#include <gtest/gtest.h>

namespace polder::sync {
namespace {

TEST(ProgressMeter, NothingMissingIsNotACatchUp) {
  ProgressMeter m;
  EXPECT_FALSE(m.Observe(0, 10, 0));
  EXPECT_FALSE(m.Observe(1000, 20, 0));
  EXPECT_FALSE(m.Current().catching_up);
  EXPECT_EQ(m.Current().expected, 0u);
}

TEST(ProgressMeter, CountsFromTheStartOfTheCatchUpAndEndsWithReceivedEqualToExpected) {
  ProgressMeter m;
  // 50 events were stored before (pushes); then peers say we lack 1000.
  EXPECT_FALSE(m.Observe(0, 50, 1000));
  EXPECT_TRUE(m.Current().catching_up);
  EXPECT_EQ(m.Current().received, 0u);
  EXPECT_EQ(m.Current().expected, 1000u);
  EXPECT_FALSE(m.Current().eta_s) << "no rate yet, so no ETA";
  EXPECT_FALSE(m.Observe(1000, 250, 800));
  EXPECT_EQ(m.Current().received, 200u);
  EXPECT_EQ(m.Current().expected, 1000u);
  EXPECT_DOUBLE_EQ(m.Current().rate_events_per_s, 200.0);
  ASSERT_TRUE(m.Current().eta_s);
  EXPECT_DOUBLE_EQ(*m.Current().eta_s, 4.0);
  // Peers turn out to hold more: expected grows with them.
  EXPECT_FALSE(m.Observe(2000, 450, 700));
  EXPECT_EQ(m.Current().expected, 400u + 700u);
  EXPECT_TRUE(m.Observe(5000, 1150, 0));
  const Progress& done = m.Current();
  EXPECT_FALSE(done.catching_up);
  EXPECT_EQ(done.received, 1100u);
  EXPECT_EQ(done.received, done.expected);
  EXPECT_DOUBLE_EQ(done.elapsed_s, 5.0);
  // Ended once; the figures stay until the next catch-up.
  EXPECT_FALSE(m.Observe(6000, 1150, 0));
  EXPECT_EQ(m.Current().received, 1100u);
}

TEST(ProgressMeter, RateFollowsTheRecentWindowNotTheWholeCatchUp) {
  ProgressMeter m(/*window_ms=*/10'000);
  std::uint64_t stored = 0;
  std::int64_t t = 0;
  // 30 s at 1000 events/s, then 30 s at 100 events/s, sampled every 500 ms.
  for (; t <= 30'000; t += 500, stored += 500) m.Observe(t, stored, 1'000'000);
  EXPECT_NEAR(m.Current().rate_events_per_s, 1000.0, 1.0);
  for (; t <= 60'000; t += 500, stored += 50) m.Observe(t, stored, 1'000'000);
  EXPECT_NEAR(m.Current().rate_events_per_s, 100.0, 1.0);
  ASSERT_TRUE(m.Current().eta_s);
  EXPECT_NEAR(*m.Current().eta_s, 10'000.0, 10.0);
}

TEST(ProgressMeter, StalledCatchUpHasZeroRateAndNoEta) {
  ProgressMeter m(/*window_ms=*/2'000);
  m.Observe(0, 0, 100);
  m.Observe(1000, 40, 60);
  for (std::int64_t t = 1000; t <= 5000; t += 250) m.Observe(t, 40, 60);
  EXPECT_DOUBLE_EQ(m.Current().rate_events_per_s, 0.0);
  EXPECT_FALSE(m.Current().eta_s);
  EXPECT_EQ(m.Current().received, 40u);
}

TEST(ProgressMeter, ObservingOftenKeepsABoundedWindow) {
  ProgressMeter m(/*window_ms=*/1'000);
  // Every millisecond for 100 s: the rate is still right (memory is bounded by the sampling).
  for (std::int64_t t = 0; t <= 100'000; ++t) {
    m.Observe(t, static_cast<std::uint64_t>(t) * 3, 1);
  }
  EXPECT_NEAR(m.Current().rate_events_per_s, 3000.0, 1.0);
}

TEST(ProgressMeter, DescribesCountsRateAndTimeLeft) {
  Progress p;
  p.catching_up = true;
  p.received = 1200;
  p.expected = 5000;
  p.rate_events_per_s = 830.4;
  p.eta_s = 4.6;
  EXPECT_EQ(DescribeProgress(p), "1200 of 5000 events, 830 events/s, about 5 s left");
  p.eta_s.reset();
  EXPECT_EQ(DescribeProgress(p), "1200 of 5000 events, 830 events/s, time left unknown");
  p.catching_up = false;
  p.received = p.expected = 5000;
  p.elapsed_s = 125;
  EXPECT_EQ(DescribeProgress(p), "5000 of 5000 events in 2 min 5 s");
  EXPECT_EQ(DescribeSeconds(7260), "2 h 1 min");
  EXPECT_EQ(DescribeSeconds(3600), "1 h");
  EXPECT_EQ(DescribeSeconds(-1), "?");
}

}  // namespace
}  // namespace polder::sync
