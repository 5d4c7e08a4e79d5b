// Access: who may open a session with this node (docs/protocol.md §6, §11) — the members who
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

// What the events say of the circle's network key (docs/protocol.md §11 "Network key rotation").
struct KeyState {
  // The circle's key: named by the latest rotation (by timestamp, signing key, seq) of a member
  // eligible now; nullopt before any rotation (the key of `circle create` and join codes).
  std::optional<EventId> current_id;
  std::vector<EventId> events;  // the eligible members' rotation events naming it
  std::int64_t since_ms = 0;    // that rotation's timestamp (the charter's before any)
  // A member was removed at or after since_ms: the key must change (their node holds it).
  bool due = false;
  std::int64_t last_removal_ms = 0;
  // Who a rotation seals the key to: the eligible members and the devices they linked, claimed
  // and did not revoke; sorted.
  std::vector<MemberKey> recipients;
};

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
  // As of the last Refresh that recomputed.
  const KeyState& keys() const { return keys_; }

 private:
  storage::Replica& replica_;
  std::optional<std::set<MemberKey>> eligible_;
  std::optional<storage::DerivedState::MembershipMark> mark_;
  KeyState keys_;
};

}  // namespace polder::app
