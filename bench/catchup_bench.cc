// bench/catchup: a fresh replica catches up 100,000 events (~300-byte payloads) from one peer over
// an encrypted loopback session, every batch durably committed (synchronous=FULL), and, measured
// in the same run, the machine's raw single-core Ed25519 verification rate on the same events.
//
// Target (issue 4): under 3.5 s for the 100,000 events.
// The source and the receiver run on their own threads (one io_context each), as two nodes would.
//
// `catchup_bench --members N` catches up a wide circle instead (issue 14: "a circle of 10,000
// eligible members seals and syncs"): N members, each voting on one proposal, and 80 % of them
// sealing its round, each seal planned as a node plans it (app::PlanSeal, on a base when one
// saves entries); it prints the seals' bytes and whether the caught-up replica shows the round
// final.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/seal_record.h"
#include "crypto/identity.h"
#include "node/app/circle_state.h"
#include "node/app/sealer.h"
#include "node/decide/tally.h"
#include "node/net/session.h"
#include "node/sync/replica_store.h"
#include "node/sync/syncer.h"
#include "storage/replica.h"
#include "tests/testutil/circle.h"

namespace polder {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class Link : public sync::Link {
 public:
  explicit Link(std::shared_ptr<net::Session> s) : s_(std::move(s)) {}
  bool Send(Bytes m) override { return s_->Post(m); }
  std::size_t queued_bytes() const override { return s_->queued_bytes(); }
  void Close(std::string reason) override {
    std::fprintf(stderr, "link closed: %s\n", reason.c_str());
    s_->Close(net::CloseReason::kProtocol, reason);
  }

 private:
  std::shared_ptr<net::Session> s_;
};

// One side: a replica, a syncer and a session on its own io_context.
struct Side {
  asio::io_context io;
  std::unique_ptr<storage::Replica> replica;
  std::unique_ptr<sync::ReplicaStore> store;
  std::unique_ptr<sync::Syncer> syncer;
  std::shared_ptr<net::Session> session;
  sync::PeerId peer = 0;
  asio::thread_pool verifier{1};  // as app::Node does
};

// CPU time of this process (all threads), user and system.
double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Raw Ed25519 verifications per second of the events' signed messages, on `threads` threads
// at once (each verifies its share).
double RawVerifyRate(const std::vector<Bytes>& events, unsigned threads) {
  struct M {
    MemberKey key;
    Bytes msg, sig;
  };
  std::vector<M> ms;
  for (const auto& ev : events) {
    v1::SignedEvent env;
    env.ParseFromArray(ev.data(), static_cast<int>(ev.size()));
    v1::EventBody b;
    b.ParseFromString(env.body());
    ms.push_back({*MemberKey::FromBytes(AsBytes(b.author())),
                  crypto::SignedMessage(crypto::kContextEvent, AsBytes(env.body())),
                  Bytes(env.signature().begin(), env.signature().end())});
  }
  std::atomic<std::size_t> ok{0};
  auto share = [&](unsigned k) {
    std::size_t mine = 0;
    for (std::size_t i = ms.size() * k / threads; i < ms.size() * (k + 1) / threads; ++i) {
      mine += crypto::VerifyRaw(ms[i].key, ms[i].msg, ms[i].sig);
    }
    ok += mine;
  };
  const auto t0 = Clock::now();
  std::vector<std::thread> helpers;
  for (unsigned k = 1; k < threads; ++k) helpers.emplace_back(share, k);
  share(0);
  for (auto& h : helpers) h.join();
  const double secs = Since(t0);
  if (ok != ms.size()) std::fprintf(stderr, "raw verification failed\n");
  return static_cast<double>(ms.size()) / secs;
}

// A wide circle: `members` members, each voting on one proposal before its deadline, ingested
// into `src`; then 80 % of them seal the round as nodes do. Returns the deadline and the seals'
// bytes.
struct Wide {
  std::int64_t deadline = 0;
  std::size_t seal_bytes = 0, seals = 0, entries = 0;
};
Wide FillWideCircle(testutil::TestCircle& c, int members, storage::Replica& src) {
  Wide w;
  for (int i = 1; i < members; ++i) c.Admit(0, "m" + std::to_string(i), i % 2 ? "Org B" : "Org C");
  const std::int64_t window = 2LL * members + 1000;
  const EventId p = c.Propose(0, "Wide", 1000, window);
  w.deadline = c.now() + window;  // the proposal is timestamped now
  for (int i = 0; i < members; ++i) c.Vote(i, p, v1::FOR);
  auto ingest = [&](std::size_t from) {
    const storage::IngestOptions opt(c.now() + 1000);
    for (std::size_t i = from; i < c.events().size(); i += 20000) {
      const auto end = std::min(c.events().size(), i + 20000);
      if (!src.Ingest(std::span<const Bytes>(c.events().data() + i, end - i), opt)) std::abort();
    }
  };
  ingest(0);
  c.Advance(window + 10);
  const auto held = *src.events().VectorAt(w.deadline);
  std::vector<decide::SealRecord> seals;
  const std::size_t before = c.events().size();
  for (int i = 0; i < members * 4 / 5; ++i) {
    const MemberKey me = c.key(i).public_key();
    const app::SealPlan plan = app::PlanSeal(held, seals, w.deadline, me);
    // Paged as the node's sealer pages it.
    EventId id;
    std::uint64_t seq = 0;
    for (std::size_t part = 0; part < app::SealParts(plan); ++part) {
      EventId part_id;
      const Bytes ev = c.Next(
          i,
          [&](v1::EventBody& b) {
            app::WriteSealPart(plan, w.deadline, part, *b.mutable_seal());
            if (part == 0) seq = b.seq();
          },
          &part_id);
      if (part == 0) id = part_id;
      w.seal_bytes += ev.size();
    }
    seals.push_back(bench::SealRecordOf(plan, me, seq, c.now(), w.deadline, id));
    w.entries += plan.entries.size();
    ++w.seals;
  }
  ingest(before);
  return w;
}

}  // namespace
}  // namespace polder

