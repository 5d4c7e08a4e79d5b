// The pending set's bounds: a member who floods it with events past a gap that never closes
// evicts only their own oldest events; another member's honest gap still fills.
#include <filesystem>

#include <gtest/gtest.h>

#include "storage/replica.h"
#include "tests/testutil/circle.h"

namespace polder::storage {
namespace {

using testutil::TestCircle;

class PendingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("polder-pending-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto r = Replica::Open(dir_ / "replica.sqlite3");
    ASSERT_TRUE(r.has_value());
    replica_ = std::move(*r);
    ASSERT_TRUE(replica_->SetCircle(c_.circle()).has_value());
    bob_ = c_.Admit(0, "Bob", "Org B");
    carol_ = c_.Admit(0, "Carol", "Org C");
    for (const auto& ev : c_.events()) ASSERT_EQ(In(ev).outcome, Outcome::kApplied);
  }
  void TearDown() override {
    replica_.reset();
    std::filesystem::remove_all(dir_);
  }

  IngestOptions Opt() const {
    IngestOptions o(c_.now() + 1000);
    o.max_pending = 50;
    o.max_pending_per_author = 1000;
    return o;
  }
  IngestResult In(const Bytes& ev) { return In(ev, IngestOptions(c_.now() + 1000)); }
  IngestResult In(const Bytes& ev, const IngestOptions& opt) {
    auto r = replica_->IngestOne(ev, opt);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : IngestResult{};
  }
  // `n` events of `who` signed in order; the caller decides which to deliver.
  std::vector<Bytes> Log(int who, int n) {
    std::vector<Bytes> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(c_.Next(who, [&](v1::EventBody& b) {
        b.mutable_comment()->set_text("comment " + std::to_string(i));
      }));
    }
    return out;
  }
  std::uint64_t HeadSeq(int who) {
    return replica_->state().OwnLog(c_.key(who).public_key())->head_seq;
  }
  std::uint64_t PendingNow() { return replica_->Pending()->events; }

  TestCircle c_;
  std::filesystem::path dir_;
  std::unique_ptr<Replica> replica_;
  int bob_ = 0, carol_ = 0;
};

TEST_F(PendingTest, FloodPastAGapCannotGrowTheSetAndAnHonestGapStillFills) {
  // Carol's seq 1 is late; seq 2 and 3 wait for it.
  const auto carol = Log(carol_, 3);
  // Bob never sends his seq 1 and floods 400 events past it.
  const auto bob = Log(bob_, 401);
  auto opt = Opt();
  EXPECT_EQ(In(carol[1], opt).outcome, Outcome::kPending);
  EXPECT_EQ(In(carol[2], opt).outcome, Outcome::kPending);
  for (std::size_t i = 1; i < bob.size(); ++i) {
    EXPECT_EQ(In(bob[i], opt).outcome, Outcome::kPending) << "bob's event " << i;
    ASSERT_LE(PendingNow(), 50u) << "after bob's event " << i;
  }
  const auto stats = *replica_->Pending();
  EXPECT_EQ(stats.events, 50u);
  EXPECT_EQ(stats.evicted, 400u - 48u) << "bob keeps 48 of his 400, carol her 2";
  // Only bob lost events, and the ones he keeps are his newest.
  const auto evicted = replica_->TakeEvicted();
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted.begin()->first, c_.key(bob_).public_key());
  EXPECT_EQ(evicted.begin()->second, 352u);
  EXPECT_TRUE(replica_->TakeEvicted().empty()) << "taken once";
  std::map<std::uint64_t, EventId> beyond;
  ASSERT_EQ(replica_->events().VectorOf(c_.key(bob_).public_key(), &beyond)->seq, 0u);
  ASSERT_EQ(beyond.size(), 48u);
  EXPECT_EQ(beyond.begin()->first, 401u - 48u + 1u);
  EXPECT_EQ(beyond.rbegin()->first, 401u);

  // Carol's missing event arrives: her whole log applies.
  EXPECT_EQ(In(carol[0], opt).outcome, Outcome::kApplied);
  EXPECT_EQ(HeadSeq(carol_), 3u);
  EXPECT_EQ(PendingNow(), 48u);
  // Bob's seq 1 arrives too: it applies; the events that were evicted must come again.
  EXPECT_EQ(In(bob[0], opt).outcome, Outcome::kApplied);
  EXPECT_EQ(HeadSeq(bob_), 1u);
  for (std::size_t i = 1; i <= 352; ++i) In(bob[i], opt);
  EXPECT_EQ(HeadSeq(bob_), 401u);
  EXPECT_EQ(PendingNow(), 0u);
  EXPECT_EQ(replica_->events().Counts()->pending, 0u);
}

