// LocalApi against a fake node: the token, the routes' answers for good and bad requests, and a
// request the node's thread does not take in time (503, nothing authored).
#include "node/api/local_api.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "node/api/client.h"
#include "tests/api/fake_node.h"
#include "tests/testutil/run.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

struct Reply {
  int status = -1;
  std::string body;
  // The ErrorView's code ("permission", "refused", ...), if the body is one.
  std::string code() const {
    auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    return j.is_object() && j.contains("code") ? j["code"].get<std::string>() : "";
  }
};

class LocalApiTest : public ::testing::Test {
 protected:
  void Start(api::ApiSettings settings = {}) {
    const std::filesystem::path dir = testutil::TempDir("api");
    files_ = {dir / "api.json", dir / "api.token"};
    api_ = std::make_unique<api::LocalApi>(node_.executor(), node_, files_, settings);
    ASSERT_TRUE(api_->Start());
    auto token = api::ReadToken(files_);
    ASSERT_TRUE(token);
    token_ = *token;
  }

  httplib::Headers Auth(const std::string& token) const {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return h;
  }
  Reply Get(const std::string& path, const std::string& token) {
    httplib::Client c("127.0.0.1", api_->port());
    c.set_read_timeout(10, 0);
    Reply r;
    if (auto res = c.Get(path, Auth(token))) r = {res->status, res->body};
    return r;
  }
  Reply Post(const std::string& path, const std::string& body, const std::string& token) {
    httplib::Client c("127.0.0.1", api_->port());
    c.set_read_timeout(10, 0);
    Reply r;
    if (auto res = c.Post(path, Auth(token), body, "application/json"))
      r = {res->status, res->body};
    return r;
  }
  Reply Author(const std::string& body) { return Post("/api/v1/author", body, token_); }

  FakeNode node_;  // outlives api_
  api::ApiFiles files_;
  std::unique_ptr<api::LocalApi> api_;
  std::string token_;
};

TEST_F(LocalApiTest, HealthzAnswersWithoutToken) {
  Start();
  const Reply r = Get("/healthz", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(LocalApiTest, MissingOrWrongTokenIsUnauthorizedEverywhereElse) {
  Start();
  const std::string wrong(64, '0');
  for (const std::string& token : {std::string(), wrong, token_ + "0"}) {
    SCOPED_TRACE("token '" + token + "'");
    const Reply node = Get("/api/v1/node", token);
    EXPECT_EQ(node.status, 401);
    EXPECT_EQ(node.code(), "permission");
    EXPECT_EQ(Get("/metrics", token).status, 401);
    const Reply author = Post("/api/v1/author", R"({"comment": {"text": "hi"}})", token);
    EXPECT_EQ(author.status, 401);
    EXPECT_EQ(author.code(), "permission");
  }
  node_.Drain();
  EXPECT_EQ(node_.authored, 0u);
}

TEST_F(LocalApiTest, NodeRouteAnswersTheNodesView) {
  Start();
  const Reply r = Get("/api/v1/node", token_);
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["listen"], "127.0.0.1:7714");
  EXPECT_EQ(j["pid"], "42");  // 64-bit integers are strings in protobuf's JSON
}

TEST_F(LocalApiTest, AuthorAnswersWithTheReceipt) {
  Start();
  const Reply r = Author(R"({"comment": {"text": "hello"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["kind"], "comment");
  EXPECT_EQ(j["seq"], "1");
  EXPECT_EQ(j["event_id"], std::string(64, 'a'));
  node_.Drain();
  EXPECT_EQ(node_.authored, 1u);
  EXPECT_EQ(node_.last_text, "hello");
}

TEST_F(LocalApiTest, BodyThatIsNotAnEventPayloadIsABadRequest) {
  Start();
  for (const char* body : {"", "not json", "[1, 2]", "{}", R"({"seq": "3"})",
                           R"({"comment": {"text": 5, "nope": 1}})", R"({"no_such_field": {}})"}) {
    SCOPED_TRACE(body);
    const Reply r = Author(body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.code(), "invalid_argument");
  }
  node_.Drain();
  EXPECT_EQ(node_.authored, 0u);
}

TEST_F(LocalApiTest, RefusedPayloadIsUnprocessableAndChangesNothing) {
  Start();
  const Reply r = Author(R"({"comment": {"text": ""}})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.code(), "refused");
  node_.Drain();
  EXPECT_EQ(node_.authored, 0u);
}

TEST_F(LocalApiTest, MetricsNeedTheTokenUnlessPublic) {
  Start();
  EXPECT_EQ(Get("/metrics", "").status, 401);
  const Reply ok = Get("/metrics", token_);
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("polder_events_stored_total"), std::string::npos);
  api_->Stop();

  api::ApiSettings open;
  open.metrics_public = true;
  Start(open);
  const Reply pub = Get("/metrics", "");
  EXPECT_EQ(pub.status, 200);
  EXPECT_NE(pub.body.find("polder_events_stored_total"), std::string::npos);
  EXPECT_EQ(Get("/api/v1/node", "").status, 401);  // only /metrics is public
}

TEST_F(LocalApiTest, AuthorNotTakenInTimeIsUnavailableAndAuthorsNothing) {
  api::ApiSettings quick;
  quick.node_wait = 100ms;
  Start(quick);
  node_.Block();
  const Reply busy = Author(R"({"comment": {"text": "first try"}})");
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.code(), "unavailable");
  node_.Unblock();
  node_.Drain();  // the given-up task has had its turn: it did nothing
  EXPECT_EQ(node_.authored, 0u);
  // The retry authors the event, once.
  const Reply retry = Author(R"({"comment": {"text": "retry"}})");
  EXPECT_EQ(retry.status, 200);
  node_.Drain();
  EXPECT_EQ(node_.authored, 1u);
  EXPECT_EQ(node_.last_text, "retry");
}

TEST_F(LocalApiTest, ClientFindsTheNodeAndReadsItsAnswers) {
  Start();
  auto client = api::ApiClient::Find(files_);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->address(), "127.0.0.1:" + std::to_string(api_->port()));
  auto info = client->NodeInfo();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->listen(), "127.0.0.1:7714");
  v1::EventBody body;
  body.mutable_comment()->set_text("through the client");
  auto receipt = client->Author(body);
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->seq(), 1u);
  body.mutable_comment()->clear_text();
  auto refused = client->Author(body);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kRefused);
  // Once the API stops, api.json is gone and no client finds it.
  api_->Stop();
  EXPECT_FALSE(std::filesystem::exists(files_.address));
  EXPECT_FALSE(api::ApiClient::Find(files_));
}

}  // namespace
}  // namespace polder::testing
