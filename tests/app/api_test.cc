// The local API on a real node (app::NodeApiPort over app::Node): authoring through it and a
// refused payload.
#include <chrono>
#include <string>

#include <gtest/gtest.h>
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
  auto own = s.replica().OwnLog(s.key().public_key());
  EXPECT_TRUE(own);
  return own ? own->head_seq : 0;
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
  auto own = s.replica().OwnLog(s.key().public_key());
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

}  // namespace
}  // namespace polder::testing
