// The sync protocol without sockets: syncers joined by in-memory links whose messages the test
// delivers (or drops) one at a time, on a clock the test moves.
#include "node/sync/syncer.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "node/sync/replica_store.h"
#include "storage/replica.h"
#include "tests/testutil/circle.h"

namespace polder::sync {
namespace {

using testutil::TestCircle;
using namespace std::chrono_literals;

// One direction of a session: what one syncer sent and the other has not been handed yet.
class Wire : public Link {
 public:
  bool Send(Bytes message) override {
    if (closed) return false;
    v1::SyncMessage m;
    if (!m.ParseFromArray(message.data(), static_cast<int>(message.size()))) return false;
    if (drop && drop(m)) {
      ++dropped;
      return true;
    }
    sent.push_back(m);
    queue.push_back(std::move(message));
    return true;
  }
  int Count(const std::string& message) const {
    return static_cast<int>(std::count_if(
        sent.begin(), sent.end(), [&](const auto& m) { return MessageName(m) == message; }));
  }
  std::size_t queued_bytes() const override { return 0; }
  void Close(std::string reason) override {
    closed = true;
    why = std::move(reason);
  }

  std::deque<Bytes> queue;
  std::vector<v1::SyncMessage> sent;                 // everything that was not dropped, in order
  std::function<bool(const v1::SyncMessage&)> drop;  // true: lost on the way
  int dropped = 0;
  bool closed = false;
  std::string why;
};

class SyncerTest : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<storage::Replica> replica;
    std::unique_ptr<ReplicaStore> store;
    std::unique_ptr<Syncer> syncer;
    int member = 0;  // index in the circle
  };
  struct Pipe {
    int from, to;
    PeerId at_to;  // the sender's id at the receiver
    std::shared_ptr<Wire> wire;
  };

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("polder-syncer-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    nodes_.clear();
    std::filesystem::remove_all(dir_);
  }

  // `n` nodes, each a member of the circle holding the charter and every admission.
  void MakeNodes(int n) {
    std::vector<int> who = {0};
    for (int i = 1; i < n; ++i) {
      who.push_back(c_.Admit(0, "M" + std::to_string(i), "Org " + std::to_string(i % 3)));
    }
    for (int i = 0; i < n; ++i) {
      Node node;
      node.member = who[static_cast<std::size_t>(i)];
      auto r = storage::Replica::Open(dir_ / ("r" + std::to_string(i) + ".sqlite3"));
      ASSERT_TRUE(r.has_value());
      node.replica = std::move(*r);
      ASSERT_TRUE(node.replica->SetCircle(c_.circle()).has_value());
      for (const auto& ev : c_.events()) {
        ASSERT_TRUE(node.replica->IngestOne(ev, storage::IngestOptions(Now())).has_value());
      }
      Syncer::Options o;
      o.now_ms = [this] { return Now(); };
      o.clock = [this] { return clock_; };
      o.identity = &c_.key(node.member);
      o.listen_addresses = {"127.0.0.1:" + std::to_string(7800 + i)};
      o.seed = seed_ + static_cast<std::uint64_t>(i);  // each its own: samples differ by node
      node.store = std::make_unique<ReplicaStore>(*node.replica);
      node.syncer = std::make_unique<Syncer>(*node.store, o);
      ASSERT_TRUE(node.syncer->Load().has_value());
      nodes_.push_back(std::move(node));
    }
  }
  std::int64_t Now() const { return c_.now() + 1000 + later_ms_; }
  const MemberKey& Key(int i) { return c_.key(nodes_[i].member).public_key(); }
  Syncer& S(int i) { return *nodes_[static_cast<std::size_t>(i)].syncer; }

  // A session between nodes a and b; returns the index of the a → b pipe (b → a follows it).
  std::size_t Connect(int a, int b) {
    auto ab = std::make_shared<Wire>();
    auto ba = std::make_shared<Wire>();
    const std::size_t at = pipes_.size();
    pipes_.push_back(Pipe{a, b, 0, ab});
    pipes_.push_back(Pipe{b, a, 0, ba});
    const PeerId b_at_a = S(a).AddPeer(Key(b), ab);
    const PeerId a_at_b = S(b).AddPeer(Key(a), ba);
    pipes_[at].at_to = a_at_b;
    pipes_[at + 1].at_to = b_at_a;
    return at;
  }
  // The id node `from` has for the peer at the other end of pipe `pipe`.
  PeerId PeerAt(std::size_t pipe) { return pipes_[pipe ^ 1].at_to; }

