// Deterministic simulation (issue 15, campaign 1): many nodes' sync protocol in one process, on
// simulated time and a simulated network, driven by one seed.
//
// Each node is a Syncer over its own replica (SQLite in memory). Sessions are FIFO links with a
// random delay per message (so messages on different links overtake each other); the network
// breaks sessions at random, partitions the nodes into two groups for a while, and crashes nodes:
// a crash drops the node's syncer, its inbox and everything in flight to and from it, and keeps
// what its replica committed (SQLite's atomic commit is trusted here; the kill campaign,
// scripts/kill_campaign.sh, kills real processes). Members author comments, votes and proposals
// all along. Then the network heals and stays calm, and every replica must reach one state
// digest and one version vector. A failure names the seed; `scripts/simulate.sh SEEDS` runs
// more seeds, POLDER_SIM_SEED=S one.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "node/sync/replica_store.h"
#include "node/sync/syncer.h"
#include "storage/replica.h"
#include "tests/testutil/circle.h"

namespace polder::sync {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct SimOptions {
  int nodes = 8;
  int degree = 3;              // sessions each node opens
  int events = 120;            // authored during the chaos
  int chaos_ms = 20000;        // simulated time with breaks, partitions and crashes
  int calm_limit_ms = 120000;  // then at most this long to converge
};

class Sim;

// One direction of a session.
class SimLink : public Link {
 public:
  SimLink(Sim& sim, int from, int to, std::uint64_t session)
      : sim_(sim), from_(from), to_(to), session_(session) {}
  bool Send(Bytes message) override;
  std::size_t queued_bytes() const override { return 0; }
  void Close(std::string reason) override;
  bool closed = false;

 private:
  Sim& sim_;
  int from_, to_;
  std::uint64_t session_;
};

class Sim {
 public:
  Sim(std::uint64_t seed, SimOptions o) : o_(o), rng_(seed), c_("Org A", FounderSeed(seed)) {
    c_.DeriveKeysFrom(seed);
    std::vector<int> who = {0};
    for (int i = 1; i < o_.nodes; ++i) {
      who.push_back(c_.Admit(0, "M" + std::to_string(i), "Org " + std::to_string(i % 3)));
    }
    member_ = who;
    nodes_.resize(static_cast<std::size_t>(o_.nodes));
    for (int i = 0; i < o_.nodes; ++i) {
      auto& n = nodes_[static_cast<std::size_t>(i)];
      n.replica = std::move(*storage::Replica::Open(":memory:"));
      EXPECT_TRUE(n.replica->SetCircle(c_.circle()));
      // Each node starts with the charter and a random part of the admissions: the rest comes
      // by sync.
      for (std::size_t k = 0; k < c_.events().size(); ++k) {
        if (k == 0 || static_cast<int>(k) == i || Chance(0.5)) {
          EXPECT_TRUE(n.replica->IngestOne(c_.events()[k], storage::IngestOptions(NowMs())));
        }
      }
      n.store = std::make_unique<ReplicaStore>(*n.replica);
      Boot(i);
    }
  }

  // Runs the chaos, then the calm; true when every replica converged.
  bool Run() {
    const auto chaos_end = now_ + std::chrono::milliseconds(o_.chaos_ms);
    int authored = 0;
    while (now_ < chaos_end) {
      Step();
      if (authored < o_.events && Chance(o_.events / (o_.chaos_ms / 10.0))) {
        Author(Pick(o_.nodes));
        ++authored;
      }
      if (Chance(0.01)) BreakRandomSession();
      if (Chance(0.003)) Crash(Pick(o_.nodes));
      if (!partition_ && Chance(0.002)) {
        partition_ = true;
        side_.assign(static_cast<std::size_t>(o_.nodes), false);
        for (auto&& s : side_) s = Chance(0.5);
        for (auto& [key, s] : sessions_) {
          if (side_[static_cast<std::size_t>(key.first)] !=
              side_[static_cast<std::size_t>(key.second)]) {
            s.doomed = true;
          }
        }
      } else if (partition_ && Chance(0.003)) {
        partition_ = false;
      }
    }
    partition_ = false;
    const auto calm_end = now_ + std::chrono::milliseconds(o_.calm_limit_ms);
    while (now_ < calm_end) {
      for (int i = 0; i < 100 && now_ < calm_end; ++i) Step();
      if (Converged()) return true;
    }
    return false;
  }

