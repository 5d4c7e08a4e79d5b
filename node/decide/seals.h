// Seals and finality (tally.h: "Seals and finality"): which of a round's seals count, the sealed
// view they define, whether the round is final, and the integrity alert raised when events
// missing from the sealed view would have decided the round differently.
//
// Internal to node/decide: not included outside it (the public API is tally.h).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "node/decide/proposal_tally.h"
#include "node/decide/tally.h"

namespace polder::decide {

struct RoundContext;

// Each member's first seal for `deadline` in their own key's log (no device's), by member.
std::vector<const SealRecord*> FirstOwnSeals(const std::vector<SealRecord>& seals,
                                             std::int64_t deadline);

// Counts the seals of the round with `deadline` (tally.h: "Seals and finality"). `ctx` must be
// prepared with every event held at the deadline (the full view). When `heads` is not null, sets
// *heads to the counted view: per log (MemberIndex::LogOf), the highest seq at least `required`
// seals are known to cover (the round's view once it is sealed). When `forked` is not null, sets
// *forked, per member index, to whether the round counts them as forked.
SealNote CountSeals(const RoundContext& ctx, std::int64_t deadline,
                    std::vector<std::uint64_t>* heads, std::vector<char>* forked = nullptr);

// A round is final when it is sealed and every earlier round is final; a closed round that is
// not is provisional.
inline Finality RoundFinality(bool closed, bool sealed, bool earlier_final) {
  if (!closed) return Finality::kOpen;
  return sealed && earlier_final ? Finality::kFinal : Finality::kProvisional;
}

// For a sealed round: the alert naming the events timestamped by its deadline but missing from
// its sealed view, when deciding the round with them (`full`: every event held) would change a
// status or a reason; nothing otherwise. `left` and `org_spent` are what earlier rounds left.
std::optional<IntegrityAlert> CheckSealedView(const RoundContext& sealed, const RoundContext& full,
                                              const std::vector<const ProposalRecord*>& round,
                                              Money left,
                                              const std::map<std::string, Money>& org_spent,
                                              const IgnoredVotes& ignored_votes);

}  // namespace polder::decide
