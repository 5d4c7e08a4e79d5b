// Syncers are deterministic given their options: many of them, over in-memory stores, linked by
// in-memory wires, on one injected clock and seeded randomness, send exactly the same messages
// when the same scenario runs twice; only another seed changes what a greeting samples.
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "node/sync/syncer.h"
#include "storage/rulebook/decode.h"
#include "tests/sync/memory_store.h"
#include "tests/testutil/circle.h"

namespace polder::sync {
namespace {

using namespace std::chrono_literals;

// One message on its way, as the transcript records it.
struct Sent {
  int from, to;
  Bytes bytes;
  bool operator==(const Sent&) const = default;
};

// One direction of a session; every message sent on any wire goes into one shared transcript.
class Wire : public Link {
 public:
  Wire(int from, int to, std::vector<Sent>& transcript)
      : from_(from), to_(to), transcript_(transcript) {}
  bool Send(Bytes message) override {
    if (closed) return false;
    transcript_.push_back(Sent{from_, to_, message});
    if (drop_next_push) {
      v1::SyncMessage m;
      if (m.ParseFromArray(message.data(), static_cast<int>(message.size())) && m.has_events()) {
        drop_next_push = false;
        return true;  // lost on the way
      }
    }
    queue.push_back(std::move(message));
    return true;
  }
  std::size_t queued_bytes() const override { return 0; }
  void Close(std::string) override { closed = true; }

  std::deque<Bytes> queue;
  bool closed = false;
  bool drop_next_push = false;

 private:
  int from_, to_;
  std::vector<Sent>& transcript_;
};

// The circle every run shares: signed once, so both runs see the same bytes.
struct Fixture {
  static constexpr int kNodes = static_cast<int>(kGreetingAnnouncements) + 4;
  Fixture() {
    who.push_back(0);
    for (int i = 1; i < kNodes; ++i) {
      who.push_back(c.Admit(0, "M" + std::to_string(i), "Org " + std::to_string(i % 3)));
    }
    history = c.events();
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < kNodes; i += 3) {
        c.Comment(who[static_cast<std::size_t>(i)], "round " + std::to_string(round));
        later.push_back({i, c.events().back()});
      }
    }
    now_ms = c.now() + 1000;
  }
  testutil::TestCircle c;
  std::vector<int> who;                      // node → member index in the circle
  std::vector<Bytes> history;                // charter and admissions: every node holds them
  std::vector<std::pair<int, Bytes>> later;  // (author node, event) in authoring order
  std::int64_t now_ms = 0;
};

// N syncers on one clock, their wires delivered in a fixed order.
class Network {
 public:
  Network(const Fixture& f, std::uint64_t seed) : f_(f) {
    std::set<MemberKey> members;
    for (int m : f.who) members.insert(f.c.key(m).public_key());
    for (int i = 0; i < Fixture::kNodes; ++i) {
      auto& n = nodes_.emplace_back();
      n.store = std::make_unique<MemoryStore>(f.c.circle(), members);
      EXPECT_TRUE(n.store->Add(f.history, f.now_ms));
      Syncer::Options o;
      o.now_ms = [now = f.now_ms] { return now; };
      o.clock = [this] { return clock_; };
      o.identity = &Key(i);
      o.listen_addresses = {"10.0.0." + std::to_string(i) + ":7714"};
      o.seed = seed + static_cast<std::uint64_t>(i);
      n.syncer = std::make_unique<Syncer>(*n.store, o);
      EXPECT_TRUE(n.syncer->Load());
    }
  }

  // A session between a and b; returns the index of the a → b pipe (b → a follows it).
  std::size_t Connect(int a, int b) {
    const std::size_t at = pipes_.size();
    pipes_.push_back(Pipe{b, 0, std::make_shared<Wire>(a, b, transcript)});
    pipes_.push_back(Pipe{a, 0, std::make_shared<Wire>(b, a, transcript)});
    const PeerId b_at_a = S(a).AddPeer(Key(b).public_key(), pipes_[at].wire);
    const PeerId a_at_b = S(b).AddPeer(Key(a).public_key(), pipes_[at + 1].wire);
    pipes_[at].at_to = a_at_b;
    pipes_[at + 1].at_to = b_at_a;
    return at;
  }
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
  void Advance(std::chrono::milliseconds d) {
    clock_ += d;
    for (auto& n : nodes_) n.syncer->Tick();
    Deliver();
  }
  // Node `i` authors `event`: stored first, then handed to its syncer, as a node does.
  void Author(int i, const Bytes& event) {
    ASSERT_TRUE(nodes_[static_cast<std::size_t>(i)].store->Add({event}, f_.now_ms));
    auto d = rulebook::Decode(event, f_.now_ms);
    ASSERT_TRUE(d.has_value());
    S(i).OnLocalEvent(event, d->author, d->body.seq());
  }
  void Probe(std::size_t pipe) { S(pipes_[pipe ^ 1].to).Probe(pipes_[pipe ^ 1].at_to); }
  Wire& wire(std::size_t pipe) { return *pipes_[pipe].wire; }
  Syncer& S(int i) { return *nodes_[static_cast<std::size_t>(i)].syncer; }

