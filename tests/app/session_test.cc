// app::Session authoring: what the own log guarantees when the replica's commit fails.
#include <gtest/gtest.h>

#include "tests/sync/harness.h"

namespace polder::testing {
namespace {

void Comment(v1::EventBody& b, const char* text) { b.mutable_comment()->set_text(text); }

// Issue 15: a commit that fails after the own-log append (a full disk, an I/O error) leaves a
// signed event in the own log only. The next write puts that event in first and takes the seq after
// it; before, a long-running node signed a second event at the same seq and forked its member.
TEST(OwnLog, AWriteAfterAFailedCommitPlacesTheSignedEventFirstAndNeverForks) {
  Network net(1, 1, 21);
  auto& s = *net.member(0).session;
  const MemberKey me = s.key().public_key();
  const auto before = s.replica().state().OwnLog(me);
  ASSERT_TRUE(before);
  const std::uint64_t head = before->head_seq;

  s.set_after_own_log_append([] { return Fail(Errc::kIo, "disk full (injected)"); });
  auto lost = s.Author([](v1::EventBody& b) { Comment(b, "written to the own log only"); });
  ASSERT_FALSE(lost);
  EXPECT_NE(lost.error().message.find("disk full"), std::string::npos) << lost.error().message;
  EXPECT_EQ(s.replica().state().OwnLog(me)->head_seq, head) << "the replica did not commit it";

  s.set_after_own_log_append({});
  auto next = s.Author([](v1::EventBody& b) { Comment(b, "the next one"); });
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->seq, head + 2);
  const auto after = s.replica().state().OwnLog(me);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->head_seq, head + 2);
  EXPECT_FALSE(after->forked);
  EXPECT_EQ(after->max_seen_seq, head + 2);
  auto counts = s.replica().events().Counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->forked_authors, 0u);
  EXPECT_EQ(counts->frozen, 0u);
  auto verified = s.replica().Verify();
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->derived_state_matches);
}

}  // namespace
}  // namespace polder::testing