  bool Converged() {
    const Digest32 d = *nodes_[0].replica->StateDigest();
    const Digest32 v = nodes_[0].syncer->vector().Digest();
    for (auto& n : nodes_) {
      if (!(*n.replica->StateDigest() == d) || !(n.syncer->vector().Digest() == v)) return false;
    }
    return true;
  }
  std::string Describe() {
    std::string out;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      auto c = nodes_[i].replica->events().Counts();
      out += "node " + std::to_string(i) + ": " + std::to_string(c ? c->events : 0) + " events, " +
             std::to_string(c ? c->pending : 0) + " pending, vector " +
             nodes_[i].syncer->vector().Digest().hex().substr(0, 8) + "\n";
    }
    return out;
  }
  std::size_t crashes() const { return crashes_; }
  std::size_t breaks() const { return breaks_; }
  std::uint64_t messages() const { return delivered_; }

  // Called by links.
  void Enqueue(int from, int to, std::uint64_t session, Bytes m) {
    auto it = sessions_.find(Key(from, to));
    if (it == sessions_.end() || it->second.id != session) return;
    // FIFO per direction: never before the previous message on this link.
    auto& last = last_at_[{from, to}];
    const auto at = std::max(last, now_ + std::chrono::milliseconds(1 + Pick(40)));
    last = at;
    wire_.emplace(std::pair{at, ++sent_}, InFlight{from, to, session, std::move(m)});
  }
  void Close(int a, int b, std::uint64_t session) {
    auto it = sessions_.find(Key(a, b));
    if (it != sessions_.end() && it->second.id == session) it->second.doomed = true;
  }

 private:
  struct Node {
    std::unique_ptr<storage::Replica> replica;
    std::unique_ptr<ReplicaStore> store;
    std::unique_ptr<Syncer> syncer;
  };
  struct Session {
    std::uint64_t id = 0;
    PeerId at_lo = 0, at_hi = 0;  // the peer id of the other end at the lower / higher node
    std::shared_ptr<SimLink> lo_to_hi, hi_to_lo;
    bool doomed = false;
  };
  struct InFlight {
    int from, to;
    std::uint64_t session;
    Bytes message;
  };
  static Bytes FounderSeed(std::uint64_t seed) {
    Bytes out(32);
    std::mt19937_64 g(seed);
    for (auto& b : out) b = static_cast<std::uint8_t>(g());
    return out;
  }
  static std::pair<int, int> Key(int a, int b) { return {std::min(a, b), std::max(a, b)}; }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::int64_t NowMs() const {
    return c_.now() + 1000 +
           std::chrono::duration_cast<std::chrono::milliseconds>(
               now_ - Clock::time_point(std::chrono::hours(1)))
               .count();
  }

  void Boot(int i) {
    auto& n = nodes_[static_cast<std::size_t>(i)];
    Syncer::Options so;
    so.now_ms = [this] { return NowMs(); };
    so.clock = [this] { return now_; };
    so.identity = &c_.key(member_[static_cast<std::size_t>(i)]);
    so.listen_addresses = {"10.0.0." + std::to_string(i) + ":7714"};
    so.seed = rng_();
    n.syncer = std::make_unique<Syncer>(*n.store, so);
    EXPECT_TRUE(n.syncer->Load());
  }

