// bench/attack: how a node serves its honest members while one hostile member and 200 stranger
// connections do their worst (issue 15: "latency for honest pushes and a running catch-up stay
// within 2x of the quiet figure").
//
// Five members' nodes in one process on loopback (tests/sync/harness.h): node 0 is the target,
// member 1 authors, members 2 and 3 join later and catch up, member 4 is hostile. Measured twice,
// quiet and under attack, in the same run:
//   * push latency: member 1's node has authored and committed an event; the time until node 0
//     holds it (N samples; the harness polls every 10 ms);
//   * catch-up: a fresh member's node dials node 0 and catches up the circle's events.
// The attack, all at once: the hostile member's raw protocol client asks (Want) for member 1's
// whole log again and again and never reads, then floods pushes of events node 0 holds, then
// garbage, reconnecting whenever it is cut off; 200 silent connections from four loopback
// addresses, re-opened whenever node 0 closes them. Prints both figures, their ratio, the
// process's peak RSS and node 0's cut-off and refusal counters.
//
//   attack_bench [--events N] [--samples N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <asio/ip/tcp.hpp>

#include "tests/sync/harness.h"
#include "tests/sync/hostile_client.h"

namespace {

using namespace std::chrono_literals;
using polder::Bytes;
using polder::testing::HostileClient;
using polder::testing::MemberTransport;
using polder::testing::Network;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

long PeakRssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct Latency {
  double median = 0, p95 = 0;
};

// Member 1 authors `samples` events one after the other; each one's time until node 0 holds it.
Latency PushLatency(Network& net, int samples) {
  std::vector<double> ms;
  for (int i = 0; i < samples; ++i) {
    if (!net.RandomEvent(1)) break;
    const auto t0 = Clock::now();  // authored and committed at node 1: from here, the push
    if (!net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 20s)) {
      std::fprintf(stderr, "a push did not arrive within 20 s\n");
      ms.push_back(20000);
      continue;
    }
    ms.push_back(Ms(Clock::now() - t0));
  }
  std::sort(ms.begin(), ms.end());
  if (ms.empty()) return {};
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 95 / 100)]};
}

// Member `joiner`'s fresh node dials node 0; the time until it holds what node 0 holds.
double CatchUp(Network& net, int joiner) {
  const auto t0 = Clock::now();
  polder::app::NodeConfig cfg;
  cfg.max_outbound = 1;  // node 0 only: the catch-up under test
  net.Start(joiner, {0}, cfg);
  if (!net.RunUntil([&] { return net.VectorsEqual({0, joiner}); }, 120s)) return -1;
  const double out = Ms(Clock::now() - t0);
  net.Stop(joiner);
  return out;
}

// 200 connections that never speak, from 127.0.0.2-5, re-opened when node 0 closes them; on a
// thread of their own.
class Strangers {
 public:
  explicit Strangers(asio::ip::tcp::endpoint target) : thread_([this, target] { Run(target); }) {}
  ~Strangers() {
    stop_ = true;
    thread_.join();
  }
  long opened() const { return opened_; }

