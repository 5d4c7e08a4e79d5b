// The explanation in plain words: the outcome, quorum, flags and times as dates.
#include <gtest/gtest.h>

#include "proto/time_text.h"
#include "tests/decide/tally_testutil.h"

namespace polder::decide {
namespace {

using testing::Flagged;
using testing::kAfter;

TEST(Explain, TextNamesTheOutcomeQuorumAndFlags) {
  Flagged f;
  const auto st = f.c.State();
  const auto text = ExplainText(st, Tally(st, kAfter));
  EXPECT_NE(text.find("blocked by an open risk flag"), std::string::npos) << text;
  EXPECT_NE(text.find("Quorum: 5 of 6 members voted"), std::string::npos) << text;
  EXPECT_NE(text.find("high (blocking): open"), std::string::npos) << text;
  // Times read as dates (UTC), the same on every node, not as raw milliseconds.
  const auto o = Tally(st, kAfter).proposals.front();
  EXPECT_NE(text.find("Deadline " + FormatRfc3339(o.explanation.deadline_ms) +
                      "; votes counted up to " + FormatRfc3339(o.explanation.cutoff_ms) + "."),
            std::string::npos)
      << text;
  EXPECT_EQ(text.rfind("Tally at " + FormatRfc3339(kAfter) + ": ", 0), 0u) << text;
  EXPECT_EQ(text.find(" ms"), std::string::npos) << text;
}

}  // namespace
}  // namespace polder::decide
