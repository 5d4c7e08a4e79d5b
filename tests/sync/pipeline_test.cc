// The catch-up pipeline and credit, on the syncer alone: two replicas joined by in-memory links
// whose messages the test delivers, so that a slow receiver and a verification on another thread
// can be staged exactly.
#include <algorithm>
#include <deque>
#include <filesystem>

#include <gtest/gtest.h>

#include "node/sync/limits.h"
#include "node/sync/replica_store.h"
#include "node/sync/syncer.h"
#include "storage/replica.h"
#include "tests/testutil/circle.h"
#include "tests/testutil/run.h"

namespace polder::sync {
namespace {

class PipeWire : public Link {
 public:
  bool Send(Bytes m) override {
    if (closed) return false;
    out.push_back(std::move(m));
    return true;
  }
  std::size_t queued_bytes() const override { return 0; }
  void Close(std::string reason) override {
    closed = true;
    why = std::move(reason);
  }
  std::deque<Bytes> out;
  bool closed = false;
  std::string why;
};

struct Offloaded {
  std::function<void()> work, then;
};

// `src` holds `n` events, `dst` holds only the circle; dst grants `credit` bytes of catch-up.
class Pair {
 public:
  Pair(std::size_t n, std::uint64_t credit) : dir_(testutil::TempDir("syncer")) {
    testutil::FillBenchCircle(c_, n);
    src_r_ = std::move(*storage::Replica::Open(dir_ / "src.sqlite3"));
    dst_r_ = std::move(*storage::Replica::Open(dir_ / "dst.sqlite3"));
    EXPECT_TRUE(src_r_->SetCircle(c_.circle()));
    EXPECT_TRUE(dst_r_->SetCircle(c_.circle()));
    EXPECT_TRUE(src_r_->Ingest(c_.events(), storage::IngestOptions(c_.now() + 1000)));
    auto now = [this] { return c_.now() + 1000; };
    src_s_ = std::make_unique<ReplicaStore>(*src_r_);
    dst_s_ = std::make_unique<ReplicaStore>(*dst_r_);
    src = std::make_unique<Syncer>(*src_s_, Syncer::Options{now, nullptr, {}, credit, {}, {}, {}});
    dst = std::make_unique<Syncer>(*dst_s_, Syncer::Options{now, nullptr, {}, credit, {}, {}, {}});
    // The receiver commits only when the test says so (a slow disk, or a busy thread).
    dst->set_schedule_flush([this] { flush_asked = true; });
    EXPECT_TRUE(src->Load());
    EXPECT_TRUE(dst->Load());
    src_peer = src->AddPeer(c_.key(1).public_key(), to_dst);
    dst_peer = dst->AddPeer(c_.key(0).public_key(), to_src);
  }
  ~Pair() {
    src.reset();
    dst.reset();
    src_s_.reset();
    dst_s_.reset();
    src_r_.reset();
    dst_r_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Delivers every queued message both ways until none is left (bounded).
  void Deliver() {
    for (int i = 0; i < 100000 && (!to_dst->out.empty() || !to_src->out.empty()); ++i) {
      DeliverOne();
    }
  }
  // Delivers one message to the receiver, then whatever it answered.
  void DeliverOne() {
    if (!to_dst->out.empty() && dst) {
      Bytes m = std::move(to_dst->out.front());
      to_dst->out.pop_front();
      dst->OnMessage(dst_peer, m);
    }
    while (!to_src->out.empty()) {
      Bytes m = std::move(to_src->out.front());
      to_src->out.pop_front();
      src->OnMessage(src_peer, m);
    }
  }
  // The receiver's verifications wait in `jobs` until the test runs them.
  void QueueOffloadsIn(std::deque<Offloaded>& jobs) {
    dst->set_offload([&jobs](std::function<void()> work, std::function<void()> then) {
      jobs.push_back({std::move(work), std::move(then)});
    });
  }
  bool InSync() const { return src->vector().Digest() == dst->vector().Digest(); }
  testutil::TestCircle& circle() { return c_; }
  storage::Replica& dst_replica() { return *dst_r_; }

  std::unique_ptr<Syncer> src, dst;
  std::shared_ptr<PipeWire> to_dst = std::make_shared<PipeWire>(),
                            to_src = std::make_shared<PipeWire>();
  PeerId src_peer = 0, dst_peer = 0;
  bool flush_asked = false;

 private:
  testutil::TestCircle c_;
  std::filesystem::path dir_;
  std::unique_ptr<storage::Replica> src_r_, dst_r_;
  std::unique_ptr<ReplicaStore> src_s_, dst_s_;  // the syncers' views of the replicas
};

// Before credit counted the same bytes on both sides, the source counted its pages' event bytes
// and the receiver whole messages: the receiver's view of the credit fell a few bytes per event
// behind the source's, and a receiver that commits only after the source has spent its credit
// (a slow disk) cut the honest source off for "sending beyond its credit".
TEST(Syncer, ASlowReceiverNeverCutsOffAnHonestSourceOverCredit) {
  // A credit of many pages: the few bytes per event by which the counts differed add up to more
  // than the receiver's slack within one credit.
  Pair pair(6000, 1 << 20);
  int commits = 0;
  for (; commits < 200 && !pair.InSync(); ++commits) {
    pair.Deliver();  // the source sends until its credit is spent
    ASSERT_FALSE(pair.to_src->closed) << pair.to_src->why;
    ASSERT_FALSE(pair.to_dst->closed) << pair.to_dst->why;
    pair.dst->Flush();  // only now does the receiver commit, and grant as much again
  }
  pair.Deliver();
  EXPECT_TRUE(pair.InSync());
  EXPECT_GE(commits, 2) << "the credit should have run out";
  EXPECT_EQ(pair.dst->stats().events_stored, pair.circle().events().size());
  EXPECT_EQ(pair.dst->stats().peers_cut_off, 0u);
}

// With an offload, a large batch is verified "elsewhere" (here: when the test runs the work),
// events arriving meanwhile wait, and batches commit in arrival order.
TEST(Syncer, OffloadedBatchesCommitInArrivalOrderWhileTheNextIsVerified) {
  Pair pair(6000, 1 << 20);
  std::deque<Offloaded> jobs;
  pair.QueueOffloadsIn(jobs);
  int overlapped = 0;
  for (int step = 0; step < 1000 && !pair.InSync(); ++step) {
    if (jobs.empty()) {
      pair.DeliverOne();  // a batch arrives and is sent to be verified
      pair.dst->Flush();
      continue;
    }
    pair.Deliver();  // more arrives while it is verified
    if (jobs.empty()) {
      pair.dst->Flush();
      continue;
    }
    ASSERT_EQ(jobs.size(), 1u) << "one batch is verified at a time";
    EXPECT_TRUE(pair.dst->verifying());
    const auto stored_before = pair.dst->stats().events_stored;
    pair.dst->Flush();  // arrivals wait for the batch being verified
    EXPECT_EQ(pair.dst->stats().events_stored, stored_before);
    ASSERT_EQ(jobs.size(), 1u);
    Offloaded job = std::move(jobs.front());
    jobs.pop_front();
    job.work();
    job.then();  // commits it, after starting the next verification if enough has arrived
    overlapped += !jobs.empty();
    EXPECT_GT(pair.dst->stats().events_stored, stored_before);
  }
  pair.Deliver();
  EXPECT_TRUE(pair.InSync());
  EXPECT_GT(overlapped, 0) << "the next batch's verification should start before a commit";
  EXPECT_GT(pair.dst->stats().batches_offloaded, 1u);
  EXPECT_EQ(pair.dst->stats().events_stored, pair.circle().events().size());
  EXPECT_EQ(pair.dst->stats().peers_cut_off, 0u);
  // Nothing was held pending: every batch came in the order the source sent it.
  EXPECT_EQ(pair.dst_replica().events().Counts()->pending, 0u);
}

// A push (one event) is not worth a trip to another thread: it is committed at once.
TEST(Syncer, SmallBatchesAreNotOffloaded) {
  Pair pair(200, 1 << 20);
  int offloads = 0;
  pair.dst->set_offload([&](std::function<void()> work, std::function<void()> then) {
    ++offloads;
    work();
    then();
  });
  for (int i = 0; i < 10 && !pair.InSync(); ++i) {
    pair.Deliver();
    pair.dst->Flush();
  }
  ASSERT_TRUE(pair.InSync());
  EXPECT_EQ(offloads, 1) << "the catch-up of 200 events is one batch";
  EXPECT_EQ(pair.dst->stats().batches_offloaded, 1u);
}

// The syncer may be destroyed (its node stopped) while a batch is verified elsewhere: the
// completion then does nothing, and the batch, never credited, is sent again another time.
TEST(Syncer, CompletionAfterTheSyncerIsGoneDoesNothing) {
  Pair pair(1000, 1 << 20);
  std::deque<Offloaded> jobs;
  pair.QueueOffloadsIn(jobs);
  pair.Deliver();
  pair.dst->Flush();
  ASSERT_EQ(jobs.size(), 1u);
  pair.dst.reset();
  jobs.front().work();
  jobs.front().then();  // must not touch the destroyed syncer (ASan would see it)
  EXPECT_EQ(pair.dst_replica().events().Counts()->events, 0u);
}

// What no credit covers waits in the inbox up to kMaxInboxBytesPerPeer per peer: a peer that
// pushes more while the receiver is busy (here: it commits only when the test says so) loses the
// session, and the inbox never holds more. Before, the inbox grew without bound.
TEST(Syncer, APeerThatPushesMoreThanItsShareOfTheInboxIsCutOff) {
  Pair pair(10, 1 << 20);
  auto link = std::make_shared<PipeWire>();
  const PeerId hostile = pair.dst->AddPeer(pair.circle().key(2).public_key(), link);
  v1::SyncMessage m;
  m.mutable_events()->set_push(true);
  // Bytes nobody can check before the commit (they are not events at all).
  for (int i = 0; i < 10; ++i) m.mutable_events()->add_events(std::string(60000, '\xff'));
  const std::string s = m.SerializeAsString();
  int sent = 0;
  for (; sent < 100 && !link->closed; ++sent) pair.dst->OnMessage(hostile, AsBytes(s));
  EXPECT_TRUE(link->closed);
  EXPECT_NE(link->why.find("uncredited"), std::string::npos) << link->why;
  EXPECT_EQ(sent, static_cast<int>(kMaxInboxBytesPerPeer / 600000) + 1);
  EXPECT_LE(pair.dst->inbox_bytes(), kMaxInboxBytesPerPeer);
  EXPECT_EQ(pair.dst->stats().cut_off_by_reason.at("inbox_full"), 1u);
}

// Past kMaxInboxBytes from all peers together, pushes are refused (counted) rather than queued:
// many peers each within their share cannot make the inbox hold more.
TEST(Syncer, TheInboxRefusesPushesPastItsBoundFromAllPeers) {
  Pair pair(10, 1 << 20);
  v1::SyncMessage m;
  m.mutable_events()->set_push(true);
  for (int i = 0; i < 10; ++i) m.mutable_events()->add_events(std::string(60000, '\xff'));
  const std::string s = m.SerializeAsString();
  std::vector<std::shared_ptr<PipeWire>> links;
  for (int k = 2; k < 8; ++k) {
    links.push_back(std::make_shared<PipeWire>());
    const PeerId id = pair.dst->AddPeer(pair.circle().key(k).public_key(), links.back());
    for (std::size_t bytes = 0; bytes + 600000 <= kMaxInboxBytesPerPeer; bytes += 600000) {
      pair.dst->OnMessage(id, AsBytes(s));
    }
  }
  EXPECT_LE(pair.dst->inbox_bytes(), kMaxInboxBytes);
  EXPECT_GT(pair.dst->stats().pushes_refused, 0u);
  for (const auto& l : links) EXPECT_FALSE(l->closed) << l->why;
  pair.dst->Flush();  // what was queued is checked: not events, so each sender is cut off
  EXPECT_EQ(pair.dst->inbox_bytes(), 0u);
  const auto closed = static_cast<std::size_t>(
      std::count_if(links.begin(), links.end(), [](const auto& l) { return l->closed; }));
  EXPECT_EQ(pair.dst->stats().cut_off_by_reason.at("invalid_event"), closed);
  EXPECT_LT(closed, links.size()) << "the last peer's pushes were all refused, none queued";
}

// Only what a peer's credit covered is granted again once committed. Before, a peer that held
// no credit (not the catch-up source) and sent a page anyway was credited for it.
TEST(Syncer, APeerWithoutCreditEarnsNoneBySendingCatchUpAnyway) {
  Pair pair(10, 1 << 20);
  auto link = std::make_shared<PipeWire>();
  const PeerId other = pair.dst->AddPeer(pair.circle().key(2).public_key(), link);
  link->out.clear();  // its greeting (which granted no credit)
  v1::SyncMessage m;
  m.mutable_events()->set_push(false);
  const Bytes& first = pair.circle().events().front();
  m.mutable_events()->add_events(first.data(), first.size());
  const std::string s = m.SerializeAsString();
  pair.dst->OnMessage(other, AsBytes(s));
  pair.dst->Flush();
  EXPECT_EQ(pair.dst->stats().events_stored, 1u);
  for (const Bytes& out : link->out) {
    v1::SyncMessage sent;
    ASSERT_TRUE(sent.ParseFromArray(out.data(), static_cast<int>(out.size())));
    EXPECT_FALSE(sent.has_credit()) << "granted " << sent.credit().bytes() << " bytes";
  }
}

}  // namespace
}  // namespace polder::sync
