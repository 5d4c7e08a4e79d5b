// bench/ingest: 100,000 pre-generated events (~300-byte payloads) through the full ingest gate
// into a fresh replica, against the machine's limit measured in the same run: raw Ed25519
// verifications per second of the same signed messages on one thread.
//
// Target (issue 2): ingest rate >= 75% of the raw verification rate.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "crypto/identity.h"
#include "storage/limits.h"
#include "storage/replica.h"
#include "storage/rulebook/decode.h"
#include "tests/testutil/circle.h"

namespace polder {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Signed {
  MemberKey key;
  Bytes message;  // exactly what the signature covers
  Bytes sig;
};

double RawVerifyRate(const std::vector<Signed>& msgs) {
  const auto t0 = Clock::now();
  std::size_t ok = 0;
  for (const auto& m : msgs) ok += crypto::VerifyRaw(m.key, m.message, m.sig);
  const auto t1 = Clock::now();
  if (ok != msgs.size()) std::fprintf(stderr, "raw verification failed!\n");
  return static_cast<double>(msgs.size()) / Seconds(t0, t1);
}

}  // namespace
}  // namespace polder

int main(int argc, char** argv) {
  using namespace polder;
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000;
  crypto::InitSodium();

  std::printf("generating %zu events...\n", n);
  testutil::TestCircle c("Org A");
  testutil::FillBenchCircle(c, n);
  const auto& events = c.events();
  std::size_t payload_bytes = 0;
  std::vector<Signed> msgs;
  msgs.reserve(events.size());
  for (const auto& ev : events) {
    v1::SignedEvent env;
    env.ParseFromArray(ev.data(), static_cast<int>(ev.size()));
    v1::EventBody body;
    body.ParseFromString(env.body());
    payload_bytes += ev.size();
    Signed s;
    s.key = *MemberKey::FromBytes(AsBytes(body.author()));
    s.message = crypto::SignedMessage(crypto::kContextEvent, AsBytes(env.body()));
    s.sig.assign(env.signature().begin(), env.signature().end());
    msgs.push_back(std::move(s));
  }
  std::printf("events: %zu, mean size %.0f bytes\n", events.size(),
              static_cast<double>(payload_bytes) / static_cast<double>(events.size()));

  const bool ingest_only = std::getenv("POLDER_BENCH_INGEST_ONLY") != nullptr;  // for profiling
  const double raw_before = ingest_only ? 1 : RawVerifyRate(msgs);  // warm-up, and for reference
  // The stateless half of the gate alone (parse, shape checks, signature, id), for the breakdown.
  const auto d0 = Clock::now();
  std::size_t decoded = 0;
  for (std::size_t i = 0; i < events.size() && !ingest_only; ++i) {
    decoded += rulebook::Decode(events[i], c.now() + 1000).has_value();
  }
  const double decode_rate = static_cast<double>(decoded) / Seconds(d0, Clock::now());

  // Rounds: each ingests everything into a fresh replica, batch by batch; around each batch it
  // verifies the same batch's messages raw, alternating which goes first, so both rates see the
  // same machine (this one is noisy and has 2 cores). The median round is the result.
  const int rounds = ingest_only ? 1 : 3;
  std::vector<double> ratios;
  std::size_t applied = 0;
  for (int round = 0; round < rounds; ++round) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("polder-bench-" + std::to_string(::getpid()) + "-" + std::to_string(round));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto replica = storage::Replica::Open(dir / "replica.sqlite3");
    if (!replica || !(*replica)->SetCircle(c.circle())) return 1;
    const storage::IngestOptions opt(c.now() + 1000);
    double ingest_s = 0;
    double raw_s = 0;
    applied = 0;
    for (std::size_t i = 0, b = 0; i < events.size(); i += storage::kImportBatchEvents, ++b) {
      const auto end = std::min(events.size(), i + storage::kImportBatchEvents);
      auto raw = [&] {
        const auto r0 = Clock::now();
        std::size_t ok = 0;
        for (std::size_t j = i; j < end; ++j) {
          ok += crypto::VerifyRaw(msgs[j].key, msgs[j].message, msgs[j].sig);
        }
        raw_s += Seconds(r0, Clock::now());
        return ok == end - i;
      };
      if (b % 2 == 0 && !ingest_only && !raw()) return 1;
      const auto t0 = Clock::now();
      auto r = (*replica)->Ingest(std::span<const Bytes>(events.data() + i, end - i), opt);
      ingest_s += Seconds(t0, Clock::now());
      if (!r) {
        std::fprintf(stderr, "ingest failed: %s\n", r.error().message.c_str());
        return 1;
      }
      for (const auto& x : *r) applied += x.outcome == storage::Outcome::kApplied;
      if (b % 2 == 1 && !ingest_only && !raw()) return 1;
    }
    const double ingest = static_cast<double>(events.size()) / ingest_s;
    const double rate = static_cast<double>(events.size()) / raw_s;
    ratios.push_back(ingest / rate);
    std::printf(
        "round %d: ingest %.0f events/s (%.2f s), raw verify %.0f /s, ratio %.2f; applied %zu\n",
        round + 1, ingest, ingest_s, rate, ingest / rate, applied);
    replica->reset();
    std::filesystem::remove_all(dir);
  }
  std::sort(ratios.begin(), ratios.end());
  std::printf("raw crypto_sign_verify_detached alone, before the rounds: %.0f /s\n", raw_before);
  std::printf("stateless gate alone (decode + verify): %.0f events/s\n", decode_rate);
  std::printf("batches of %zu events, synchronous=FULL, page size 16 KiB\n",
              storage::kImportBatchEvents);
  std::printf("ratio ingest / raw verify, median of %d rounds: %.2f (target >= 0.75)\n", rounds,
              ratios[ratios.size() / 2]);
  return applied == events.size() ? 0 : 1;
}