  // Hands over every queued message (and what they cause) until nothing is in flight.
  void Deliver() {
    for (bool any = true; any;) {
      any = false;
      for (auto& p : pipes_) {
        while (!p.wire->queue.empty() && !p.wire->closed) {
          Bytes m = std::move(p.wire->queue.front());
          p.wire->queue.pop_front();
          S(p.to).OnMessage(p.at_to, m);
          any = true;
        }
      }
    }
  }
  // Hands over what is queued on one pipe now (not what that causes).
  void DeliverPipe(std::size_t pipe) {
    auto& p = pipes_[pipe];
    std::deque<Bytes> now = std::move(p.wire->queue);
    p.wire->queue.clear();
    for (const auto& m : now) S(p.to).OnMessage(p.at_to, m);
  }
  void Receive(int at, std::size_t pipe, const v1::SyncMessage& m) {
    const std::string s = m.SerializeAsString();
    S(at).OnMessage(pipes_[pipe].at_to, AsBytes(s));
  }
  // Moves the clock, calls Tick on every node and delivers what that sends.
  void Advance(std::chrono::milliseconds d) {
    clock_ += d;
    for (auto& n : nodes_) n.syncer->Tick();
    Deliver();
  }

  // Node i authors a comment; the syncer learns of it as the node would tell it.
  EventId Author(int i, const std::string& text = "hello") {
    const EventId id = c_.Comment(nodes_[static_cast<std::size_t>(i)].member, text);
    const Bytes& ev = c_.events().back();
    auto r =
        nodes_[static_cast<std::size_t>(i)].replica->IngestOne(ev, storage::IngestOptions(Now()));
    EXPECT_TRUE(r.has_value());
    S(i).OnLocalEvent(ev, Key(i), r->seq);
    return id;
  }
  // An eager push of the circle's newest event, as a peer would send it.
  v1::SyncMessage PushOfLastEvent() const {
    v1::SyncMessage m;
    m.mutable_events()->set_push(true);
    m.mutable_events()->add_events(c_.events().back().data(), c_.events().back().size());
    return m;
  }
  bool Holds(int i, const EventId& id) {
    auto e = nodes_[static_cast<std::size_t>(i)].replica->events().EventBytes(id);
    return e && *e;
  }
  std::uint64_t Sent(int i, const std::string& message) {
    const auto& m = S(i).stats().bytes_out_by_message;
    auto it = m.find(message);
    return it == m.end() ? 0 : it->second;
  }

  std::filesystem::path dir_;
  TestCircle c_;
  std::vector<Node> nodes_;
  std::vector<Pipe> pipes_;
  std::chrono::steady_clock::time_point clock_{std::chrono::hours(1)};
  std::int64_t later_ms_ = 0;  // added to the wall clock
  std::uint64_t seed_ = 12;    // node i's syncer draws from seed_ + i
};

TEST_F(SyncerTest, CountsBytesSentByMessageType) {
  MakeNodes(2);
  Connect(0, 1);
  Deliver();
  Author(0);
  Deliver();
  std::uint64_t sum = 0;
  for (const auto& [m, n] : S(0).stats().bytes_out_by_message) sum += n;
  EXPECT_EQ(sum, S(0).stats().bytes_out);
  EXPECT_GT(Sent(0, "hello"), 0u);
  EXPECT_GT(Sent(0, "push"), 0u);
}

