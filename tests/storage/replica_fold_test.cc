// The replica and the fold follow one rulebook: for many scripted event sets (forks, gaps,
// references to unknown, void and forked events, double admissions, ...) and two arrival orders
// and chunkings, they agree on which events are applied, void, pending and frozen, and the
// replicas on the digest (tests/testutil/replica_vs_fold.h; the fuzz target replica_fold runs the
// same check on inputs libFuzzer finds).
#include <random>

#include <gtest/gtest.h>

#include "tests/testutil/replica_vs_fold.h"

namespace polder::testutil {
namespace {

Bytes Script(std::initializer_list<std::uint8_t> ops) { return Bytes(ops); }

TEST(ReplicaVsFold, AgreeOnRandomScripts) {
  std::mt19937 rng(20261206);
  for (int i = 0; i < 150; ++i) {
    Bytes script(3 * (10 + rng() % 40));
    for (auto& byte : script) byte = static_cast<std::uint8_t>(rng());
    // Mostly admissions and proposals early, so the rest has something to refer to.
    for (std::size_t k = 0; k < 12 && k < script.size(); k += 3) script[k] = k % 2 ? 0 : 1;
    const DiffCase c = MakeDiffCase(script);
    const std::string diff = CheckDiffCase(c);
    ASSERT_TRUE(diff.empty()) << "script " << i << ":\n" << diff;
  }
}

TEST(ReplicaVsFold, AgreeWhenTheFounderSignsASecondCharter) {
  // Admit 1 and 2 (by 0), 1 proposes, 2 votes on it, then 0 signs a second event at seq 1.
  const auto c = MakeDiffCase(Script({0, 0, 1, 0, 0, 2, 1, 1, 0, 2, 2, 4, 10, 0, 0}));
  EXPECT_EQ(CheckDiffCase(c), "");
}

TEST(ReplicaVsFold, AgreeOnReferencesIntoAForkedLog) {
  // 1 is admitted and proposes; 2 votes and comments on 1's events; 1 forks at seq 1.
  const auto c = MakeDiffCase(
      Script({0, 0, 1, 0, 0, 2, 1, 1, 0, 2, 2, 4, 6, 2, 9, 10, 1, 0, 2, 2, 4, 5, 2, 4}));
  EXPECT_EQ(CheckDiffCase(c), "");
}

TEST(ReplicaVsFold, AgreeOnGapsTimestampsAndDuplicates) {
  const auto c = MakeDiffCase(Script({0,  0, 3, 11, 3, 0, 6,  3, 1, 12, 3, 200, 1,  3, 5,
                                      14, 0, 2, 13, 3, 9, 15, 0, 0, 0,  0, 5,   15, 0, 0}));
  EXPECT_EQ(CheckDiffCase(c), "");
}

}  // namespace
}  // namespace polder::testutil
