// Tunables of the decision module: every bound on an allocation instance and on a Pabulib file,
// in one place.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/money.h"

namespace polder::decide {

// Costs and budgets are minor units, at most the bound on every amount (10^15, as storage's);
// with at most kMaxProjects projects every sum of costs stays below 2^63, so sums need no
// overflow checks.
inline constexpr std::int64_t kMaxAmountMinor = kMaxMoneyMinor;
inline constexpr std::size_t kMaxProjects = 4096;  // Pabulib's largest elections have ~200
// Voters (ballots). Memory is about 40 bytes per voter plus 4 per approval.
inline constexpr std::size_t kMaxVoters = 4'000'000;
// Decimal places a Pabulib cost or budget may have (as a circle's currency may).
inline constexpr std::uint32_t kMaxDecimals = kMaxMoneyDecimals;

// Pabulib files. A whole file is read into memory, so it is bounded before it is read.
inline constexpr std::size_t kMaxPbFileBytes = 128 << 20;
inline constexpr std::size_t kMaxPbFieldBytes = 1 << 20;  // a long description or vote list
inline constexpr std::size_t kMaxPbColumns = 256;

// The add1 completion of the Method of Equal Shares runs MES once per whole currency unit added
// to each voter's budget. It normally stops after tens of rounds (the outcome outgrows the
// budget); an instance with a project far costlier than the budget could make it run for very
// long, so it stops here and says so (AllocationResult::add1_capped).
inline constexpr std::uint32_t kMaxAdd1Rounds = 10'000;

}  // namespace polder::decide