  void Connect(int a, int b) {
    const auto key = Key(a, b);
    if (a == b || sessions_.count(key)) return;
    if (partition_ && side_[static_cast<std::size_t>(a)] != side_[static_cast<std::size_t>(b)]) {
      return;
    }
    Session s;
    s.id = ++next_session_;
    s.lo_to_hi = std::make_shared<SimLink>(*this, key.first, key.second, s.id);
    s.hi_to_lo = std::make_shared<SimLink>(*this, key.second, key.first, s.id);
    sessions_[key] = s;
    auto& lo = *nodes_[static_cast<std::size_t>(key.first)].syncer;
    auto& hi = *nodes_[static_cast<std::size_t>(key.second)].syncer;
    // Each end learns the other first, then greets (AddPeer sends at once).
    const MemberKey klo = c_.key(member_[static_cast<std::size_t>(key.first)]).public_key();
    const MemberKey khi = c_.key(member_[static_cast<std::size_t>(key.second)]).public_key();
    sessions_[key].at_lo = lo.AddPeer(khi, s.lo_to_hi);
    sessions_[key].at_hi = hi.AddPeer(klo, s.hi_to_lo);
  }
  void Drop(std::map<std::pair<int, int>, Session>::iterator it) {
    const auto [lo, hi] = it->first;
    it->second.lo_to_hi->closed = it->second.hi_to_lo->closed = true;
    nodes_[static_cast<std::size_t>(lo)].syncer->RemovePeer(it->second.at_lo);
    nodes_[static_cast<std::size_t>(hi)].syncer->RemovePeer(it->second.at_hi);
    sessions_.erase(it);
  }
  void BreakRandomSession() {
    if (sessions_.empty()) return;
    auto it = sessions_.begin();
    std::advance(it, Pick(static_cast<int>(sessions_.size())));
    it->second.doomed = true;
    ++breaks_;
  }
  void Crash(int i) {
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      auto next = std::next(it);
      if (it->first.first == i || it->first.second == i) {
        const int other = it->first.first == i ? it->first.second : it->first.first;
        it->second.lo_to_hi->closed = it->second.hi_to_lo->closed = true;
        nodes_[static_cast<std::size_t>(other)].syncer->RemovePeer(
            other == it->first.first ? it->second.at_lo : it->second.at_hi);
        sessions_.erase(it);
      }
      it = next;
    }
    nodes_[static_cast<std::size_t>(i)].syncer.reset();  // its inbox and state are gone
    Boot(i);
    ++crashes_;
  }
  void Author(int i) {
    const int m = member_[static_cast<std::size_t>(i)];
    c_.Advance(1);
    const std::size_t before = c_.events().size();
    switch (Pick(4)) {
      case 0: proposals_.push_back(c_.Propose(m, "P", 100)); break;
      case 1:
        if (!proposals_.empty()) {
          c_.Vote(m,
                  proposals_[static_cast<std::size_t>(Pick(static_cast<int>(proposals_.size())))],
                  Chance(0.5) ? v1::FOR : v1::AGAINST);
          break;
        }
        [[fallthrough]];
      default: c_.Comment(m, "c"); break;
    }
    if (c_.events().size() == before) return;
    auto& n = nodes_[static_cast<std::size_t>(i)];
    const Bytes& ev = c_.events().back();
    auto r = n.replica->IngestOne(ev, storage::IngestOptions(NowMs()));
    ASSERT_TRUE(r.has_value());
    n.syncer->OnLocalEvent(ev, c_.key(m).public_key(), r->seq);
  }

  // 10 ms of simulated time: deliveries due, ticks, anti-entropy, doomed sessions closed, and
  // each node keeps `degree` sessions.
  void Step() {
    now_ += 10ms;
    while (!wire_.empty() && wire_.begin()->first.first <= now_) {
      InFlight f = std::move(wire_.begin()->second);
      wire_.erase(wire_.begin());
      auto it = sessions_.find(Key(f.from, f.to));
      if (it == sessions_.end() || it->second.id != f.session) continue;  // the session is gone
      const PeerId at = f.to < f.from ? it->second.at_lo : it->second.at_hi;
      nodes_[static_cast<std::size_t>(f.to)].syncer->OnMessage(at, f.message);
      ++delivered_;
    }
    if ((++steps_ % 2) == 0) {
      for (auto& n : nodes_) n.syncer->Tick();
    }
    if (steps_ % 200 == 0) {  // anti-entropy: every node probes one peer every 2 s
      for (const auto& [key, s] : sessions_) {
        if (Chance(2.0 / std::max<double>(1, o_.degree))) {
          nodes_[static_cast<std::size_t>(key.first)].syncer->Probe(s.at_lo);
        }
      }
    }
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      auto next = std::next(it);
      if (it->second.doomed) Drop(it);
      it = next;
    }
    if (steps_ % 50 == 0) {
      for (int i = 0; i < o_.nodes; ++i) {
        std::vector<std::pair<int, int>> mine;
        for (const auto& [key, s] : sessions_) {
          if (key.first == i || key.second == i) mine.push_back(key);
        }
        // As a node rotates its outbound sessions (NodeConfig::outbound_rotation, about once a
        // minute once its places are full, not while catching up): without it, sessions formed
        // within each side of a partition kept the sides apart after it healed (seed 70).
        if (static_cast<int>(mine.size()) >= o_.degree &&
            nodes_[static_cast<std::size_t>(i)].syncer->Expected() == 0 && Chance(0.5 / 60)) {
          sessions_[mine[static_cast<std::size_t>(Pick(static_cast<int>(mine.size())))]].doomed =
              true;
        }
        for (int k = static_cast<int>(mine.size()); k < o_.degree; ++k) Connect(i, Pick(o_.nodes));
      }
    }
  }

  SimOptions o_;
  std::mt19937_64 rng_;
  testutil::TestCircle c_;
  std::vector<int> member_;
  std::vector<Node> nodes_;
  std::map<std::pair<int, int>, Session> sessions_;
  std::map<std::pair<int, int>, Clock::time_point> last_at_;
  // In flight, by delivery time and then by sending order.
  std::map<std::pair<Clock::time_point, std::uint64_t>, InFlight> wire_;
  std::uint64_t sent_ = 0;
  std::vector<EventId> proposals_;
  Clock::time_point now_{std::chrono::hours(1)};
  std::uint64_t next_session_ = 0, steps_ = 0, delivered_ = 0;
  std::size_t crashes_ = 0, breaks_ = 0;
  bool partition_ = false;
  std::vector<bool> side_;
};

