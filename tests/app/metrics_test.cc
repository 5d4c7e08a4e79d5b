// GET /metrics on a running node's local API: what the node stored and sent, behind the API
// token unless metrics_public; the [api] settings as read from polder.toml.
#include <algorithm>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "node/app/home.h"
#include "tests/app/api_fixture.h"

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

TEST(Metrics, EndpointNeedsTheTokenAndCountsWhatTheNodeStored) {
  Network net(2, 2, 5);
  net.Start(0, {});
  net.Start(1, {0});
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 20s));
  for (int e = 0; e < 5; ++e) ASSERT_TRUE(net.RandomEvent(1));
  ASSERT_TRUE(net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 20s));

  NodeApi api(net, 0);
  EXPECT_EQ(api.Get("/metrics", "").status, 401);
  EXPECT_EQ(api.Get("/metrics", std::string(64, '0')).status, 401);
  const Reply ok = api.Get("/metrics", api.token);
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
  api.api().Stop();

  // [api] metrics_public = true: no token needed for /metrics (the rest still needs it).
  NodeApi open(net, 0, api::ApiSettings{true});
  const Reply pub = open.Get("/metrics", "");
  EXPECT_EQ(pub.status, 200);
  EXPECT_NE(pub.body.find("polder_events_stored_total"), std::string::npos);
  EXPECT_EQ(open.Get("/api/v1/node", "").status, 401);
}

TEST(Metrics, ApiSettingsAreReadFromTheApiSection) {
  Network net(1, 1, 3);
  auto home = app::Home::Resolve(net.member(0).dir);
  ASSERT_TRUE(home);
  auto before = app::ReadApiSettings(*home);
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->metrics_public);
  EXPECT_EQ(before->node_wait, api::kDefaultNodeWait);
  {
    std::ofstream out(home->profile_file(), std::ios::app);
    out << "\n[api]\nmetrics_public = true\nnode_wait_ms = 250\n";
  }
  auto after = app::ReadApiSettings(*home);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->metrics_public);
  EXPECT_EQ(after->node_wait, std::chrono::milliseconds(250));
}

}  // namespace
}  // namespace polder::testing
