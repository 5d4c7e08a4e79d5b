// The local API on a real node (app::NodeApiPort over app::Node): authoring through it, a refused
// payload, and a request that gives up while the node's thread is busy — it answers 503 and
// authors nothing, so a retry cannot create the event twice (the author handler used to hand the
// node's thread a task borrowing the request's payload, and let it run after answering 503).
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <utility>

#include <asio/post.hpp>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "crypto/member_id.h"
#include "tests/app/api_fixture.h"

namespace polder::testing {
namespace {

using namespace std::chrono_literals;

const char* const kComment = R"({"comment": {"text": "hello"}})";

// The head of member i's own log in its replica: it moves exactly when the node authors.
std::uint64_t OwnHead(Network& net, int i) {
  auto& s = *net.member(i).session;
  auto own = s.replica().state().OwnLog(s.key().public_key());
  EXPECT_TRUE(own);
  return own ? own->head_seq : 0;
}

// Blocks the node's thread (the network's io_context) until the returned promise is set.
std::promise<void> BlockNodeThread(Network& net) {
  std::promise<void> release;
  asio::post(net.io(), [released = release.get_future().share()] { released.wait(); });
  return release;
}

TEST(NodeApi, AuthorAnswersWithTheReceiptOfTheStoredEvent) {
  Network net(1, 1, 11);
  net.Start(0, {});
  NodeApi api(net, 0);
  const auto before = OwnHead(net, 0);
  const Reply r = api.Author(kComment);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["kind"], "comment");
  EXPECT_EQ(j["seq"], std::to_string(before + 1));
  auto& s = *net.member(0).session;
  EXPECT_EQ(j["author"], crypto::FormatMemberId(s.key().public_key()));
  EXPECT_EQ(j["circle_id"], net.circle().hex());
  EXPECT_EQ(OwnHead(net, 0), before + 1);
  auto own = s.replica().state().OwnLog(s.key().public_key());
  ASSERT_TRUE(own && own->head_id);
  EXPECT_EQ(j["event_id"], own->head_id->hex());
}

TEST(NodeApi, RefusedPayloadIsUnprocessableAndChangesNothing) {
  Network net(1, 1, 12);
  net.Start(0, {});
  NodeApi api(net, 0);
  const auto before = OwnHead(net, 0);
  const Digest32 digest = net.StateDigest(0);
  // A title longer than the event limits allow: the ingest gate refuses it.
  const std::string title(1000, 't');
  const Reply r = api.Author(R"({"proposal": {"title": ")" + title +
                             R"(", "amount_minor": "100", "deadline_ms": "4102444800000"}})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["code"], "refused");
  EXPECT_EQ(OwnHead(net, 0), before);
  EXPECT_EQ(net.StateDigest(0), digest);
}

TEST(NodeApi, AuthorRequestThatGivesUpAuthorsNothing) {
  Network net(1, 1, 13);
  net.Start(0, {});
  api::ApiSettings quick;
  quick.node_wait = 200ms;
  NodeApi api(net, 0, quick);
  const auto before = OwnHead(net, 0);

  auto release = BlockNodeThread(net);
  auto reply = std::async(std::launch::async, [&, port = api.port()] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    auto res = c.Post("/api/v1/author", {{"Authorization", "Bearer " + api.token}}, kComment,
                      "application/json");
    release.set_value();  // the node's thread goes on only once the client has its answer
    return res ? res->status : -1;
  });
  ASSERT_TRUE(net.RunUntil([&] { return reply.wait_for(0s) == std::future_status::ready; }, 90s));
  EXPECT_EQ(reply.get(), 503);
  net.RunFor(300ms);  // whatever was queued for the node's thread has run now
  EXPECT_EQ(OwnHead(net, 0), before) << "a request answered 503 authored an event";

  const Reply retry = api.Author(kComment);
  EXPECT_EQ(retry.status, 200);
  EXPECT_EQ(OwnHead(net, 0), before + 1);
}

// The client retries on the same connection while the node's thread is still busy. On that
// connection the retry's handler runs on the same server thread as the first try's did, so a task
// left behind by the first try that borrowed its payload would find the retry's payload there,
// and the event would be authored twice for one success.
TEST(NodeApi, RetryWhileTheNodeIsBusyAuthorsOnce) {
  Network net(1, 1, 14);
  net.Start(0, {});
  api::ApiSettings quick;
  quick.node_wait = 200ms;
  NodeApi api(net, 0, quick);
  const auto before = OwnHead(net, 0);

  auto release = BlockNodeThread(net);
  auto replies = std::async(std::launch::async, [&, port = api.port()] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    c.set_keep_alive(true);
    const httplib::Headers h{{"Authorization", "Bearer " + api.token}};
    auto first = c.Post("/api/v1/author", h, kComment, "application/json");
    // Unblock while the retry waits for the node's thread (well within its wait).
    std::thread unblock([&] {
      std::this_thread::sleep_for(50ms);
      release.set_value();
    });
    auto retry = c.Post("/api/v1/author", h, kComment, "application/json");
    unblock.join();
    return std::make_pair(first ? first->status : -1, retry ? retry->status : -1);
  });
  ASSERT_TRUE(net.RunUntil([&] { return replies.wait_for(0s) == std::future_status::ready; }, 90s));
  const auto [first, retry] = replies.get();
  EXPECT_EQ(first, 503);
  net.RunFor(300ms);
  if (retry == 200) {
    EXPECT_EQ(OwnHead(net, 0), before + 1) << "one 503 and one success must leave one event";
  } else {
    // The retry may itself have given up if the machine was slow to unblock: then nothing.
    EXPECT_EQ(retry, 503);
    EXPECT_EQ(OwnHead(net, 0), before);
  }
}

}  // namespace
}  // namespace polder::testing
