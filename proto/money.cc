#include "proto/money.h"

#include <algorithm>

namespace polder {

std::string FormatMoney(Money amount, std::uint32_t decimals) {
  decimals = std::min(decimals, kMaxMoneyDecimals);
  const std::int64_t minor = amount.minor();
  const bool negative = minor < 0;
  // Unsigned negation: exact even for the most negative value.
  const std::uint64_t magnitude =
      negative ? 0 - static_cast<std::uint64_t>(minor) : static_cast<std::uint64_t>(minor);
  std::string digits = std::to_string(magnitude);
  if (decimals > 0) {
    if (digits.size() <= decimals) digits.insert(0, decimals + 1 - digits.size(), '0');
    digits.insert(digits.size() - decimals, ".");
  }
  return negative ? "-" + digits : digits;
}

std::string FormatMoney(Money amount, const Currency& currency) {
  std::string s = FormatMoney(amount, currency.decimals);
  if (!currency.unit.empty()) s += " " + currency.unit;
  return s;
}

Result<std::int64_t> ParseDecimal(std::string_view text, std::uint32_t decimals, std::int64_t max,
                                  std::string_view what_text) {
  const std::string what(what_text);
  std::int64_t whole = 0;
  std::int64_t frac = 0;
  std::uint32_t frac_digits = 0;
  bool seen_dot = false;
  bool any_digit = false;
  for (char c : text) {
    if (c == ',' || c == '_') {
      if (seen_dot)
        return Fail(Errc::kInvalidArgument, what + ": separator after the decimal point");
      continue;
    }
    if (c == '.') {
      if (seen_dot) return Fail(Errc::kInvalidArgument, what + ": two decimal points");
      seen_dot = true;
      continue;
    }
    if (c < '0' || c > '9') {
      return Fail(Errc::kInvalidArgument,
                  what + " '" + std::string(text) + "' is not a number like 1500 or 1500.50");
    }
    any_digit = true;
    if (seen_dot) {
      if (++frac_digits > decimals) {
        return Fail(Errc::kInvalidArgument,
                    what + " has more than " + std::to_string(decimals) + " decimal places");
      }
      frac = frac * 10 + (c - '0');
    } else {
      whole = whole * 10 + (c - '0');
      if (whole > max) return Fail(Errc::kInvalidArgument, what + " is too large");
    }
  }
  if (!any_digit) return Fail(Errc::kInvalidArgument, what + " is empty");
  std::int64_t scale = 1;
  for (std::uint32_t i = 0; i < decimals; ++i) scale *= 10;
  for (std::uint32_t i = frac_digits; i < decimals; ++i) frac *= 10;
  if (whole > max / scale || whole * scale + frac > max) {
    return Fail(Errc::kInvalidArgument, what + " is too large");
  }
  return whole * scale + frac;
}

Result<Money> ParseMoney(std::string_view text, std::uint32_t decimals) {
  if (decimals > kMaxMoneyDecimals) {
    return Fail(Errc::kInvalidArgument,
                "at most " + std::to_string(kMaxMoneyDecimals) + " decimal places are supported");
  }
  auto minor = ParseDecimal(text, decimals, kMaxMoneyMinor, "amount");
  if (!minor) return Unexpected<Error>{minor.error()};
  return Money(*minor);
}

}  // namespace polder
