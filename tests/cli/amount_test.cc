#include "node/cli/amount.h"

#include <gtest/gtest.h>

namespace polder::cli {
namespace {

TEST(ParseAmount, ExactMinorUnits) {
  EXPECT_EQ(*ParseAmount("1500", 2), 150000);
  EXPECT_EQ(*ParseAmount("1500.5", 2), 150050);
  EXPECT_EQ(*ParseAmount("1,500.05", 2), 150005);
  EXPECT_EQ(*ParseAmount("0.01", 2), 1);
  EXPECT_EQ(*ParseAmount("7", 0), 7);
  EXPECT_EQ(*ParseAmount("0.000001", 6), 1);
}

TEST(ParseAmount, RefusesWhatIsNotAnAmount) {
  for (const char* bad :
       {"", "-5", "1.234", "1e5", "12a", "1..2", "ten", "1.5.", "9999999999999999999"}) {
    EXPECT_FALSE(ParseAmount(bad, 2).has_value()) << bad;
  }
  EXPECT_FALSE(ParseAmount("1.5", 0).has_value());
}

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
