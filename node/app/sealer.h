// Sealer: when this member's node seals a funding round, and the seal it signs (docs/protocol.md
// §15). A round is due once its deadline is `grace` past; the node seals it unless it is catching
// up (what it holds is not what it will hold), the member was not admitted by the deadline or is
// forked, or the round is sealed already. The seal names, for every author held, the last event
// by the deadline of the contiguous prefix of their log, on a base when one saves entries
// (PlanSeal), after a wait that depends on the circle's size (SealDelayMs). Each round is
// considered once per run.
//
// Thread-safety: not thread-safe; the node calls it on its thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "node/app/session.h"
#include "node/decide/fold.h"
#include "polder/v1/event.pb.h"
#include "storage/version_vector.h"

namespace polder::app {

// A seal's content: its base, if any, and the entries it lists (ascending by author).
struct SealPlan {
  std::optional<EventId> base;
  std::vector<std::pair<MemberKey, storage::AuthorHead>> entries;
};

// What `me` seals for `deadline`, holding `held` (EventLog::VectorAt the deadline), given the
// seals held for it (`seals`, CircleState::seals). The base, when one saves entries, is the seal
// needing fewest (ties: the smaller id) among the last kMaxSealBaseCandidates (by timestamp)
// seals of the deadline by another member's own key without a base, every author of which
// `held` names; the plan then lists only the authors where `held` differs from it or is forked,
// and leaves out `me` (a seal never counts for its own author's log). Without a base it lists
// every author held. Either way the seal covers exactly `held` (docs/protocol.md §15).
inline constexpr std::size_t kMaxSealBaseCandidates = 16;

// How long after the grace `me` waits to seal the round of `deadline`, of `eligible` members:
// in a circle of more than kFirstSealers, about kFirstSealers of them (by BLAKE2b of the key and
// the deadline, so not the same ones every round) seal at once and the others over the next
// `spread_ms` (default kSealSpreadMs), so that they find a seal to base theirs on, and stop once
// the round is sealed. No wait in smaller circles, nor with a spread of 0.
inline constexpr std::size_t kFirstSealers = 8;
// How much longer than the grace a node that is catching up waits to seal (Sealer::SealDue).
inline constexpr std::int64_t kCatchUpSealWaitMs = 120'000;
inline constexpr std::int64_t kSealSpreadMs = 60'000;
std::int64_t SealDelayMs(const MemberKey& me, std::int64_t deadline, std::size_t eligible,
                         std::int64_t spread_ms = kSealSpreadMs);
SealPlan PlanSeal(const storage::VersionVector& held, const std::vector<decide::SealRecord>& seals,
                  std::int64_t deadline, const MemberKey& me);

// How many Seal events `plan` takes: paged past rulebook::kMaxSealEntries entries, in author
// order, each part naming the base (docs/protocol.md §15).
std::size_t SealParts(const SealPlan& plan);
// Part `part` of `plan`'s seal for `deadline`, written into `seal`.
void WriteSealPart(const SealPlan& plan, std::int64_t deadline, std::size_t part, v1::Seal& seal);

class Sealer {
 public:
  // Authors one event of this member (the node's Author, which also pushes it to the peers).
  using AuthorFn =
      std::function<Result<Session::Authored>(const std::function<void(v1::EventBody&)>&)>;

  // `catch_up_wait`: how much longer than the grace a node that is catching up waits (see
  // SealDue).
  Sealer(Session& session, std::chrono::milliseconds grace, std::chrono::milliseconds spread,
         std::chrono::milliseconds catch_up_wait, AuthorFn author)
      : session_(session),
        grace_(grace),
        spread_(spread),
        catch_up_wait_(catch_up_wait),
        author_(std::move(author)) {}

  // Seals every round due at `now_ms`. While `catching_up` (peers hold events this replica
  // lacks) a round waits another `catch_up_wait`: what is missing may be from before its
  // deadline. Not for ever: a peer can claim events it never sends, and a seal names only what
  // its node holds, so a seal from a node that lags excludes nothing a majority held (§15).
  // Returns how many seals it authored.
  Result<int> SealDue(std::int64_t now_ms, bool catching_up);

 private:
  Session& session_;
  std::chrono::milliseconds grace_;
  std::chrono::milliseconds spread_;
  std::chrono::milliseconds catch_up_wait_;
  AuthorFn author_;
  std::set<std::int64_t> considered_;            // deadlines already looked at
  std::map<std::int64_t, std::int64_t> due_at_;  // deadline -> when this member seals it
};

}  // namespace polder::app
