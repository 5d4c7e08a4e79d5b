// `polder pb`: allocation methods on Pabulib files from the command line, text and --json, and
// the error paths (bad file, bad options).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testutil/run.h"

namespace polder {
namespace {

using nlohmann::json;
using testutil::RunPolder;
using testutil::Sh;

std::string Shared() {
  const char* s = std::getenv("POLDER_SHARED");
  return s && *s ? s : POLDER_SHARED_DIR;
}
std::string Pabulib(const std::string& file) { return Shared() + "/data/pabulib/" + file; }
std::string Example(const std::string& file) { return Shared() + "/data/pb-examples/" + file; }

class PbCliTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = testutil::TempDir("pb"); }
  void TearDown() override { std::filesystem::remove_all(root_); }
  // `polder pb` needs no home; an empty one shows it touches nothing there.
  testutil::RunResult Pb(const std::string& args) {
    return RunPolder(root_ + "/home", "pb " + args);
  }
  std::string root_;
};

TEST_F(PbCliTest, PrintsFundedIdsOnePerLineInFundingOrder) {
  auto r = Pb(Sh(Example("equalshares_net_example1.pb")) + " --rule mes --completion none");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n4\n5\n");
  r = Pb(Sh(Example("equalshares_net_example1.pb")) + " --rule greedy");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n2\n");
  r = Pb(Sh(Example("pabutools_appex2.pb")) + " --rule mes --utility approval --completion none");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "p1\np3\np0\n");
  EXPECT_FALSE(std::filesystem::exists(root_ + "/home"));
}

TEST_F(PbCliTest, WieliczkaWithTheDefaultsAsJson) {
  auto r = Pb(Sh(Pabulib("poland_wieliczka_2023_green-budget.pb")) + " --rule mes --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["rule"], "mes");
  EXPECT_EQ(j["utility"], "cost");
  EXPECT_EQ(j["completion"], "add1");
  EXPECT_EQ(j["funded"].size(), 30u);
  EXPECT_EQ(j["projects"].size(), 30u);
  EXPECT_EQ(j["total_cost"], "995079");
  EXPECT_EQ(j["budget"], "1000000");
  EXPECT_EQ(j["voters"], "6586");
  EXPECT_EQ(j["add1_raise"], 164);
  EXPECT_EQ(j["add1_capped"], false);
  EXPECT_EQ(j["projects"][0]["project_id"], "24");
  EXPECT_EQ(j["projects"][0]["step"], "mes");
  EXPECT_FALSE(j["projects"][0]["price"].get<std::string>().empty());
  // The text form lists the same ids.
  auto text = Pb(Sh(Pabulib("poland_wieliczka_2023_green-budget.pb")) + " --rule mes");
  std::string ids;
  for (const auto& id : j["funded"]) ids += id.get<std::string>() + "\n";
  EXPECT_EQ(text.out, ids);
}

TEST_F(PbCliTest, DecimalAmountsPrintInTheFilesUnits) {
  auto r = Pb(Sh(Pabulib("poland_warszawa_2018_grochow-kinowa.pb")) + " --rule greedy --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["budget"], "214386.4");
  EXPECT_EQ(j["total_cost"], "207165.0");
  EXPECT_EQ(j["decimals"], 1);
  EXPECT_EQ(j["projects"][0]["cost"], "5820.0");
}

TEST_F(PbCliTest, BadFilesAndOptionsFailClearly) {
  const std::string bad = root_ + "/bad.pb";
  std::ofstream(bad) << "META\nkey;value\nbudget;100\nPROJECTS\nproject_id;cost\n1;ten\n"
                        "VOTES\nvoter_id;vote\n1;1\n";
  auto r = Pb(Sh(bad) + " --rule greedy");
  EXPECT_EQ(r.code, 65);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("bad.pb: line 6: cost 'ten'"), std::string::npos) << r.err;

  r = Pb(Sh(bad) + " --rule greedy --json");
  EXPECT_EQ(r.code, 65);
  EXPECT_EQ(json::parse(r.out)["code"], "invalid_argument") << r.out;

  r = Pb(Sh(root_ + "/missing.pb") + " --rule greedy");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;

  const std::string ok = Sh(Example("equalshares_net_example1.pb"));
  EXPECT_EQ(Pb(ok + " --rule borda").code, 2);
  EXPECT_EQ(Pb(ok).code, 2);  // --rule is required
  EXPECT_EQ(Pb(ok + " --rule mes --utility joy").code, 2);
  EXPECT_EQ(Pb(ok + " --rule mes --completion add2").code, 2);
  r = Pb(ok + " --rule greedy --utility approval");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("apply to --rule mes only"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace polder