  std::vector<Sent> transcript;

 private:
  struct Node {
    std::unique_ptr<MemoryStore> store;
    std::unique_ptr<Syncer> syncer;
  };
  struct Pipe {
    int to;
    PeerId at_to;  // the sender's id at the receiver
    std::shared_ptr<Wire> wire;
  };
  const crypto::SigningKey& Key(int i) { return f_.c.key(f_.who[static_cast<std::size_t>(i)]); }

  const Fixture& f_;
  std::vector<Node> nodes_;
  std::vector<Pipe> pipes_;
  std::chrono::steady_clock::time_point clock_{std::chrono::hours(1)};
};

// Greetings (with their samples of the peer table), pushes, prunes, Have notes and Want,
// an anti-entropy probe and a catch-up, in one scenario. Returns every message sent, in order.
std::vector<Sent> RunScenario(const Fixture& f, std::uint64_t seed, bool* converged) {
  Network net(f, seed);
  // A star around node 1: it learns every announcement and passes each on. The last node is
  // away until the end.
  const int away = Fixture::kNodes - 1;
  for (int i = 2; i < away; ++i) net.Connect(1, i);
  net.Deliver();
  // Node 0 joins through node 1, then dials two members; the triangle 0-1-2 makes duplicates
  // (and prunes).
  net.Connect(0, 1);
  net.Deliver();
  const std::size_t a = net.Connect(0, 2);
  net.Connect(0, 3);
  net.Deliver();
  std::size_t k = 0;
  for (const auto& [node, event] : f.later) {
    if (k++ == 4) net.wire(a).drop_next_push = true;  // lost: repair brings it
    net.Author(node, event);
    net.Deliver();
    net.Advance(20ms);
  }
  net.Advance(kHaveWait);
  net.Probe(a);
  net.Deliver();
  net.Advance(kRecheckWait);
  net.Advance(kMismatchMemory);
  // The node that was away returns and catches up.
  net.Connect(away, 1);
  net.Deliver();
  net.Advance(20ms);
  *converged = true;
  for (int i = 1; i < Fixture::kNodes; ++i) {
    *converged = *converged && net.S(i).vector().Digest() == net.S(0).vector().Digest();
  }
  return std::move(net.transcript);
}

TEST(SyncerDeterminism, TheSameSeedAndClockGiveTheSameMessages) {
  const Fixture f;
  bool converged_first = false, converged_again = false;
  const auto first = RunScenario(f, 7, &converged_first);
  const auto again = RunScenario(f, 7, &converged_again);
  EXPECT_TRUE(converged_first);
  EXPECT_TRUE(converged_again);
  ASSERT_GT(first.size(), 100u);
  ASSERT_EQ(first.size(), again.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    ASSERT_EQ(first[i], again[i]) << "message " << i << " of " << first.size();
  }
  // The scenario exercised what it should.
  std::set<std::string> kinds;
  for (const auto& s : first) {
    v1::SyncMessage m;
    ASSERT_TRUE(m.ParseFromArray(s.bytes.data(), static_cast<int>(s.bytes.size())));
    kinds.insert(MessageName(m));
  }
  for (const char* kind :
       {"hello", "vector", "batch", "credit", "push", "peers", "prune", "have", "want", "graft"}) {
    EXPECT_TRUE(kinds.count(kind)) << kind;
  }
}

TEST(SyncerDeterminism, AnotherSeedSamplesAnotherPartOfThePeerTable) {
  const Fixture f;
  bool converged = false;
  const auto first = RunScenario(f, 7, &converged);
  const auto other = RunScenario(f, 8, &converged);
  EXPECT_TRUE(converged);
  EXPECT_NE(first, other);
}

}  // namespace
}  // namespace polder::sync
