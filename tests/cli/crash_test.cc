// Crash safety: `polder import` killed with SIGKILL at a random moment leaves a replica that
// opens, passes verify, and holds only whole batches; importing the file again completes it.
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/key_file.h"
#include "storage/bundle.h"
#include "storage/limits.h"
#include "storage/replica.h"
#include "tests/testutil/circle.h"
#include "tests/testutil/run.h"

namespace polder {
namespace {

using namespace std::chrono_literals;

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testutil::TempDir("crash");
    bundle_ = root_ + "/big.bundle";
    // Three and a half import batches of events from 6 members, in an order any replica can
    // apply as it reads.
    std::vector<int> who = {0};
    for (int i = 1; i < 6; ++i) who.push_back(c_.Admit(0, "M" + std::to_string(i), "Org"));
    while (c_.events().size() < kEvents) {
      c_.Comment(who[c_.events().size() % who.size()],
                 "A comment of about three hundred bytes, to look like a real event. " +
                     std::string(220, 'x'));
    }
    auto w = storage::BundleWriter::Create(bundle_, c_.circle(), false);
    ASSERT_TRUE(w.has_value());
    for (const auto& ev : c_.events()) ASSERT_TRUE(w->Add(ev).has_value());
    ASSERT_TRUE(w->Finish().has_value());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static constexpr std::size_t kEvents = 3 * storage::kImportBatchEvents + 7'000;

  // Starts `polder import` in a child process and kills it with SIGKILL after `delay`.
  // Returns true if the child was still running when killed.
  bool ImportAndKill(const std::string& home, std::chrono::milliseconds delay) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const std::string bin = testutil::PolderBin();
      ::execl(bin.c_str(), bin.c_str(), "--home", home.c_str(), "import", bundle_.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::this_thread::sleep_for(delay);
    const bool killed = ::kill(pid, SIGKILL) == 0;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return killed && WIFSIGNALED(status);
  }

  testutil::TestCircle c_;
  std::string root_;
  std::string bundle_;
};

TEST_F(CrashTest, KilledImportLeavesWholeBatchesAndCanBeResumed) {
  // The digest of a complete, uninterrupted import, and how long one takes on this machine (and
  // build: sanitizers are slower), so that the kills below land all along an import.
  const std::string ref_home = root_ + "/reference";
  const auto start = std::chrono::steady_clock::now();
  auto ref = testutil::RunPolder(ref_home, "import " + testutil::Sh(bundle_));
  const auto full = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  ASSERT_EQ(ref.code, 0) << ref.err;
  auto ref_replica = storage::Replica::Open(ref_home + "/replica.sqlite3");
  ASSERT_TRUE(ref_replica.has_value());
  const Digest32 reference = *(*ref_replica)->StateDigest();
  ASSERT_EQ((*ref_replica)->events().Counts()->applied, kEvents);
  ref_replica->reset();

  std::mt19937 rng(42);
  int killed_mid_import = 0;
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    const std::string home = root_ + "/victim" + std::to_string(round);
    // Spread over 20%..95% of a full import: most kills land between two commits.
    const auto delay = full * (20 + (round * 75 / kRounds) + rng() % (75 / kRounds)) / 100;
    const bool killed = ImportAndKill(home, delay);
    auto replica = storage::Replica::Open(home + "/replica.sqlite3");
    ASSERT_TRUE(replica.has_value()) << "round " << round << ": " << replica.error().message;
    auto& r = **replica;
    const auto counts = *r.events().Counts();
    // Whole batches only; the last batch is shorter, so a kill that came after the import
    // finished (a slow machine) leaves all the events.
    EXPECT_TRUE(counts.events % storage::kImportBatchEvents == 0 || counts.events == kEvents)
        << "round " << round << ": a partial batch survived (" << counts.events << " events)";
    EXPECT_EQ(counts.pending, 0u);
    auto v = r.Verify();
    ASSERT_TRUE(v.has_value());
    EXPECT_TRUE(v->problems.empty());
    EXPECT_TRUE(v->derived_state_matches);
    killed_mid_import += killed && counts.events > 0 && counts.events < kEvents;
    replica->reset();

    auto again = testutil::RunPolder(home, "import " + testutil::Sh(bundle_));
    ASSERT_EQ(again.code, 0) << again.err;
    auto reopened = storage::Replica::Open(home + "/replica.sqlite3");
    ASSERT_TRUE(reopened.has_value());
    EXPECT_EQ(*(*reopened)->StateDigest(), reference) << "round " << round;
    EXPECT_EQ((*reopened)->events().Counts()->applied, kEvents);
  }
  // The test is only meaningful if some kills landed in the middle of an import.
  EXPECT_GT(killed_mid_import, 0);
  std::cout << "[ crash ] full import " << full.count() << " ms; " << killed_mid_import << " of "
            << kRounds << " kills left a partly imported replica\n";
}

// A member whose home lost both replica and own log, and who gets back only part of their own
// log from others, must be warned and must not write: the next sequence number may already exist.
TEST(OwnLogBehind, StatusWarnsAndAuthoringRefuses) {
  const std::string root = testutil::TempDir("behind");
  const std::string home = root + "/home";
  auto init = testutil::RunPolder(home, "init --name Founder --org Org --json");
  ASSERT_EQ(init.code, 0) << init.err;
  auto key = crypto::LoadKeyFile(home + "/identity.key");
  ASSERT_TRUE(key.has_value());
  const auto seed = key->Seed();
  testutil::TestCircle c("Org", seed.view());
  c.Comment(0, "two");
  c.Comment(0, "three");
  // The bundle holds seq 1 and seq 3 of the member's own log, but not seq 2.
  const std::string file = root + "/partial.bundle";
  {
    auto w = storage::BundleWriter::Create(file, c.circle(), false);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE(w->Add(c.events()[0]).has_value());
    ASSERT_TRUE(w->Add(c.events()[2]).has_value());
    ASSERT_TRUE(w->Finish().has_value());
  }
  auto imp = testutil::RunPolder(home, "import " + testutil::Sh(file));
  ASSERT_EQ(imp.code, 0) << imp.err;
  auto status = testutil::RunPolder(home, "status");
  EXPECT_NE(status.out.find("BEHIND"), std::string::npos) << status.out;
  auto write = testutil::RunPolder(home, "comment 'would fork my own log'");
  EXPECT_EQ(write.code, 65);
  EXPECT_NE(write.err.find("behind"), std::string::npos) << write.err;
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace polder
