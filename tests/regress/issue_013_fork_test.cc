// Issue 13 (a member's fork must never hurt anyone else), as a new user met it with the CLI and
// bundle files only: Ana founds a circle and admits Ben and Cy. Ben proposes "Trees" (his seq 1)
// and also runs Polder on a second laptop with a copy of his identity.key, where he writes a
// comment (his seq 1 as well). Cy votes for Trees and comments. Once the bundles meet, Ben's log
// is forked at seq 1. Before the fix, Cy's vote and everything Cy wrote after it waited forever
// and Cy could not write again ("writing now would fork your own log"). Now Cy's events all take
// their place; the vote refers to an event past Ben's fork, so it counts for nothing, and says so.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testutil/cli_fixture.h"
#include "tests/testutil/run.h"

namespace polder {
namespace {

using nlohmann::json;
using testutil::RunPolder;
using testutil::Sh;

class Issue013 : public testutil::CliFixture {
 protected:
  Issue013() : CliFixture("issue13") {}
};

TEST_F(Issue013, ACopiedKeyForksOnlyItsOwnerAndCyKeepsWriting) {
  const auto ana = Home("ana"), ben = Home("ben"), laptop = Home("ben-laptop"), cy = Home("cy");
  Ok(ana, "init --name Ana --org North");
  Ok(ben, "init --name Ben --org South");
  Ok(cy, "init --name Cy --org East");
  Ok(ana,
     "circle create --name Fund --purpose 'Greener streets' --pool 10000 --unit EUR"
     " --organisations South,East --admission-orgs 1");
  Ok(ana, "admit " + Id(ben) + " --name Ben --org South");
  Ok(ana, "admit " + Id(cy) + " --name Cy --org East");
  // Ben's second laptop: a fresh home with his identity.key copied in (what the docs now say
  // never to do).
  Ok(laptop, "init --name Ben --org South");
  std::filesystem::copy_file(ben + "/identity.key", laptop + "/identity.key",
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(Id(laptop), Id(ben));
  for (const auto& h : {ben, cy, laptop}) Sync(ana, h);

  const std::string trees = Ok(ben, "propose --title Trees --amount 3000")["event_id"];
  Ok(laptop, "comment 'written on the other laptop'");  // Ben's seq 1 again
  Sync(ben, cy);
  Ok(cy, "vote " + trees.substr(0, 8) + " for");
  Ok(cy, "comment 'happy to help plant' --on " + trees.substr(0, 8));

  // The bundles meet, in every direction, twice.
  const std::vector<std::string> homes{ana, ben, laptop, cy};
  for (int round = 0; round < 2; ++round) {
    for (const auto& a : homes) {
      for (const auto& b : homes) {
        if (a != b) Sync(a, b);
      }
    }
  }

  // One state everywhere, and nothing of Cy's waits.
  const std::string digest = Ok(ana, "status")["digest"];
  for (const auto& h : homes) {
    const auto st = Ok(h, "status");
    EXPECT_EQ(st["digest"], digest) << h;
    EXPECT_EQ(st["pending"], "0") << h;
    EXPECT_EQ(st["forked_members"].size(), 1u) << h;
  }
  const auto cy_status = Ok(cy, "status");
  EXPECT_EQ(cy_status["own_head_seq"], "2");
  EXPECT_TRUE(cy_status["warnings"].empty()) << cy_status.dump();

  // Where the rules put them: Ben's log is frozen from his fork at seq 1, so Trees counts for
  // nothing; Cy's vote and comment take their places in Cy's log and, referring to it, count for
  // nothing too ("awaiting").
  EXPECT_EQ(Ok(ana, "list")["proposals"].size(), 0u);
  EXPECT_EQ(cy_status["awaiting"], "2");
  // ... and says why, naming the fork.
  ASSERT_EQ(cy_status["awaiting_events"].size(), 2u) << cy_status.dump();
  for (const auto& a : cy_status["awaiting_events"]) {
    EXPECT_EQ(a["refers_to"], trees);
    const std::string why = a["why"];
    EXPECT_NE(why.find("of Ben"), std::string::npos) << why;
    EXPECT_NE(why.find("past their fork at seq 1"), std::string::npos) << why;
  }
  EXPECT_EQ(cy_status["awaiting_events"][0]["kind"], "vote");

  // Cy writes on: a proposal and a vote on it, applied on every replica after one more sync.
  const std::string lamps = Ok(cy, "propose --title Lamps --amount 500")["event_id"];
  Ok(cy, "vote " + lamps.substr(0, 8) + " for");
  Sync(cy, ana);
  Ok(ana, "vote " + lamps.substr(0, 8) + " for");
  const auto shown = Ok(ana, "show " + lamps.substr(0, 10));
  EXPECT_EQ(shown["proposal"]["votes_for"], 2);

  // Ben's own key now refuses to write: his log is forked.
  auto r = RunPolder(ben, "comment 'again'");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("forked"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace polder
