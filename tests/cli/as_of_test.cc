#include "node/cli/as_of.h"

#include <gtest/gtest.h>

namespace polder::cli {
namespace {

TEST(ParseAsOf, ReadsRfc3339AndMilliseconds) {
  EXPECT_EQ(*ParseAsOf("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseAsOf("1800000000000"), 1800000000000);
  EXPECT_EQ(*ParseAsOf("2027-01-15T08:00:00Z"), 1800000000000);
  EXPECT_EQ(*ParseAsOf("2027-01-15t08:00:00z"), 1800000000000);
  EXPECT_EQ(*ParseAsOf("2027-01-15 08:00:00Z"), 1800000000000);
  EXPECT_EQ(*ParseAsOf("2027-01-15T09:00:00+01:00"), 1800000000000);
  EXPECT_EQ(*ParseAsOf("2027-01-15T07:30:00-00:30"), 1800000000000);
  EXPECT_EQ(*ParseAsOf("2027-01-15T08:00:00.25Z"), 1800000000250);
  EXPECT_EQ(*ParseAsOf("2027-01-15T08:00:00.123999Z"), 1800000000123);  // truncated to ms
  EXPECT_EQ(*ParseAsOf("2024-02-29T00:00:00Z"), 1709164800000);
}

TEST(ParseAsOf, RefusesWhatIsNotATime) {
  for (const char* bad :
       {"", "yesterday", "2027-01-15", "2027-01-15T08:00:00", "2027-1-15T08:00:00Z",
        "2027-01-15T25:00:00Z", "2027-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
        "2027-01-15T08:00:00.Z", "2027-01-15T08:00:00Zjunk", "2027-01-15T08:00:00+0100", "-5",
        "1234567890123456789"}) {
    auto r = ParseAsOf(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_NE(r.error().message.find("RFC 3339"), std::string::npos) << bad;
    }
  }
}

TEST(FormatRfc3339, RoundTripsThroughParseAsOf) {
  EXPECT_EQ(FormatRfc3339(1800000000000), "2027-01-15T08:00:00Z");
  EXPECT_EQ(FormatRfc3339(1800000000250), "2027-01-15T08:00:00.250Z");
  for (std::int64_t ms : {0LL, 1LL, 999LL, 1709164800000LL, 1800000000001LL, 253402300799999LL}) {
    EXPECT_EQ(*ParseAsOf(FormatRfc3339(ms)), ms) << ms;
  }
}

}  // namespace
}  // namespace polder::cli