bool SimLink::Send(Bytes message) {
  if (closed) return false;
  sim_.Enqueue(from_, to_, session_, std::move(message));
  return true;
}
void SimLink::Close(std::string) {
  closed = true;
  sim_.Close(from_, to_, session_);
}

std::vector<std::uint64_t> Seeds(std::uint64_t first, std::uint64_t count) {
  if (const char* one = std::getenv("POLDER_SIM_SEED")) return {std::strtoull(one, nullptr, 10)};
  if (const char* n = std::getenv("POLDER_SIM_SEEDS")) count = std::strtoull(n, nullptr, 10);
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = first; s < first + count; ++s) out.push_back(s);
  return out;
}

void RunSeeds(const SimOptions& o, std::uint64_t first, std::uint64_t count) {
  std::size_t crashes = 0, breaks = 0;
  std::uint64_t messages = 0;
  const auto seeds = Seeds(first, count);
  for (const std::uint64_t seed : seeds) {
    Sim sim(seed, o);
    const bool ok = sim.Run();
    ASSERT_TRUE(ok) << "seed " << seed << " did not converge (POLDER_SIM_SEED=" << seed
                    << " reproduces it)\n"
                    << sim.Describe();
    crashes += sim.crashes();
    breaks += sim.breaks();
    messages += sim.messages();
  }
  std::printf(
      "[ info ] %zu seeds of %d nodes: all converged; %zu crashes, %zu broken sessions, "
      "%llu messages\n",
      seeds.size(), o.nodes, crashes, breaks, static_cast<unsigned long long>(messages));
}

// Fewer seeds under the sanitizers (several times slower); scripts/simulate.sh runs more.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kSeedsOfEight = 40, kSeedsOfSixtyFour = 1;
#else
constexpr std::uint64_t kSeedsOfEight = 200, kSeedsOfSixtyFour = 2;
#endif

TEST(Simulation, ManySeedsOfEightNodesConverge) { RunSeeds(SimOptions{}, 1, kSeedsOfEight); }

TEST(Simulation, SixtyFourNodesConverge) {
  if (std::getenv("POLDER_SIM_SEEDS")) GTEST_SKIP() << "scripts/simulate.sh runs eight nodes";
  SimOptions o;
  o.nodes = 64;
  o.degree = 4;
  o.events = 200;
  RunSeeds(o, 1000, kSeedsOfSixtyFour);
}

}  // namespace
}  // namespace polder::sync
