// Allocation within a round (tally.h: "Allocation"): the round's candidates — closed, not
// withdrawn, quorum met, approved, not blocked — share what earlier rounds left of the pool,
// under the per-proposal and per-organisation caps, by greedy approval or by the Method of Equal
// Shares (allocate.h).
//
// Internal to node/decide: not included outside it (the public API is tally.h).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gmpxx.h>

#include "node/decide/allocate.h"
#include "node/decide/tally.h"

namespace polder::decide {

struct RoundContext;

// pool × bps / 10000, floored (0 for an empty pool).
Money Share(Money pool, std::uint32_t bps);
// amount > bps / 10000 of pool, exactly.
bool Over(Money amount, Money pool, std::uint32_t bps);

// One round's outcomes, and what is left after it.
struct RoundRun {
  std::vector<ProposalOutcome> outcomes;   // in the round's order (by id)
  Money left;                              // of the pool
  std::map<std::string, Money> org_spent;  // funded so far per organisation, over all rounds
  std::string allocation_error;            // EQUAL_SHARES: why Mes() refused the instance
};

// Decides, in place, the outcomes of run.outcomes that are candidates (status kNotFunded with no
// reason yet): funded, or the reason they were not. `for_weight` is each outcome's for-weight,
// in the same order. Spends from run.left and adds to run.org_spent. REQUIRES: ctx.closed.
void Allocate(const RoundContext& ctx, const std::vector<mpq_class>& for_weight, RoundRun& run);

// Undoes Allocate() on `outcomes`, so that it can run again.
void ResetAllocation(std::vector<ProposalOutcome>& outcomes);

}  // namespace polder::decide
