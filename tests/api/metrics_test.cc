// RenderMetrics: a MetricsSnapshot as Prometheus text, with the families' types and labels.
#include "node/api/metrics.h"

#include <string>

#include <gtest/gtest.h>

namespace polder::testing {
namespace {

// The value of the sample `series` (name with labels, exactly as exposed), or -1 if absent.
double Sample(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const auto at = ("\n" + text).find(key);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + key.size() - 1));
}

TEST(Metrics, RendersCountersAndGaugesWithTheirLabels) {
  api::MetricsSnapshot s;
  s.sync.events_stored = 7;
  s.sync.events_authored = 3;
  s.sync.refused_by_reason["bad_signature"] = 2;
  s.sync.cut_off_by_reason["invalid_event"] = 1;
  s.handshakes_refused["not_member"] = 3;
  s.sync.pushes_dropped = 4;
  s.sync.pushes_refused = 6;
  s.sync.sources_stalled = 8;
  s.sync.messages_ignored = 9;
  s.sync.notes_ignored = 5;
  s.sync.bytes_out = 1000;
  s.sync.bytes_out_by_message["hello"] = 100;
  s.sync.bytes_out_by_message["push"] = 900;
  s.sessions_inbound = 2;
  s.sessions_outbound = 1;
  s.sync_lag_events = 12;
  s.pending_evicted = 9;
  const std::string text = api::RenderMetrics(s);
  EXPECT_EQ(Sample(text, "polder_events_stored_total"), 10);
  EXPECT_EQ(Sample(text, "polder_events_refused_total{reason=\"bad_signature\"}"), 2);
  EXPECT_EQ(Sample(text, "polder_peers_cut_off_total{reason=\"invalid_event\"}"), 1);
  EXPECT_EQ(Sample(text, "polder_handshakes_refused_total{reason=\"not_member\"}"), 3);
  EXPECT_EQ(Sample(text, "polder_push_dropped_total"), 4);
  EXPECT_EQ(Sample(text, "polder_push_refused_total"), 6);
  EXPECT_EQ(Sample(text, "polder_sync_sources_stalled_total"), 8);
  EXPECT_EQ(Sample(text, "polder_sync_messages_ignored_total"), 9);
  EXPECT_EQ(Sample(text, "polder_sync_notes_ignored_total"), 5);
  EXPECT_EQ(Sample(text, "polder_bytes_sent_total"), 1000);
  EXPECT_EQ(Sample(text, "polder_sync_bytes_sent_total{message=\"hello\"}"), 100);
  EXPECT_EQ(Sample(text, "polder_sync_bytes_sent_total{message=\"push\"}"), 900);
  EXPECT_EQ(Sample(text, "polder_sessions{direction=\"inbound\"}"), 2);
  EXPECT_EQ(Sample(text, "polder_sessions{direction=\"outbound\"}"), 1);
  EXPECT_EQ(Sample(text, "polder_sync_lag_events"), 12);
  EXPECT_EQ(Sample(text, "polder_pending_evicted_total"), 9);
  EXPECT_NE(text.find("# TYPE polder_events_stored_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE polder_sessions gauge"), std::string::npos);
}

}  // namespace
}  // namespace polder::testing
