// GET /metrics on the local API: Prometheus text, behind the API token unless metrics_public.
#include "node/app/metrics.h"

#include <algorithm>
#include <fstream>
#include <future>
#include <utility>

#include <gtest/gtest.h>
#include <httplib.h>

#include "crypto/key_file.h"
#include "node/app/home.h"
#include "tests/sync/harness.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

// The value of the sample `series` (name with labels, exactly as exposed), or -1 if absent.
double Sample(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const auto at = ("\n" + text).find(key);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + key.size() - 1));
}

TEST(Metrics, RendersCountersAndGaugesWithTheirLabels) {
  app::MetricsSnapshot s;
  s.sync.events_stored = 7;
  s.sync.events_authored = 3;
  s.sync.refused_by_reason["bad_signature"] = 2;
  s.sync.cut_off_by_reason["invalid_event"] = 1;
  s.sync.pushes_dropped = 4;
  s.sync.notes_ignored = 5;
  s.sync.bytes_out = 1000;
  s.sync.bytes_out_by_message["hello"] = 100;
  s.sync.bytes_out_by_message["push"] = 900;
  s.sessions_inbound = 2;
  s.sessions_outbound = 1;
  s.sync_lag_events = 12;
  s.pending_evicted = 9;
  const std::string text = app::RenderMetrics(s);
  EXPECT_EQ(Sample(text, "polder_events_stored_total"), 10);
  EXPECT_EQ(Sample(text, "polder_events_refused_total{reason=\"bad_signature\"}"), 2);
  EXPECT_EQ(Sample(text, "polder_peers_cut_off_total{reason=\"invalid_event\"}"), 1);
  EXPECT_EQ(Sample(text, "polder_push_dropped_total"), 4);
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

struct Reply {
  int status = -1;
  std::string body;
};

// GETs `path` on another thread while the node's io_context runs on this one (the API hands its
// work to the node's thread and waits for it).
Reply Get(Network& net, int port, const std::string& path, const std::string& token) {
  auto f = std::async(std::launch::async, [port, path, token] {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(20, 0);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    Reply r;
    if (auto res = c.Get(path, h)) {
      r.status = res->status;
      r.body = res->body;
    }
    return r;
  });
  net.RunUntil([&] { return f.wait_for(0s) == std::future_status::ready; }, 30s);
  return f.get();
}

TEST(Metrics, EndpointNeedsTheTokenAndCountsWhatTheNodeStored) {
  Network net(2, 2, 5);
  // Member 1's home says [api] metrics_public = true: no token needed for its /metrics (the rest
  // of its API still needs it).
  auto public_home = app::Home::Resolve(net.member(1).dir);
  ASSERT_TRUE(public_home);
  {
    std::ofstream out(public_home->profile_file(), std::ios::app);
    out << "\n[api]\nmetrics_public = true\n";
  }
  net.Start(0, {}, {}, Network::Api::kOn);
  net.Start(1, {0}, {}, Network::Api::kOn);
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 20s));
  for (int e = 0; e < 5; ++e) ASSERT_TRUE(net.RandomEvent(1));
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 20s));

  auto home = app::Home::Resolve(net.member(0).dir);
  ASSERT_TRUE(home);
  const int port = net.member(0).daemon->api_port();
  ASSERT_GT(port, 0);
  auto raw = crypto::LoadSecretFile(home->api_token_file(), app::kApiTokenHeader, 32);
  ASSERT_TRUE(raw);
  const std::string token = ToHex(*raw);

  EXPECT_EQ(Get(net, port, "/metrics", "").status, 401);
  EXPECT_EQ(Get(net, port, "/metrics", std::string(64, '0')).status, 401);
  const Reply ok = Get(net, port, "/metrics", token);
  ASSERT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("polder_events_stored_total"), std::string::npos);
  // Node 0 received the five events member 1 authored (and maybe more: nothing else authors).
  EXPECT_GE(Sample(ok.body, "polder_events_stored_total"), 5);
  EXPECT_EQ(Sample(ok.body, "polder_sessions{direction=\"inbound\"}"), 1);
  EXPECT_EQ(Sample(ok.body, "polder_sync_lag_events"), 0);
  // Every byte sent is counted under one message type; node 0 greeted node 1 at least.
  double by_message = 0;
  for (const char* m :
       {"hello", "vector", "push", "batch", "credit", "peers", "prune", "graft", "have", "want"}) {
    by_message += std::max(
        0.0, Sample(ok.body, std::string("polder_sync_bytes_sent_total{message=\"") + m + "\"}"));
  }
  EXPECT_GT(Sample(ok.body, "polder_sync_bytes_sent_total{message=\"hello\"}"), 0);
  EXPECT_EQ(by_message, Sample(ok.body, "polder_bytes_sent_total"));

  const int public_port = net.member(1).daemon->api_port();
  ASSERT_GT(public_port, 0);
  const Reply pub = Get(net, public_port, "/metrics", "");
  EXPECT_EQ(pub.status, 200);
  EXPECT_NE(pub.body.find("polder_events_stored_total"), std::string::npos);
  EXPECT_EQ(Get(net, public_port, "/api/v1/node", "").status, 401);
}

TEST(Metrics, PublicSettingIsReadFromTheApiSection) {
  Network net(1, 1, 3);
  auto home = app::Home::Resolve(net.member(0).dir);
  ASSERT_TRUE(home);
  auto before = app::ReadApiSettings(*home);
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->metrics_public);
  {
    std::ofstream out(home->profile_file(), std::ios::app);
    out << "\n[api]\nmetrics_public = true\n";
  }
  auto after = app::ReadApiSettings(*home);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->metrics_public);
}

}  // namespace
}  // namespace polder::testing
