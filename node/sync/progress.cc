#include "node/sync/progress.h"

#include <cmath>

namespace polder::sync {

ProgressMeter::ProgressMeter(std::int64_t window_ms) : window_ms_(window_ms) {}

bool ProgressMeter::Observe(std::int64_t now_ms, std::uint64_t stored_total,
                            std::uint64_t missing) {
  if (!active_) {
    if (missing == 0) return false;  // nothing to catch up; keep the last catch-up's figures
    active_ = true;
    started_ms_ = now_ms;
    baseline_ = stored_total;
    samples_.clear();
  }
  if (samples_.empty() || now_ms - samples_.back().at_ms >= kProgressSampleMs) {
    samples_.push_back(Sample{now_ms, stored_total});
  }
  // Keep one sample at or before the window's start, so the rate spans the whole window.
  while (samples_.size() >= 2 && samples_[1].at_ms <= now_ms - window_ms_) samples_.pop_front();
  const Sample& first = samples_.front();
  const std::int64_t span_ms = now_ms - first.at_ms;
  double rate = 0;
  if (span_ms > 0 && stored_total >= first.stored) {
    rate = static_cast<double>(stored_total - first.stored) * 1000.0 / static_cast<double>(span_ms);
  }
  Progress p;
  p.received = stored_total >= baseline_ ? stored_total - baseline_ : 0;
  p.missing = missing;
  p.expected = p.received + missing;
  p.rate_events_per_s = rate;
  p.elapsed_s = static_cast<double>(now_ms - started_ms_) / 1000.0;
  if (missing == 0) {
    active_ = false;
    p.catching_up = false;
    p.eta_s = 0.0;
    current_ = p;
    return true;
  }
  p.catching_up = true;
  if (rate > 0) p.eta_s = static_cast<double>(missing) / rate;
  current_ = p;
  return false;
}

std::string DescribeSeconds(double seconds) {
  if (!(seconds >= 0) || seconds > 1e9) return "?";
  const auto s = static_cast<std::int64_t>(std::llround(seconds));
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) {
    return std::to_string(s / 60) + " min" + (s % 60 ? " " + std::to_string(s % 60) + " s" : "");
  }
  return std::to_string(s / 3600) + " h" +
         (s % 3600 / 60 ? " " + std::to_string(s % 3600 / 60) + " min" : "");
}

std::string DescribeProgress(const Progress& p) {
  std::string out = std::to_string(p.received) + " of " + std::to_string(p.expected) + " events";
  if (!p.catching_up) return out + " in " + DescribeSeconds(p.elapsed_s);
  out += ", " + std::to_string(static_cast<std::uint64_t>(std::llround(p.rate_events_per_s))) +
         " events/s";
  out += p.eta_s ? ", about " + DescribeSeconds(*p.eta_s) + " left" : ", time left unknown";
  return out;
}

}  // namespace polder::sync
