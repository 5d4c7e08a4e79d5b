// TestCircle builds valid signed events for tests and benchmarks: a founder, members, and helpers
// for each payload, with sequence numbers, prev links and timestamps chained correctly.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "polder/v1/event.pb.h"

namespace polder::testutil {

inline constexpr std::int64_t kStartMs = 1'700'000'000'000;  // 2023-11-14, far in the past
// The organisations the tests' charters list (with their founder's).
inline constexpr const char* kTestOrganisations[] = {"Org",   "Org A", "Org B", "Org C", "Org 0",
                                                     "Org 1", "Org 2", "Org0",  "Org1",  "Org2",
                                                     "A",     "B",     "C"};

class TestCircle {
 public:
  explicit TestCircle(std::string org = "Org A");
  // A circle founded by the holder of `founder_seed` (32 bytes).
  TestCircle(std::string org, ByteView founder_seed);

  const CircleId& circle() const { return circle_; }
  const std::vector<Bytes>& events() const { return events_; }
  std::int64_t now() const { return now_; }
  const crypto::SigningKey& key(int who) const { return authors_[who].key; }
  int members() const { return static_cast<int>(authors_.size()); }

  // Adds a member admitted by `admitter`; returns the new member's index.
  int Admit(int admitter, const std::string& name, const std::string& org, bool leader = false);
  // A key that is not admitted (for refusal tests); its events still chain correctly.
  int Stranger();

  EventId Propose(int who, const std::string& title, std::int64_t amount_minor,
                  std::int64_t window_ms = 7 * 86'400'000LL);
  EventId Vote(int who, const EventId& proposal, v1::Choice choice);
  EventId Flag(int who, const EventId& proposal, v1::Severity severity);
  EventId Resolve(int who, const EventId& flag, v1::FlagResolution::Kind kind);
  EventId Endorse(int who, const EventId& proposal);
  EventId Comment(int who, const std::string& text, const EventId* target = nullptr);
  EventId Delegate(int who, int to, const std::string& topic = "");
  EventId Withdraw(int who, const EventId& proposal);

  // Signs the next event of `who` with `fill` applied to a correctly chained body. The event is
  // appended to events() unless `record` is false.
  Bytes Next(int who, const std::function<void(v1::EventBody&)>& fill, EventId* id = nullptr,
             bool record = true);
  // Signs an arbitrary body as `who` (nothing is chained or recorded).
  Bytes SignBody(int who, const v1::EventBody& body, EventId* id = nullptr) const;

  void Advance(std::int64_t ms) { now_ += ms; }
  // Keys of members added from now on (Admit, Stranger) derive from `seed` instead of being
  // random, so that a run repeats exactly (the simulation).
  void DeriveKeysFrom(std::uint64_t seed) { key_seed_ = seed; }

 private:
  struct AuthorState {
    crypto::SigningKey key;
    std::uint64_t seq = 0;
    std::string prev;
  };
  crypto::SigningKey NewKey() const;

  std::vector<AuthorState> authors_;
  std::optional<std::uint64_t> key_seed_;
  std::vector<Bytes> events_;
  CircleId circle_;
  std::int64_t now_ = kStartMs;
};

// The benchmarks' circle: 20 members of 3 organisations, then proposals, votes and comments with
// ~280-byte texts until it holds `n` events.
void FillBenchCircle(TestCircle& c, std::size_t n);

}  // namespace polder::testutil