TEST_F(SyncerTest, AntiEntropyRepairsADroppedPush) {
  MakeNodes(2);
  const std::size_t ab = Connect(0, 1);
  Deliver();
  pipes_[ab].wire->drop = [](const v1::SyncMessage& m) { return m.has_events(); };
  const EventId id = Author(0);
  Deliver();
  ASSERT_EQ(pipes_[ab].wire->dropped, 1);
  ASSERT_FALSE(Holds(1, id));
  pipes_[ab].wire->drop = nullptr;
  // The node's anti-entropy loop probes; the digests differ, which pushes in flight could explain.
  const int vectors = pipes_[ab].wire->Count("vector");
  S(0).Probe(PeerAt(ab));
  Deliver();
  EXPECT_EQ(pipes_[ab].wire->Count("vector"), vectors);
  EXPECT_FALSE(Holds(1, id));
  // kRecheckWait later they still differ: vectors are exchanged and the event streamed.
  Advance(kRecheckWait);
  EXPECT_EQ(pipes_[ab].wire->Count("vector"), vectors + 1);
  EXPECT_EQ(pipes_[ab ^ 1].wire->Count("vector"), vectors + 1);
  EXPECT_TRUE(Holds(1, id));
  EXPECT_EQ(S(0).vector().Digest(), S(1).vector().Digest());
}

TEST_F(SyncerTest, AntiEntropySendsNoVectorsForAPushInFlight) {
  MakeNodes(2);
  const std::size_t ab = Connect(0, 1);
  Deliver();
  const int vectors_ab = pipes_[ab].wire->Count("vector");
  const int vectors_ba = pipes_[ab ^ 1].wire->Count("vector");
  // Node 0's push is still on the wire when node 1 probes it.
  const EventId id = Author(0);
  S(1).Probe(PeerAt(ab ^ 1));
  DeliverPipe(ab ^ 1);  // node 0 sees the probe's digest differ
  Deliver();            // the push, then node 0's answer
  Advance(kRecheckWait);
  Advance(kMismatchMemory);
  EXPECT_TRUE(Holds(1, id));
  EXPECT_EQ(pipes_[ab].wire->Count("vector"), vectors_ab);
  EXPECT_EQ(pipes_[ab ^ 1].wire->Count("vector"), vectors_ba);
  EXPECT_EQ(pipes_[ab].wire->Count("batch"), 0);
}

TEST_F(SyncerTest, GreetingWithDifferentDigestsSendsVectorsAtOnce) {
  MakeNodes(2);
  Author(0);
  const std::size_t ab = Connect(0, 1);
  Deliver();
  EXPECT_EQ(pipes_[ab].wire->Count("vector"), 1);
  EXPECT_EQ(pipes_[ab ^ 1].wire->Count("vector"), 1);
  EXPECT_EQ(S(0).vector().Digest(), S(1).vector().Digest());
}

TEST_F(SyncerTest, HaveNotesForAPrunedLinkGoOutOnTickOneMessagePerPeer) {
  MakeNodes(2);
  const std::size_t ab = Connect(0, 1);
  Deliver();
  v1::SyncMessage prune;
  prune.mutable_prune();  // the whole link
  Receive(0, ab ^ 1, prune);
  const EventId first = Author(0, "one");
  const EventId second = Author(0, "two");
  EXPECT_EQ(pipes_[ab].wire->Count("push"), 0);
  EXPECT_EQ(pipes_[ab].wire->Count("have"), 0);  // not before the tick
  Advance(20ms);
  ASSERT_EQ(pipes_[ab].wire->Count("have"), 1);
  const auto& have = pipes_[ab].wire->sent.back();
  ASSERT_TRUE(have.has_have());
  ASSERT_EQ(have.have().notes_size(), 1);  // the newest seq of the author is enough
  EXPECT_FALSE(Holds(1, first));
  // kHaveWait after the note, node 1 asks for what it lacks and grafts the link.
  Advance(kHaveWait);
  EXPECT_EQ(pipes_[ab ^ 1].wire->Count("want"), 1);
  EXPECT_TRUE(Holds(1, first));
  EXPECT_TRUE(Holds(1, second));
  // Grafted: the next event is pushed, no note.
  const EventId third = Author(0, "three");
  Deliver();
  EXPECT_TRUE(Holds(1, third));
  EXPECT_EQ(pipes_[ab].wire->Count("have"), 1);
}

