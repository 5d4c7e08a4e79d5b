#include "proto/money.h"

#include <gtest/gtest.h>

namespace polder {
namespace {

TEST(FormatMoney, PrintsMinorUnitsWithTheirDecimals) {
  EXPECT_EQ(FormatMoney(Money(2143864), 1), "214386.4");
  EXPECT_EQ(FormatMoney(Money(5), 2), "0.05");
  EXPECT_EQ(FormatMoney(Money(0), 0), "0");
  EXPECT_EQ(FormatMoney(Money(0), 2), "0.00");
  EXPECT_EQ(FormatMoney(Money(1000), 0), "1000");
  EXPECT_EQ(FormatMoney(Money(-150), 2), "-1.50");
  EXPECT_EQ(FormatMoney(Money(INT64_MIN), 0), "-9223372036854775808");
}

TEST(FormatMoney, AddsTheUnitAndClampsDecimals) {
  EXPECT_EQ(FormatMoney(Money(123450), Currency{"EUR", 2}), "1234.50 EUR");
  EXPECT_EQ(FormatMoney(Money(123450), Currency{"", 2}), "1234.50");
  EXPECT_EQ(FormatMoney(Money(1), Currency{"X", 9}), "0.000001 X");
}

TEST(ParseMoney, ExactMinorUnits) {
  EXPECT_EQ(*ParseMoney("1500", 2), Money(150000));
  EXPECT_EQ(*ParseMoney("1500.5", 2), Money(150050));
  EXPECT_EQ(*ParseMoney("1,500.05", 2), Money(150005));
  EXPECT_EQ(*ParseMoney("1_500", 0), Money(1500));
  EXPECT_EQ(*ParseMoney("0.01", 2), Money(1));
  EXPECT_EQ(*ParseMoney("1000000000", 6), Money(kMaxMoneyMinor));
  EXPECT_EQ(*ParseMoney("7", 0), Money(7));
  EXPECT_EQ(*ParseMoney("0.000001", 6), Money(1));
}

TEST(ParseMoney, RefusesWhatIsNotAnExactAmount) {
  for (const char* bad : {"", ".", "-5", "+5", "1.234", "1.2.3", "1e3", "12 EUR", "1.0,0", "1e5",
                          "12a", "1..2", "ten", "1.5.", "9999999999999999999"}) {
    auto r = ParseMoney(bad, 2);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument) << bad;
    EXPECT_FALSE(r.error().message.empty());
  }
  EXPECT_FALSE(ParseMoney("1000000000.000001", 6));  // one minor unit over the bound
  EXPECT_FALSE(ParseMoney("99999999999999999999", 0));
  EXPECT_FALSE(ParseMoney("1", 7));
  EXPECT_FALSE(ParseMoney("1.5", 0));
}

TEST(Money, ComparesAndAddsAsMinorUnits) {
  EXPECT_LT(Money(1), Money(2));
  EXPECT_EQ(Money(250) + Money(50) - Money(100), Money(200));
  Money m(10);
  m += Money(5);
  m -= Money(3);
  EXPECT_EQ(m.minor(), 12);
  EXPECT_EQ(-Money(7), Money(-7));
}

}  // namespace
}  // namespace polder
