// Money: an amount in minor units (cents, grosze, ...) as one strong type, the one way to print
// it and the one way to read it as a person types it. Never floating point.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/result.h"

namespace polder {

// Events carry amounts of at most this many minor units (docs/protocol.md §2): sums of thousands
// of them stay far below 2^63, so adding amounts needs no overflow check.
inline constexpr std::int64_t kMaxMoneyMinor = 1'000'000'000'000'000;
// Minor-unit digits a circle may use (minor units per unit = 10^decimals).
inline constexpr std::uint32_t kMaxMoneyDecimals = 6;

class Money {
 public:
  constexpr Money() = default;
  constexpr explicit Money(std::int64_t minor) : minor_(minor) {}

  constexpr std::int64_t minor() const { return minor_; }

  constexpr auto operator<=>(const Money&) const = default;
  constexpr Money operator+(Money o) const { return Money(minor_ + o.minor_); }
  constexpr Money operator-(Money o) const { return Money(minor_ - o.minor_); }
  constexpr Money operator-() const { return Money(-minor_); }
  constexpr Money& operator+=(Money o) {
    minor_ += o.minor_;
    return *this;
  }
  constexpr Money& operator-=(Money o) {
    minor_ -= o.minor_;
    return *this;
  }

 private:
  std::int64_t minor_ = 0;
};

// How a circle writes its money: the unit shown after the number and the minor-unit digits.
struct Currency {
  std::string unit;            // e.g. "EUR"; may be empty
  std::uint32_t decimals = 2;  // at most kMaxMoneyDecimals (more are printed as that many)
};

// 123450 with 2 decimals → "1234.50"; -5 → "-0.05"; with 0 decimals no point.
std::string FormatMoney(Money amount, std::uint32_t decimals);
// The same followed by " " and the unit, when the currency has one: "1234.50 EUR".
std::string FormatMoney(Money amount, const Currency& currency);

// "1500", "1500.5", "1,500.50", "1_500" with `decimals` minor digits → minor units, at most
// kMaxMoneyMinor. A sign, more fraction digits than `decimals`, or anything else is an error
// (kInvalidArgument) that says what is wrong.
Result<Money> ParseMoney(std::string_view text, std::uint32_t decimals);

// The same reading for any exact decimal a person types (ParseMoney is this with "amount" and
// kMaxMoneyMinor): digits with an optional fraction of at most `decimals` digits, `,` or `_`
// between digits before the point, scaled by 10^decimals, at most `max`. `what` names the
// quantity in error messages ("percentage", ...). REQUIRES: decimals <= kMaxMoneyDecimals.
Result<std::int64_t> ParseDecimal(std::string_view text, std::uint32_t decimals, std::int64_t max,
                                  std::string_view what);

}  // namespace polder
