// ProgressMeter: catch-up progress that means something — events received of events expected,
// the rate over a recent window and the time left — computed from figures the node samples.
//
// Pure: no clock (time comes in as monotonic milliseconds), no I/O. The node feeds it the
// syncer's stored-event counter and Syncer::Expected() (what connected peers hold that this
// replica lacks); tests feed it made-up figures.
//
// Thread-safety: none; one owner.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace polder::sync {

// The rate is measured over this much recent time (long enough to smooth batch bursts, short
// enough to follow a peer that slows down).
inline constexpr std::int64_t kProgressWindowMs = 10'000;
// Samples closer together than this are not kept (bounds the window's memory: ≤ 51 samples).
inline constexpr std::int64_t kProgressSampleMs = 200;

struct Progress {
  bool catching_up = false;      // peers hold events this replica lacks
  std::uint64_t received = 0;    // events stored since this (or the last) catch-up began
  std::uint64_t expected = 0;    // received + still missing; equal to received once done
  std::uint64_t missing = 0;     // what peers hold that this replica lacks, now
  double rate_events_per_s = 0;  // over the last kProgressWindowMs (0 until two samples)
  std::optional<double> eta_s;   // missing / rate; unknown while nothing arrives
  double elapsed_s = 0;          // since this (or the last) catch-up began
};

class ProgressMeter {
 public:
  explicit ProgressMeter(std::int64_t window_ms = kProgressWindowMs);

  // Records the node's figures at `now_ms` (monotonic, never decreasing): `stored_total` is the
  // count of events stored from peers so far (any counter that only grows), `missing` what peers
  // hold that the replica lacks. A catch-up begins when `missing` becomes positive and ends when
  // it returns to 0. Returns true exactly when a catch-up has just ended (then Current() holds
  // its final figures: received == expected).
  bool Observe(std::int64_t now_ms, std::uint64_t stored_total, std::uint64_t missing);

  // Figures as of the last Observe.
  const Progress& Current() const { return current_; }

 private:
  struct Sample {
    std::int64_t at_ms;
    std::uint64_t stored;
  };
  std::int64_t window_ms_;
  bool active_ = false;
  std::int64_t started_ms_ = 0;
  std::uint64_t baseline_ = 0;  // stored_total when the catch-up began
  std::deque<Sample> samples_;
  Progress current_;
};

// "1200 of 5000 events, 830 events/s, about 5 s left" (status lines and the node's log).
std::string DescribeProgress(const Progress& p);
// "42 s", "3 min 5 s", "2 h 10 min".
std::string DescribeSeconds(double seconds);

}  // namespace polder::sync
