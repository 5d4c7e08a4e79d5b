// Access: who may open a session with this node (docs/protocol.md §6, §13) — the members who
// are eligible now (decide::Standings under the rules in force: admitted into a listed
// organisation by members of enough organisations), and the devices they linked and did not
// revoke. Anyone else, a member admitted once but not (yet) eligible included, is refused.
//
// Eligible over every admission held, whatever its timestamp (a cut-off of now would keep out a
// member whose admitter's clock runs a little fast). The answer is recomputed from the replica (a
// full fold) when what decides it changed (storage::DerivedState::Membership) and at least every
// kAccessRefresh in any case (a late vote on a rule change can change the rules in force without
// changing the mark).
//
// Thread-safety: none; use on the thread that owns the replica.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>

#include "proto/bytes.h"
#include "proto/result.h"
#include "storage/derived_state.h"
#include "storage/replica.h"

namespace polder::app {

inline constexpr std::chrono::minutes kAccessRefresh{5};

class Access {
 public:
  explicit Access(storage::Replica& replica) : replica_(replica) {}

  // Recomputes the eligible set when the membership mark changed since the last time, or
  // `force`. True when the set changed. Nothing to compute before the charter is held.
  Result<bool> Refresh(std::int64_t now_ms, bool force);
  // False until a Refresh found the charter.
  bool ready() const { return eligible_.has_value(); }
  // An eligible member, or a device an eligible member linked and did not revoke.
  bool Allows(const MemberKey& key);
  std::size_t size() const { return eligible_ ? eligible_->size() : 0; }

 private:
  storage::Replica& replica_;
  std::optional<std::set<MemberKey>> eligible_;
  std::optional<storage::DerivedState::MembershipMark> mark_;
};

}  // namespace polder::app
