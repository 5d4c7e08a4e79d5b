// Parsing money typed by a person into exact minor units (never floating point).
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/result.h"

namespace polder::cli {

// "1500", "1500.5", "1,500.50", "1_500" with `decimals` minor digits → minor units.
// More fraction digits than `decimals`, signs, or anything else is an error.
Result<std::int64_t> ParseAmount(std::string_view text, std::uint32_t decimals);

// "7d", "36h", "90m", "1d12h" → milliseconds.
Result<std::int64_t> ParseDuration(std::string_view text);

// "50%" or "50" or "66.67%" → basis points (0..10000).
Result<std::uint32_t> ParsePercent(std::string_view text);

}  // namespace polder::cli
