#include "node/cli/amount.h"

#include <string>

#include "proto/money.h"

namespace polder::cli {

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
  auto v = ParseDecimal(text, 2, kMaxMoneyMinor, "percentage");
  if (!v) return Unexpected<Error>{v.error()};
  if (*v > 10000) return Fail(Errc::kInvalidArgument, "a percentage is at most 100");
  return static_cast<std::uint32_t>(*v);
}

std::string FormatPercent(std::uint32_t bps) {
  std::string frac = std::to_string(bps % 100);
  if (frac.size() < 2) frac = "0" + frac;
  return std::to_string(bps / 100) + "." + frac + " %";
}

}  // namespace polder::cli