TEST_F(SyncerTest, HaveNoteIsNotSentToAPeerKnownToHoldTheEventByTheTick) {
  MakeNodes(3);
  const std::size_t ab = Connect(0, 1);
  Connect(1, 2);
  const std::size_t ac = Connect(0, 2);
  Deliver();
  v1::SyncMessage prune;
  prune.mutable_prune();
  Receive(0, ac ^ 1, prune);  // node 2 asks node 0 for notes only
  // Node 1's event reaches node 0 first; node 0 would note it to node 2, but before the tick
  // node 2 has it too (and pushed it to node 0, which tells node 0 that it holds it).
  const EventId id = Author(1);
  DeliverPipe(ab ^ 1);
  EXPECT_TRUE(Holds(0, id));
  Deliver();
  EXPECT_TRUE(Holds(2, id));
  Advance(20ms);
  EXPECT_EQ(pipes_[ac].wire->Count("have"), 0);
}

TEST_F(SyncerTest, HaveNotesAboutUnknownAuthorsDoNotGrowWhatIsTrackedWithoutBound) {
  MakeNodes(2);
  const std::size_t ab = Connect(0, 1);
  Deliver();
  const PeerId b = PeerAt(ab);
  const std::size_t before = S(0).known_authors(b);
  ASSERT_GT(before, 0u);
  // Node 1 (a member, so past every session check) notes events of authors nobody holds,
  // in messages each within kMaxNotesPerMessage.
  std::uint32_t next = 0;
  for (int round = 0; round < 4; ++round) {
    v1::SyncMessage m;
    for (std::size_t i = 0; i < kMaxNotesPerMessage; ++i, ++next) {
      std::string key(32, '\x7f');
      std::memcpy(key.data(), &next, sizeof next);
      auto* n = m.mutable_have()->add_notes();
      n->set_author(key);
      n->set_seq(1);
    }
    Receive(0, ab ^ 1, m);
  }
  EXPECT_FALSE(pipes_[ab].wire->closed);
  EXPECT_LE(S(0).known_authors(b), before + kMaxNotesPerMessage);
  EXPECT_EQ(S(0).stats().notes_ignored, 3 * kMaxNotesPerMessage);
  // Notes about authors we hold still count.
  v1::SyncMessage m;
  auto* n = m.mutable_have()->add_notes();
  n->set_author(Key(0).str());
  n->set_seq(1);
  Receive(0, ab ^ 1, m);
  EXPECT_EQ(S(0).stats().notes_ignored, 3 * kMaxNotesPerMessage);
  EXPECT_FALSE(pipes_[ab].wire->closed);
}

TEST_F(SyncerTest, ANewSessionDoesNotSendTheOwnAnnouncementAroundAgain) {
  MakeNodes(3);
  const std::size_t bc = Connect(1, 2);
  Deliver();
  Connect(0, 1);
  Deliver();
  // Node 1 passed node 0's announcement on to node 2 (news to it).
  const int passed = pipes_[bc].wire->Count("peers");
  EXPECT_GE(passed, 2);  // the greeting's list, then node 0's announcement
  later_ms_ += 60'000;
  const std::size_t ac = Connect(0, 2);
  Deliver();
  // Node 0 greets node 2 with the announcement node 2 already holds: nobody passes it on.
  EXPECT_EQ(pipes_[ac].wire->Count("peers"), 1);
  EXPECT_EQ(pipes_[bc].wire->Count("peers"), passed);
  EXPECT_EQ(pipes_[bc ^ 1].wire->Count("peers"), 1);
  EXPECT_EQ(S(0).Announcement(), S(0).Announcement());
}