int main(int argc, char** argv) {
  using namespace polder;
  const bool wide = argc > 2 && std::string(argv[1]) == "--members";
  const std::size_t n = wide       ? std::strtoull(argv[2], nullptr, 10)
                        : argc > 1 ? std::strtoull(argv[1], nullptr, 10)
                                   : 100'000;
  crypto::InitSodium();
  testutil::TestCircle c("Org A");
  const auto dir =
      std::filesystem::temp_directory_path() / ("polder-catchup-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Side src, dst;
  src.replica = std::move(*storage::Replica::Open(dir / "source.sqlite3"));
  dst.replica = std::move(*storage::Replica::Open(dir / "fresh.sqlite3"));
  (void)src.replica->SetCircle(c.circle());
  (void)dst.replica->SetCircle(c.circle());
  Wide w;
  if (wide) {
    std::printf("generating a circle of %zu members who vote and seal...\n", n);
    w = FillWideCircle(c, static_cast<int>(n), *src.replica);
  } else {
    std::printf("generating %zu events...\n", n);
    testutil::FillBenchCircle(c, n);
    const storage::IngestOptions opt(c.now() + 1000);
    for (std::size_t i = 0; i < c.events().size(); i += 20000) {
      const auto end = std::min(c.events().size(), i + 20000);
      if (!src.replica->Ingest(std::span<const Bytes>(c.events().data() + i, end - i), opt)) {
        return 1;
      }
    }
  }
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const double raw_before = RawVerifyRate(c.events(), 1);
  const double all_before = RawVerifyRate(c.events(), cores);

  const auto ka = crypto::SigningKey::Generate(), kb = crypto::SigningKey::Generate();
  auto tc = [&](bool initiator) {
    net::TransportConfig t;
    t.initiator = initiator;
    t.circle = c.circle();
    t.network_key.fill(5);
    t.identity = initiator ? &kb : &ka;
    t.is_member = [](const MemberKey&) { return true; };
    return t;
  };
  asio::ip::tcp::acceptor acc(src.io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket s_sock(src.io), d_sock(dst.io);
  d_sock.connect(acc.local_endpoint());
  acc.accept(s_sock);
  src.session = *net::Session::Create(std::move(s_sock), tc(false), {});
  dst.session = *net::Session::Create(std::move(d_sock), tc(true), {});
  const auto now = [&c] { return c.now() + 1000; };
  for (Side* s : {&src, &dst}) {
    sync::Syncer::Options o;
    o.now_ms = now;
    o.clock = Clock::now;
    s->store = std::make_unique<sync::ReplicaStore>(*s->replica);
    s->syncer = std::make_unique<sync::Syncer>(*s->store, o);
    s->syncer->set_schedule_flush([s] { asio::post(s->io, [s] { s->syncer->Flush(); }); });
    if (!std::getenv("POLDER_BENCH_NO_PIPELINE")) {
      s->syncer->set_offload([s](std::function<void()> work, std::function<void()> then) {
        asio::post(s->verifier, [s, work = std::move(work), then = std::move(then)] {
          work();
          asio::post(s->io, then);
        });
      });
    }
    if (!s->syncer->Load()) return 1;
    s->session->on_ready([s] {
      s->peer = s->syncer->AddPeer(s->session->peer(), std::make_shared<Link>(s->session));
    });
    s->session->on_message([s](ByteView m) { s->syncer->OnMessage(s->peer, m); });
    asio::co_spawn(s->io, s->session->Run(), asio::detached);
  }
  const Digest32 target = src.syncer->vector().Digest();
  std::atomic<bool> done{false};
  // Profiling the catch-up alone: `perf record --control fifo:CTL -D -1 ...` with
  // POLDER_PERF_CTL=CTL starts sampling here and stops it when the catch-up ends.
  auto perf_ctl = [](const char* what) {
    if (const char* ctl = std::getenv("POLDER_PERF_CTL")) {
      if (FILE* f = std::fopen(ctl, "w")) {
        std::fputs(what, f);
        std::fclose(f);
      }
    }
  };
  perf_ctl("enable\n");
  const double cpu0 = CpuSeconds();
  Clock::time_point t0 = Clock::now();
  dst.syncer->on_stored = [&](std::size_t) {
    if (dst.syncer->vector().Digest() == target) {
      done = true;
      dst.io.stop();
    }
  };
  std::thread source([&] {
    while (!done) src.io.run_for(std::chrono::milliseconds(50));
  });
  const auto limit = Clock::now() + std::chrono::seconds(120);
  while (!done && Clock::now() < limit) dst.io.run_for(std::chrono::milliseconds(50));
  const double secs = Since(t0);
  const double cpu = CpuSeconds() - cpu0;
  perf_ctl("disable\n");
  done = true;
  source.join();
  const double raw_after = RawVerifyRate(c.events(), 1);
  const double all_after = RawVerifyRate(c.events(), cores);
  const auto counts = *dst.replica->events().Counts();
  const bool same = *dst.replica->StateDigest() == *src.replica->StateDigest();
  std::filesystem::remove_all(dir);
  const double raw = (raw_before + raw_after) / 2;
  std::printf("events caught up: %llu of %zu (state digests %s)\n",
              static_cast<unsigned long long>(counts.events), c.events().size(),
              same ? "equal" : "DIFFER");
  std::printf("catch-up: %.2f s, %.0f events/s (target: under 3.5 s for 100,000)\n", secs,
              static_cast<double>(counts.events) / secs);
  std::printf("raw Ed25519 verification, one core: %.0f/s (%.0f before, %.0f after)\n", raw,
              raw_before, raw_after);
  const double all = (all_before + all_after) / 2;
  std::printf(
      "raw Ed25519 verification, all %u cores at once: %.0f/s (%.0f before, %.0f after);"
      " verifying %zu events alone takes %.2f s\n",
      cores, all, all_before, all_after, c.events().size(),
      static_cast<double>(c.events().size()) / all);
  std::printf("catch-up rate / raw single-core verification rate: %.2f\n",
              static_cast<double>(counts.events) / secs / raw);
  // The 3.5 s assumes cores that verify about 24,000 signatures/s; on a slower or busier
  // machine the same use of both cores takes longer in proportion.
  constexpr double kReferenceRate = 24'000;
  std::printf(
      "the same ratio on cores that verify %.0f/s (the issue's reference for its 3.5 s target):"
      " %.2f s for %zu events\n",
      kReferenceRate,
      static_cast<double>(c.events().size()) / (counts.events / secs / raw) / kReferenceRate,
      c.events().size());
  std::printf("catch-up rate / raw all-core verification rate (the machine's ceiling): %.2f\n",
              static_cast<double>(counts.events) / secs / all);
  std::printf("CPU used during the catch-up (source and receiver): %.2f s, %.2f cores busy of %u\n",
              cpu, cpu / secs, cores);
  std::printf("batches verified off the receiver's thread: %llu of %llu\n",
              static_cast<unsigned long long>(dst.syncer->stats().batches_offloaded),
              static_cast<unsigned long long>(dst.syncer->stats().batches_committed));
  if (wide) {
    const auto vector_bytes = dst.syncer->vector().heads.size() * 75;
    auto st = app::LoadCircleState(*dst.replica);
    const auto t0 = Clock::now();
    const auto r = decide::Tally(*st, c.now() + 1000);
    const double tally_s = Since(t0);
    const bool final = !r.rounds.empty() && r.rounds[0].finality == decide::Finality::kFinal;
    std::printf(
        "wide circle: %zu members, %zu seals (%zu entries, %.2f MB signed, %.0f B each); "
        "version vector ~%.2f MB; the caught-up replica's round: %s (tally %.0f ms, %zu votes)\n",
        n, w.seals, w.entries, static_cast<double>(w.seal_bytes) / 1e6,
        static_cast<double>(w.seal_bytes) / static_cast<double>(std::max<std::size_t>(1, w.seals)),
        static_cast<double>(vector_bytes) / 1e6, final ? "final" : "NOT FINAL", tally_s * 1000,
        r.proposals.empty() ? std::size_t{0} : r.proposals[0].explanation.votes.size());
    return same && final ? 0 : 1;
  }
  return same ? 0 : 1;
}
