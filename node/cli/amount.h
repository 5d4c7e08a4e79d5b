// Parsing durations and percentages typed by a person into exact integers (never floating
// point). Amounts of money: ParseMoney (proto/money.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/result.h"

namespace polder::cli {

// "7d", "36h", "90m", "1d12h" → milliseconds.
Result<std::int64_t> ParseDuration(std::string_view text);

// "50%" or "50" or "66.67%" → basis points (0..10000).
Result<std::uint32_t> ParsePercent(std::string_view text);
// Basis points → "66.66 %".
std::string FormatPercent(std::uint32_t bps);

}  // namespace polder::cli