// Issue 15: every node stores (fsync) and passes on each newer announcement, so a member who signs
// announcements with rising timestamps would flood the circle. A node passes a member's on at most
// kAnnouncementBurst at once, then one per kAnnouncementInterval, and counts the rest; a dropped
// one comes again with the member's next greeting.
TEST_F(SyncerTest, AMembersFloodOfAnnouncementsIsPassedOnAtItsRateOnly) {
  MakeNodes(3);
  const std::size_t ab = Connect(0, 1);
  const std::size_t bc = Connect(1, 2);
  Deliver();
  auto announce = [&](std::int64_t ts) {
    v1::Announcement a;
    a.set_member(Key(0).str());
    a.add_addresses("127.0.0.1:9");
    a.set_timestamp_ms(ts);
    a.set_circle_id(c_.circle().str());
    v1::SyncMessage m;
    auto* sa = m.mutable_peers()->add_announcements();
    sa->set_body(a.SerializeAsString());
    const auto sig = c_.key(nodes_[0].member).Sign(kAnnounceContext, AsBytes(sa->body()));
    sa->set_signature(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
    Receive(1, ab, m);
  };
  const int before = pipes_[bc].wire->Count("peers");
  for (int i = 1; i <= 40; ++i) announce(Now() + i * 1000);
  Deliver();
  const int passed = pipes_[bc].wire->Count("peers") - before;
  EXPECT_GE(passed, 1);
  EXPECT_LE(passed, static_cast<int>(kAnnouncementBurst));
  EXPECT_EQ(S(1).stats().announcements_limited, static_cast<std::uint64_t>(40 - passed));
  // One more once the interval has passed.
  Advance(std::chrono::duration_cast<std::chrono::milliseconds>(kAnnouncementInterval));
  announce(Now() + 100'000);
  Deliver();
  EXPECT_EQ(pipes_[bc].wire->Count("peers") - before, passed + 1);
  EXPECT_FALSE(pipes_[ab].wire->closed) << "a member's own announcements are no reason to cut";
}

TEST_F(SyncerTest, TheLastLinkThatPushesIsNotPruned) {
  MakeNodes(3);
  const std::size_t ab = Connect(0, 1);
  const std::size_t bc = Connect(1, 2);
  Deliver();
  const EventId id = Author(0);
  Deliver();
  ASSERT_TRUE(Holds(1, id));
  const v1::SyncMessage push = PushOfLastEvent();
  // A second copy from node 2: node 1 still has node 0 pushing to it, so it prunes node 2.
  Receive(1, bc ^ 1, push);
  EXPECT_EQ(pipes_[bc].wire->Count("prune"), 1);
  // A second copy from node 0, the one link left that pushes to node 1: it stays eager.
  Receive(1, ab, push);
  EXPECT_EQ(pipes_[ab ^ 1].wire->Count("prune"), 0);
  const EventId next = Author(0, "next");
  Deliver();
  EXPECT_TRUE(Holds(1, next));
  EXPECT_EQ(pipes_[ab].wire->Count("have"), 0);
}

TEST_F(SyncerTest, APruneMakesTheLinkLazyBothWays) {
  MakeNodes(3);
  Connect(0, 1);
  const std::size_t bc = Connect(1, 2);
  Deliver();
  Author(0);
  Deliver();
  const v1::SyncMessage push = PushOfLastEvent();
  Receive(1, bc ^ 1, push);  // a second copy from node 2: node 1 prunes node 2
  ASSERT_EQ(pipes_[bc].wire->Count("prune"), 1);
  // Node 1 no longer pushes to node 2 either: node 0's next event goes on as a note.
  const int pushes = pipes_[bc].wire->Count("push");
  const EventId next = Author(0, "next");
  Deliver();
  ASSERT_TRUE(Holds(1, next));
  EXPECT_EQ(pipes_[bc].wire->Count("push"), pushes);
  Advance(20ms);
  EXPECT_EQ(pipes_[bc].wire->Count("have"), 1);
  // Node 2, pruned, does not push to node 1 either.
  const int back = pipes_[bc ^ 1].wire->Count("push");
  Author(2, "from two");
  Deliver();
  EXPECT_EQ(pipes_[bc ^ 1].wire->Count("push"), back);
  // Kept waiting for the event it was told of, node 1 grafts the link: pushes flow both ways.
  Advance(20ms);
  Advance(kHaveWait);
  EXPECT_EQ(pipes_[bc].wire->Count("graft"), 1);
  const int grafted = pipes_[bc].wire->Count("push");
  Author(0, "after the graft");
  Deliver();
  EXPECT_EQ(pipes_[bc].wire->Count("push"), grafted + 1);
  Author(2, "after the graft too");
  Deliver();
  EXPECT_GT(pipes_[bc ^ 1].wire->Count("push"), back);
}

TEST_F(SyncerTest, LosingTheLastLinkThatPushesGraftsAPrunedOne) {
  MakeNodes(3);
  const std::size_t ab = Connect(0, 1);
  const std::size_t bc = Connect(1, 2);
  Deliver();
  Author(0);
  Deliver();
  const v1::SyncMessage push = PushOfLastEvent();
  Receive(1, bc ^ 1, push);  // node 1 prunes node 2
  ASSERT_EQ(pipes_[bc].wire->Count("prune"), 1);
  S(1).RemovePeer(PeerAt(ab ^ 1));  // the session with node 0 ends
  EXPECT_EQ(pipes_[bc].wire->Count("graft"), 1);
}

TEST_F(SyncerTest, AGreetingCarriesASampleOfThePeerTableAndDiscoveryStillReachesEveryone) {
  constexpr int kNodes = static_cast<int>(kGreetingAnnouncements) + 6;
  MakeNodes(kNodes);
  // Nodes 1.. in a star around node 1: node 1 passes every announcement on, so all of them
  // know all the others.
  for (int i = 2; i < kNodes; ++i) Connect(1, i);
  Deliver();
  ASSERT_EQ(nodes_[2].replica->peers().All()->size(), static_cast<std::size_t>(kNodes - 2));
  // Node 0 joins through node 1 (the address of its join code).
  const std::size_t joined = Connect(0, 1);
  Deliver();
  const auto& greeting = pipes_[joined ^ 1].wire->sent;
  const auto list =
      std::find_if(greeting.begin(), greeting.end(), [](const auto& m) { return m.has_peers(); });
  ASSERT_NE(list, greeting.end());
  EXPECT_EQ(list->peers().announcements_size(), static_cast<int>(kGreetingAnnouncements) + 1);
  // It dials members it learned of, one session at a time, until it knows every other member.
  std::set<int> connected = {1};
  auto known = [&] { return nodes_[0].replica->peers().All()->size(); };
  for (int round = 0; round < kNodes && known() < static_cast<std::size_t>(kNodes - 1); ++round) {
    const auto peers = nodes_[0].replica->peers().All();
    ASSERT_TRUE(peers.has_value());
    int next = -1;
    for (const auto& sp : *peers) {
      for (int i = 1; i < kNodes; ++i) {
        if (Key(i) == sp.member && !connected.count(i)) next = i;
      }
    }
    ASSERT_NE(next, -1);
    connected.insert(next);
    Connect(0, next);
    Deliver();
  }
  EXPECT_EQ(known(), static_cast<std::size_t>(kNodes - 1));
  // Every other node learned of node 0 too (node 1 passed its announcement on).
  for (int i = 2; i < kNodes; ++i) {
    EXPECT_EQ(nodes_[static_cast<std::size_t>(i)].replica->peers().All()->size(),
              static_cast<std::size_t>(kNodes - 1))
        << "node " << i;
  }
}

TEST_F(SyncerTest, AHaveNoteDoesNotMakeTheNotingPeerTheCatchUpSource) {
  MakeNodes(3);
  Connect(1, 2);  // node 1's catch-up source: node 2 (in sync)
  const std::size_t ab = Connect(0, 1);
  Deliver();
  v1::SyncMessage prune;
  prune.mutable_prune();
  Receive(0, ab ^ 1, prune);  // node 1 asks node 0 for notes only
  const int vectors = pipes_[ab ^ 1].wire->Count("vector");
  const int credits = pipes_[ab ^ 1].wire->Count("credit");
  const EventId noted = Author(0);
  Advance(20ms);  // node 0's note reaches node 1
  ASSERT_EQ(pipes_[ab].wire->Count("have"), 1);
  const EventId pushed = Author(2);  // something else arrives at node 1 and is committed
  Deliver();
  ASSERT_TRUE(Holds(1, pushed));
  // Node 1 did not send node 0 its vector and credit to stream one announced event.
  EXPECT_EQ(pipes_[ab ^ 1].wire->Count("vector"), vectors);
  EXPECT_EQ(pipes_[ab ^ 1].wire->Count("credit"), credits);
  Advance(kHaveWait);
  EXPECT_TRUE(Holds(1, noted));  // by Want
  EXPECT_EQ(pipes_[ab ^ 1].wire->Count("want"), 1);
}

// A pushed event the replica holds is known by its id (the hash of its body) before anything
// else is checked: a copy with a broken signature is a duplicate, not a reason to verify it.
// Before, every pushed copy went through the signature check, and this one cut the peer off.
TEST_F(SyncerTest, APushedCopyOfAHeldEventIsADuplicateBeforeItsSignatureIsChecked) {
  MakeNodes(2);
  const std::size_t ab = Connect(0, 1);
  Deliver();
  Author(0);
  Deliver();
  v1::SignedEvent copy;
  ASSERT_TRUE(
      copy.ParseFromArray(c_.events().back().data(), static_cast<int>(c_.events().back().size())));
  copy.mutable_signature()->at(0) ^= 1;
  v1::SyncMessage m;
  m.mutable_events()->set_push(true);
  m.mutable_events()->add_events(copy.SerializeAsString());
  const auto duplicates = S(1).stats().duplicates;
  Receive(1, ab, m);
  EXPECT_EQ(S(1).stats().duplicates, duplicates + 1);
  EXPECT_EQ(S(1).stats().refused, 0u);
  EXPECT_FALSE(pipes_[ab ^ 1].wire->closed) << pipes_[ab ^ 1].wire->why;
}

// Duplicates cost their sender: a peer that pushes what the replica holds spends an allowance
// (kDuplicateAllowanceBytes, refilled at kDuplicateRefillBytesPerSecond) and, once it is spent,
// loses the session. Before, 100 MiB of duplicate pushes kept a node busy for 23 s, uncut.
TEST_F(SyncerTest, PushingWhatTheReplicaHoldsSpendsAnAllowanceAndThenCostsTheSession) {
  MakeNodes(2);
  const std::size_t ab = Connect(0, 1);
  Deliver();
  Author(0);
  Deliver();
  const std::string held(c_.events().back().begin(), c_.events().back().end());
  const std::int64_t e = static_cast<std::int64_t>(held.size());
  auto push_copies = [&](std::int64_t n) {
    while (n > 0) {
      const std::int64_t k = std::min<std::int64_t>(n, 10000);
      v1::SyncMessage m;
      m.mutable_events()->set_push(true);
      for (std::int64_t i = 0; i < k; ++i) m.mutable_events()->add_events(held);
      Receive(1, ab, m);
      n -= k;
    }
  };
  const auto& wire = *pipes_[ab ^ 1].wire;
  push_copies(kDuplicateAllowanceBytes / e);  // the whole allowance, to the byte it can
  ASSERT_FALSE(wire.closed) << wire.why;
  clock_ += 1s;  // refills a second's worth
  push_copies(kDuplicateRefillBytesPerSecond / e);
  ASSERT_FALSE(wire.closed) << wire.why;
  push_copies(2);  // what is left is less than two copies
  EXPECT_TRUE(wire.closed);
  EXPECT_NE(wire.why.find("allowance"), std::string::npos) << wire.why;
  EXPECT_EQ(S(1).stats().cut_off_by_reason.at("duplicates"), 1u);
  EXPECT_EQ(S(1).stats().refused, 0u);
}

// A source that claims events and sends none stalls (kSourceStall): the next peer that holds
// more becomes the source, and the stalled claim no longer counts as what the node waits for.
// Before, the first peer held the credit for good and a fake Vector kept the node catching up.
TEST_F(SyncerTest, ASourceThatClaimsEventsItNeverSendsIsReplaced) {
  MakeNodes(3);
  std::vector<EventId> ids;
  for (int k = 0; k < 3; ++k) ids.push_back(Author(2));
  // A first peer (it gets all the credit) that claims 1,000 events of member 2 and sends none.
  auto liar = std::make_shared<Wire>();
  const PeerId l = S(1).AddPeer(Key(0), liar);
  v1::SyncMessage hello;
  hello.mutable_hello()->set_version(kSyncVersion);
  hello.mutable_hello()->set_vector_digest(std::string(32, 'x'));
  hello.mutable_hello()->set_reply(true);
  storage::VersionVector claim;
  claim.heads[Key(2)] = {1000, {}};
  for (const auto& m : {hello, VectorMessage(claim)}) {
    const std::string bytes = m.SerializeAsString();
    S(1).OnMessage(l, AsBytes(bytes));
  }
  Connect(1, 2);
  Deliver();
  EXPECT_FALSE(Holds(1, ids[0])) << "node 2 has no credit while the liar is the source";
  EXPECT_GT(S(1).Expected(), 0u);
  Advance(kSourceStall / 2);
  EXPECT_FALSE(Holds(1, ids[0]));
  Advance(kSourceStall / 2);
  for (const auto& id : ids) EXPECT_TRUE(Holds(1, id));
  EXPECT_EQ(S(1).stats().sources_stalled, 1u);
  EXPECT_EQ(S(1).Expected(), 0u) << "the stalled claim no longer counts";
  EXPECT_FALSE(liar->closed);
}

// Forward compatibility: a message type of a later version is ignored and counted, and an event
// of a later version's kind is stored and passed on; neither costs the sender its session.
// Before, both cut the sender off as hostile, so an upgraded node would lose its peers.
TEST_F(SyncerTest, AMessageOrAnEventOfALaterVersionKeepsTheSessionAndTheEventTravels) {
  MakeNodes(3);
  const std::size_t ab = Connect(0, 1);
  Connect(1, 2);
  Deliver();
  v1::SyncMessage later;
  later.GetReflection()->MutableUnknownFields(&later)->AddLengthDelimited(40, "news");
  Receive(1, ab, later);
  EXPECT_EQ(S(1).stats().messages_ignored, 1u);
  EXPECT_FALSE(pipes_[ab ^ 1].wire->closed) << pipes_[ab ^ 1].wire->why;
  // Node 0 authors an event of a kind this version does not know.
  EventId id;
  const Bytes ev = c_.Next(
      nodes_[0].member,
      [](v1::EventBody& b) {
        b.GetReflection()->MutableUnknownFields(&b)->AddLengthDelimited(31, "a later payload");
      },
      &id);
  auto r = nodes_[0].replica->IngestOne(ev, storage::IngestOptions(Now()));
  ASSERT_TRUE(r.has_value());
  S(0).OnLocalEvent(ev, Key(0), r->seq);
  Deliver();
  EXPECT_TRUE(Holds(1, id));
  EXPECT_TRUE(Holds(2, id)) << "passed on";
  EXPECT_EQ(S(1).stats().peers_cut_off, 0u);
  EXPECT_EQ(S(2).stats().peers_cut_off, 0u);
}

// Credit comes with the greeting only: before, every Hello granted up to 64 MiB more, and 5.3 KB
// of Hellos made a node send its whole log 100 times.
TEST_F(SyncerTest, OnlyTheGreetingHelloGrantsCredit) {
  MakeNodes(2);
  for (int k = 0; k < 3; ++k) Author(0);
  auto raw = std::make_shared<Wire>();
  const PeerId r = S(0).AddPeer(Key(1), raw);
  auto hello = [](std::uint64_t credit, bool reply) {
    v1::SyncMessage m;
    m.mutable_hello()->set_version(kSyncVersion);
    m.mutable_hello()->set_vector_digest(std::string(32, 'x'));
    m.mutable_hello()->set_reply(reply);
    m.mutable_hello()->set_credit_bytes(credit);
    return m.SerializeAsString();
  };
  const std::string greeting = hello(0, true);
  S(0).OnMessage(r, AsBytes(greeting));
  const std::string vector = VectorMessage(storage::VersionVector{}).SerializeAsString();
  S(0).OnMessage(r, AsBytes(vector));  // it holds nothing, and granted no credit
  const std::string probe = hello(64 << 20, false);
  S(0).OnMessage(r, AsBytes(probe));
  S(0).Pump();
  EXPECT_EQ(raw->Count("batch"), 0) << "a probe's credit was honoured";
  EXPECT_FALSE(raw->closed);
}

}  // namespace
}  // namespace polder::sync
