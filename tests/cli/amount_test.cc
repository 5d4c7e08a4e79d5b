#include "node/cli/amount.h"

#include <gtest/gtest.h>

namespace polder::cli {
namespace {

TEST(ParseDuration, UnitsAndCombinations) {
  EXPECT_EQ(*ParseDuration("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(*ParseDuration("1d12h"), 36 * 3'600'000LL);
  EXPECT_EQ(*ParseDuration("90m"), 90 * 60'000LL);
  for (const char* bad : {"", "7", "d", "7x", "-1d", "0d"})
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
}

TEST(ParsePercent, BasisPoints) {
  EXPECT_EQ(*ParsePercent("50%"), 5000u);
  EXPECT_EQ(*ParsePercent("66.67%"), 6667u);
  EXPECT_EQ(*ParsePercent("100"), 10000u);
  EXPECT_FALSE(ParsePercent("101%").has_value());
  EXPECT_FALSE(ParsePercent("12.345%").has_value());
}

}  // namespace
}  // namespace polder::cli