 private:
  void Run(asio::ip::tcp::endpoint target) {
    asio::io_context io;
    std::vector<std::unique_ptr<asio::ip::tcp::socket>> socks(200);
    auto open = [&](std::size_t k) {
      auto s = std::make_unique<asio::ip::tcp::socket>(io);
      asio::error_code ec;
      s->open(asio::ip::tcp::v4(), ec);
      const std::string from = "127.0.0." + std::to_string(2 + k % 4);
      s->bind(asio::ip::tcp::endpoint(asio::ip::make_address(from), 0), ec);
      s->connect(target, ec);
      if (!ec) s->non_blocking(true, ec);
      ++opened_;
      socks[k] = std::move(s);
    };
    for (std::size_t k = 0; k < socks.size() && !stop_; ++k) open(k);
    std::uint8_t buf[256];
    while (!stop_) {
      for (std::size_t k = 0; k < socks.size() && !stop_; ++k) {
        asio::error_code ec;
        socks[k]->read_some(asio::buffer(buf), ec);
        if (ec && ec != asio::error::would_block) open(k);  // closed by the node: again
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<long> opened_{0};
  std::thread thread_;
};

// The hostile member, again and again: Wants it never reads, pushes of held events, garbage.
class Hostile {
 public:
  Hostile(Network& net, int member, std::vector<Bytes> held)
      : net_(net), member_(member), held_(std::move(held)) {
    polder::v1::SyncMessage want;
    auto* note = want.mutable_want()->add_notes();
    note->set_author(net.member(1).session->key().public_key().str());
    note->set_seq(1);
    want_ = want.SerializeAsString();
  }
  // Opens the next client (the previous one is dropped): call now and then.
  void Next() {
    const int phase = round_++ % 3;
    int left = 2000;
    std::size_t at = 0;
    client_.reset();
    client_ = std::make_unique<HostileClient>(
        net_.member(0).node->local_endpoint(), MemberTransport(net_, member_),
        [this, phase, left, at]() mutable -> std::optional<Bytes> {
          if (left-- <= 0) return std::nullopt;
          polder::v1::SyncMessage m;
          if (phase == 0) return Bytes(want_.begin(), want_.end());
          m.mutable_events()->set_push(true);
          for (int k = 0; k < 100; ++k) {
            if (phase == 1 && !held_.empty()) {
              const Bytes& e = held_[at++ % held_.size()];
              m.mutable_events()->add_events(e.data(), e.size());
            } else {
              m.mutable_events()->add_events(std::string(600, static_cast<char>(k)));
            }
          }
          const std::string s = m.SerializeAsString();
          return Bytes(s.begin(), s.end());
        });
  }
  int rounds() const { return round_; }

 private:
  Network& net_;
  int member_;
  std::vector<Bytes> held_;
  std::string want_;
  int round_ = 0;
  std::unique_ptr<HostileClient> client_;
};

}  // namespace

int main(int argc, char** argv) {
  int events = 5000, samples = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--events")) events = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--samples")) samples = std::atoi(argv[i + 1]);
  }
  Network net(5, 3, 41);
  // The worst case: node 0 lets the hostile member back at once after each cut-off (by default
  // it refuses them for a minute, doubling), so that every part of the attack reaches it.
  polder::app::NodeConfig target;
  target.cut_off_cooldown = 0ms;
  net.Start(0, {}, target);
  net.Start(1, {0});
  if (!net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 30s)) return 1;
  // The hostile member's node never runs: only its raw client does. Its keys are a member's.
  for (int i = 0; i < events; ++i) {
    if (auto st = net.RandomEvent(1); !st) {
      std::fprintf(stderr, "member 1 cannot author: %s\n", st.error().message.c_str());
      return 1;
    }
  }
  if (!net.RunUntil([&] { return net.VectorsEqual({0, 1}); }, 120s)) {
    std::fprintf(stderr, "node 0 did not receive member 1's events\n");
    return 1;
  }
  std::printf("circle: %d events authored by member 1, held by nodes 0 and 1\n", events);

  const Latency push_quiet = PushLatency(net, samples);
  const double catch_up_quiet = CatchUp(net, 2);
  const long rss_quiet = PeakRssKb();

  // Events node 0 holds, for the duplicate flood.
  std::vector<Bytes> held;
  {
    auto page = net.member(1).session->replica().events().EventsOf(
        net.member(1).session->key().public_key(), 1, 500);
    if (page) held = std::move(*page);
  }
  Latency push_attack;
  double catch_up_attack = -1;
  long opened = 0;
  int rounds = 0;
  {
    Strangers strangers(net.member(0).node->local_endpoint());
    Hostile hostile(net, 4, held);
    auto attack_for = [&](auto&& measure) {
      hostile.Next();
      net.RunFor(300ms);  // the attack under way before the measure starts
      return measure();
    };
    push_attack = attack_for([&] {
      Latency l;
      std::vector<Latency> parts;
      for (int k = 0; k < 4; ++k) {
        parts.push_back(PushLatency(net, samples / 4));
        hostile.Next();
      }
      for (const auto& p : parts) {
        l.median += p.median / parts.size();
        l.p95 = std::max(l.p95, p.p95);
      }
      return l;
    });
    catch_up_attack = attack_for([&] { return CatchUp(net, 3); });
    opened = strangers.opened();
    rounds = hostile.rounds();
  }
  const long rss_attack = PeakRssKb();
  const auto m = net.member(0).node->Metrics();

  std::printf("push latency (member 1 -> node 0), %d samples each:\n", samples);
  std::printf("  quiet:        median %.1f ms, p95 %.1f ms\n", push_quiet.median, push_quiet.p95);
  std::printf("  under attack: median %.1f ms, p95 %.1f ms  (median ratio %.2f)\n",
              push_attack.median, push_attack.p95,
              push_quiet.median > 0 ? push_attack.median / push_quiet.median : 0.0);
  std::printf("catch-up of %d events by a fresh node from node 0:\n", events);
  std::printf("  quiet:        %.0f ms\n", catch_up_quiet);
  std::printf("  under attack: %.0f ms  (ratio %.2f)\n", catch_up_attack,
              catch_up_quiet > 0 ? catch_up_attack / catch_up_quiet : 0.0);
  std::printf("peak RSS of the process (5 nodes): %ld KB quiet, %ld KB after the attack\n",
              rss_quiet, rss_attack);
  std::printf("attack: %d hostile sessions tried, %ld stranger connections opened\n", rounds,
              opened);
  std::printf("node 0 cut off:");
  for (const auto& [reason, n] : m.sync.cut_off_by_reason) {
    std::printf(" %s=%llu", reason.c_str(), static_cast<unsigned long long>(n));
  }
  std::printf("\nnode 0 refused connections:");
  for (const auto& [reason, n] : m.handshakes_refused) {
    std::printf(" %s=%llu", reason.c_str(), static_cast<unsigned long long>(n));
  }
  std::printf("\n");
  return catch_up_quiet > 0 && catch_up_attack > 0 ? 0 : 1;
}
