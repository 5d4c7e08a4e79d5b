#include "node/cli/amount.h"

#include <string>

namespace polder::cli {
namespace {

constexpr std::int64_t kMaxFixed = 1'000'000'000'000'000;

// Parses digits with an optional fraction into an integer scaled by 10^decimals.
Result<std::int64_t> ParseFixed(std::string_view text, std::uint32_t decimals, const char* what) {
  std::int64_t whole = 0;
  std::int64_t frac = 0;
  std::uint32_t frac_digits = 0;
  bool seen_dot = false;
  bool any_digit = false;
  for (char c : text) {
    if (c == ',' || c == '_') {
      if (seen_dot)
        return Fail(Errc::kInvalidArgument,
                    std::string(what) + ": separator after the decimal point");
      continue;
    }
    if (c == '.') {
      if (seen_dot) return Fail(Errc::kInvalidArgument, std::string(what) + ": two decimal points");
      seen_dot = true;
      continue;
    }
    if (c < '0' || c > '9') {
      return Fail(Errc::kInvalidArgument, std::string(what) + " '" + std::string(text) +
                                              "' is not a number like 1500 or 1500.50");
    }
    any_digit = true;
    if (seen_dot) {
      if (++frac_digits > decimals) {
        return Fail(Errc::kInvalidArgument, std::string(what) + " has more than " +
                                                std::to_string(decimals) + " decimal places");
      }
      frac = frac * 10 + (c - '0');
    } else {
      whole = whole * 10 + (c - '0');
      if (whole > kMaxFixed)
        return Fail(Errc::kInvalidArgument, std::string(what) + " is too large");
    }
  }
  if (!any_digit) return Fail(Errc::kInvalidArgument, std::string(what) + " is empty");
  std::int64_t scale = 1;
  for (std::uint32_t i = 0; i < decimals; ++i) scale *= 10;
  for (std::uint32_t i = frac_digits; i < decimals; ++i) frac *= 10;
  if (whole > kMaxFixed / scale)
    return Fail(Errc::kInvalidArgument, std::string(what) + " is too large");
  return whole * scale + frac;
}

}  // namespace

Result<std::int64_t> ParseDuration(std::string_view text) {
  std::int64_t total = 0;
  std::int64_t number = 0;
  bool have_number = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      number = number * 10 + (c - '0');
      if (number > 100'000'000) return Fail(Errc::kInvalidArgument, "duration is too long");
      have_number = true;
      continue;
    }
    std::int64_t unit = 0;
    switch (c) {
      case 'd': unit = 86'400'000; break;
      case 'h': unit = 3'600'000; break;
      case 'm': unit = 60'000; break;
      case 's': unit = 1'000; break;
      default:
        return Fail(Errc::kInvalidArgument,
                    "duration '" + std::string(text) + "' must look like 7d, 36h, 90m or 1d12h");
    }
    if (!have_number) return Fail(Errc::kInvalidArgument, "duration unit without a number");
    total += number * unit;
    number = 0;
    have_number = false;
  }
  if (have_number || total <= 0) {
    return Fail(Errc::kInvalidArgument,
                "duration '" + std::string(text) + "' needs a unit: 7d, 36h, 90m or 30s");
  }
  return total;
}

Result<std::uint32_t> ParsePercent(std::string_view text) {
  if (!text.empty() && text.back() == '%') text.remove_suffix(1);
  auto v = ParseFixed(text, 2, "percentage");
  if (!v) return Unexpected<Error>{v.error()};
  if (*v > 10000) return Fail(Errc::kInvalidArgument, "a percentage is at most 100");
  return static_cast<std::uint32_t>(*v);
}

}  // namespace polder::cli
