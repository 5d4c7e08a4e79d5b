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
    const DiffCase c = MakeDiffCase(script, /*partners=*/i % 3 == 2);
    const std::string diff = CheckDiffCase(c);
    ASSERT_TRUE(diff.empty()) << "script " << i << ":\n" << diff;
  }
}

// Founding partners (rules version 10) are members from the charter on: their events take their
// place without an admission (also when they arrive before the charter), and an admission of a
// partner by someone else changes neither their record nor when they count.
TEST(ReplicaVsFold, AgreeOnFoundingPartners) {
  // 3 (a partner) proposes at once; 1 is admitted by 3; 4 (a partner) votes on 3's proposal; 1
  // admits 4 again; 3 forks at seq 1.
  const auto c =
      MakeDiffCase(Script({1, 3, 1, 0, 3, 1, 2, 4, 1, 0, 1, 4, 10, 3, 0}), /*partners=*/true);
  ASSERT_EQ(c.script[1], "admit 1 by 3");
  EXPECT_EQ(CheckDiffCase(c), "");
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

TEST(ReplicaVsFold, AgreeOnDevicesLinksClaimsAndRevocations) {
  // 1 and 2 admitted; 1 links key 3, which claims 1; 2 proposes; the device votes, 1 votes, the
  // device endorses and delegates; 1 revokes the device after its seq 2 and the device votes
  // again; key 4 claims 1 without a link, and 2 links key 4 (whose claim names 1, not 2).
  const auto c =
      MakeDiffCase(Script({0, 0, 1, 0, 0, 2, 16, 1,  3, 17, 3, 1, 1, 2,  5, 2, 3,  5, 2, 1,
                           5, 5, 3, 5, 7, 3, 2,  18, 1, 15, 2, 3, 5, 17, 4, 1, 16, 2, 4}));
  ASSERT_EQ(c.script[2], "link device 3 by 1");
  ASSERT_EQ(c.script[3], "claim 3 device of 1");
  ASSERT_EQ(c.script[9], "revoke device 3 by 1 after seq 2");
  EXPECT_EQ(CheckDiffCase(c), "");
}

// Scripts a random search over devices found disagreeing while devices were built, each minimised
// (a claim and revocations at the founder's seq 1 before the charter; a device's later events
// waiting for its claim; events beyond a revocation that stops counting once its signer is found
// forked; a device key also admitted as a member).
TEST(ReplicaVsFold, AgreeOnDeviceCasesOnceFoundApart) {
  const std::vector<Bytes> scripts = {
      {16, 186, 32, 18,  207, 4, 31, 157, 15, 18,  161, 6,
       17, 230, 42, 248, 53,  9, 17, 211, 29, 189, 38,  212},
      {18, 250, 240, 17, 246, 34, 17, 237, 5, 189, 38, 212},
      {18, 250, 240, 18, 161, 6,  17, 243, 6,  233, 84,  115, 196, 90, 42,
       17, 230, 42,  17, 246, 34, 17, 211, 29, 17,  237, 5,   189, 38, 212},
      {16, 187, 11, 18, 28, 197, 16, 160, 32, 66, 115, 168, 17, 89, 88, 18, 39, 178, 15, 48, 75},
      {1,   105, 226, 0,  232, 239, 1,   146, 7,   0,   19, 242, 54, 152, 209, 60,  180, 52, 244,
       97,  106, 51,  69, 248, 212, 157, 197, 18,  154, 4,  18,  34, 3,   153, 73,  96,  18, 28,
       197, 16,  160, 32, 17,  118, 66,  66,  115, 168, 17, 89,  88, 18,  39,  178, 15,  48, 75},
      {17, 167, 112, 38,  108, 106, 16,  40,  5,  247, 210,
       47, 61,  213, 185, 107, 128, 232, 172, 20, 138},
  };
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    EXPECT_EQ(CheckDiffCase(MakeDiffCase(scripts[i])), "") << "script " << i;
  }
}

}  // namespace
}  // namespace polder::testutil