TEST_F(PendingTest, OneMembersShareIsBoundedEvenWhenTheSetHasRoom) {
  const auto bob = Log(bob_, 101);
  auto opt = Opt();
  opt.max_pending = 1000;
  opt.max_pending_per_author = 30;
  auto r = replica_->Ingest(std::span(bob).subspan(1), opt);  // one batch
  ASSERT_TRUE(r.has_value());
  for (const auto& x : *r) EXPECT_EQ(x.outcome, Outcome::kPending);
  EXPECT_EQ(PendingNow(), 30u);
  EXPECT_EQ(replica_->Pending()->evicted, 70u);
}

TEST_F(PendingTest, BytesAreBoundedToo) {
  const auto bob = Log(bob_, 201);
  const auto carol = Log(carol_, 2);
  auto opt = Opt();
  opt.max_pending = 1000;
  opt.max_pending_bytes = 20 * 1024;
  EXPECT_EQ(In(carol[1], opt).outcome, Outcome::kPending);
  for (std::size_t i = 1; i < bob.size(); ++i) In(bob[i], opt);
  const auto stats = *replica_->Pending();
  EXPECT_LE(stats.bytes, 20u * 1024u);
  EXPECT_GT(stats.evicted, 0u);
  EXPECT_EQ(In(carol[0], opt).outcome, Outcome::kApplied);
  EXPECT_EQ(HeadSeq(carol_), 2u) << "carol's pending event survived bob's flood";
}

TEST_F(PendingTest, ReopenedReplicaRecountsTheSetItFinds) {
  const auto bob = Log(bob_, 41);
  auto opt = Opt();
  opt.max_pending = 40;
  for (std::size_t i = 1; i < bob.size(); ++i) In(bob[i], opt);
  EXPECT_EQ(PendingNow(), 40u);
  replica_.reset();
  replica_ = std::move(*Replica::Open(dir_ / "replica.sqlite3"));
  // A new author's waiting event evicts bob's oldest, not nothing and not everything.
  const auto carol = Log(carol_, 2);
  EXPECT_EQ(In(carol[1], opt).outcome, Outcome::kPending);
  EXPECT_EQ(PendingNow(), 40u);
  EXPECT_EQ(replica_->Pending()->evicted, 1u);
  std::map<std::uint64_t, EventId> beyond;
  ASSERT_TRUE(replica_->events().VectorOf(c_.key(bob_).public_key(), &beyond));
  EXPECT_EQ(beyond.begin()->first, 3u) << "bob's oldest (seq 2) went first";
}

// What a seal names (docs/protocol.md §15): per author, the last event of the held run by the
// deadline; an author with none is left out unless forked (then seq 1, so the fork is reported).
TEST_F(PendingTest, VectorAtNamesTheLastEventByTheCutOff) {
  const auto bob = c_.key(bob_).public_key();
  EventId first, second;
  ASSERT_EQ(In(c_.Next(
                   bob_, [](v1::EventBody& b) { b.mutable_comment()->set_text("1"); }, &first))
                .outcome,
            Outcome::kApplied);
  const std::int64_t before_bob = c_.now() - 1;
  c_.Advance(1000);
  ASSERT_EQ(In(c_.Next(
                   bob_, [](v1::EventBody& b) { b.mutable_comment()->set_text("2"); }, &second))
                .outcome,
            Outcome::kApplied);
  const std::int64_t cutoff = c_.now();
  c_.Advance(1000);
  ASSERT_EQ(In(c_.Next(bob_, [](v1::EventBody& b) { b.mutable_comment()->set_text("3"); })).outcome,
            Outcome::kApplied);
  auto at = replica_->events().VectorAt(cutoff);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->heads.at(bob).seq, 2u);
  EXPECT_EQ(at->heads.at(bob).id, second);
  EXPECT_EQ(at->heads.at(c_.key(0).public_key()).seq, 3u);      // the charter, two admissions
  EXPECT_EQ(at->heads.count(c_.key(carol_).public_key()), 0u);  // nothing of Carol's
  EXPECT_EQ(replica_->events().Vector()->heads.at(bob).seq, 3u);
  auto early = replica_->events().VectorAt(before_bob);
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->heads.count(bob), 0u);

  // Carol signs two versions of her seq 1: she is forked, and named at seq 1 even before it.
  const Bytes a = c_.Next(
      carol_, [](v1::EventBody& b) { b.mutable_comment()->set_text("laptop"); }, nullptr, false);
  const Bytes b = c_.Next(carol_, [](v1::EventBody& e) { e.mutable_comment()->set_text("phone"); });
  In(a);
  In(b);
  auto forked = replica_->events().VectorAt(before_bob);
  ASSERT_TRUE(forked.has_value());
  const auto& carol = forked->heads.at(c_.key(carol_).public_key());
  EXPECT_EQ(carol.seq, 1u);
  EXPECT_TRUE(carol.forked);
}

}  // namespace
}  // namespace polder::storage
