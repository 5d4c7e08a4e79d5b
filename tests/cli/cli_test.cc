// The CLI end to end: three members of two organisations run a circle through proposals, votes, a
// flag and its resolution, moving events by export/import, and end with equal digests. Plus the
// error paths a person will hit.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/testutil/cli_fixture.h"
#include "tests/testutil/run.h"

namespace polder {
namespace {

using nlohmann::json;
using testutil::RunPolder;
using testutil::Sh;

class CliTest : public testutil::CliFixture {
 protected:
  CliTest() : CliFixture("cli") {}
};

TEST_F(CliTest, ThreeMembersTwoOrganisationsConverge) {
  const auto ana = Home("ana"), ben = Home("ben"), cy = Home("cy");
  Ok(ana, "init --name Ana --org Riverside --leader");
  Ok(ben, "init --name Ben --org Riverside");
  Ok(cy, "init --name Cy --org Hill");
  Ok(ana,
     "circle create --name Fund --purpose 'Greener streets' --pool 20000 --unit EUR"
     " --organisations Hill --admission-orgs 1");
  Ok(ana, "admit " + Id(ben) + " --name Ben --org Riverside");
  Ok(ana, "admit " + Id(cy) + " --name Cy --org Hill --role officer");
  Sync(ana, ben);
  Sync(ana, cy);

  const std::string trees =
      Ok(ben, "propose --title Trees --amount 8000 --purpose-fit shade")["event_id"];
  const std::string lights = Ok(cy, "propose --title Lights --amount 12500.50")["event_id"];
  Sync(ben, ana);
  Sync(cy, ana);
  Sync(ana, ben);
  Sync(ana, cy);

  Ok(ana, "vote " + trees.substr(0, 8) + " for");
  Ok(cy, "vote " + trees.substr(0, 8) + " against");
  Ok(cy, "vote " + trees.substr(0, 8) + " for");  // changed their mind: the later vote stands
  Ok(ben, "endorse " + lights.substr(0, 8));
  const std::string flag = Ok(
      ana, "flag " + lights.substr(0, 8) +
               " --severity high --category delivery --rationale 'no installer quote'")["event_id"];
  Sync(ana, cy);
  Ok(cy, "resolve " + flag.substr(0, 8) + " --answer 'two quotes attached'");
  Sync(cy, ana);
  Ok(ana, "resolve " + flag.substr(0, 8) + " --withdraw");
  Ok(ben, "comment 'count me in' --on " + trees.substr(0, 8));
  Ok(ben, "delegate " + Id(ana) + " --topic parks");

  for (int round = 0; round < 2; ++round) {
    for (const auto& a : {ana, ben, cy}) {
      for (const auto& b : {ana, ben, cy}) {
        if (a != b) Sync(a, b);
      }
    }
  }
  const auto d = Digest(ana);
  EXPECT_EQ(Digest(ben), d);
  EXPECT_EQ(Digest(cy), d);
  for (const auto& h : {ana, ben, cy}) {
    auto v = Ok(h, "verify");
    EXPECT_EQ(v["bad"], "0");
    EXPECT_EQ(v["derived_state_matches"], true);
  }

  const auto show = Ok(ben, "show " + trees.substr(0, 10));
  EXPECT_EQ(show["proposal"]["votes_for"], 2);
  EXPECT_EQ(show["proposal"]["votes_against"], 0);
  EXPECT_EQ(show["comments"].size(), 1u);
  const auto lights_view = Ok(cy, "show " + lights.substr(0, 10));
  EXPECT_EQ(lights_view["flags"][0]["state"], "withdrawn");
  EXPECT_EQ(lights_view["proposal"]["amount_minor"], "1250050");
  EXPECT_EQ(lights_view["endorsers"][0]["name"], "Ben");
  const auto status = Ok(cy, "status");
  EXPECT_EQ(status["members"], 3);
  EXPECT_EQ(status["proposals"], 2);
  EXPECT_EQ(status["pending"], "0");
}

TEST_F(CliTest, InitCreatesAPrivateKeyAndRefusesToOverwrite) {
  const auto h = Home("a");
  auto v = Ok(h, "init --name A --org O");
  struct stat st {};
  ASSERT_EQ(::stat((h + "/identity.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(h.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto again = RunPolder(h, "init --name B --org O");
  EXPECT_EQ(again.code, 73);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
  EXPECT_EQ(Id(h), v["member_id"]);
}

TEST_F(CliTest, HomeComesFromEnvironmentWhenNoFlag) {
  const auto h = Home("env");
  auto r = testutil::RunPolder("", "");  // warm-up: usage error without a subcommand
  EXPECT_EQ(r.code, 2);
  const std::string cmd = "POLDER_HOME=" + Sh(h) + " " + Sh(testutil::PolderBin()) +
                          " init --name E --org O >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_TRUE(std::filesystem::exists(h + "/identity.key"));
}

TEST_F(CliTest, BadInputGetsAClearErrorAndChangesNothing) {
  const auto a = Home("a");
  Ok(a, "init --name A --org O");
  Ok(a, "circle create --name F --purpose P --pool 100");
  const std::string p = Ok(a, "propose --title T --amount 10")["event_id"];
  const auto digest = Digest(a);
  const auto seq = Ok(a, "status")["own_head_seq"];

  struct Case {
    std::string args;
    int code;
    std::string says;
  } cases[] = {
      {"vote " + p.substr(0, 8) + " maybe", 2, "for, against or abstain"},
      {"vote ffffffff for", 65, "no proposal"},
      {"show ffffffff", 65, "no proposal"},
      {"vote ab for", 65, "at least 4"},
      {"propose --title T --amount 10.001", 65, "decimal places"},
      {"propose --title T --amount -3", 65, "not a number"},
      {"propose --title '' --amount 3", 65, "must not be empty"},
      {"admit ABCDEFG-HIJKLMN --name X --org Y", 65, "characters"},
      {"flag " + p.substr(0, 8) + " --severity apocalyptic --category c --rationale r", 2,
       "severity"},
      {"resolve " + p.substr(0, 8) + " --withdraw", 65, "no flag"},
      {"import /nonexistent/file", 1, "cannot open"},
      {"circle create --name F2 --purpose P --pool 5", 2, "already belongs"},
      {"frobnicate", 2, ""},
  };
  for (const auto& c : cases) {
    auto r = RunPolder(a, c.args);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << "\n" << r.err;
  }
  // Mistyping one character of a real member ID is caught by its check characters.
  std::string id = Id(a);
  id[9] = id[9] == 'A' ? 'B' : 'A';
  auto typo = RunPolder(a, "admit " + id + " --name X --org Y");
  EXPECT_EQ(typo.code, 65);
  EXPECT_NE(typo.err.find("mistyped"), std::string::npos) << typo.err;

  EXPECT_EQ(Digest(a), digest);
  EXPECT_EQ(Ok(a, "status")["own_head_seq"], seq);
}

// A refused charter must not leave the replica tied to a circle that has no charter.
TEST_F(CliTest, RefusedCharterLeavesTheReplicaFree) {
  const auto a = Home("a");
  Ok(a, "init --name A --org O");
  auto r = RunPolder(a, "circle create --name " + std::string(121, 'n') + " --purpose P --pool 1");
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_NE(r.err.find("circle name"), std::string::npos) << r.err;
  EXPECT_EQ(Ok(a, "status")["circle_id"], "");
  Ok(a, "circle create --name Fine --purpose P --pool 1");
  EXPECT_EQ(Ok(a, "status")["circle_name"], "Fine");
}

TEST_F(CliTest, JsonErrorsAreJsonToo) {
  const auto a = Home("a");
  auto r = RunPolder(a, "status --json");
  EXPECT_EQ(r.code, 0);
  r = RunPolder(a, "vote abcd for --json");
  EXPECT_NE(r.code, 0);
  auto j = json::parse(r.out);
  EXPECT_FALSE(j["message"].get<std::string>().empty());
  EXPECT_EQ(j["exit_code"], r.code);
}

TEST_F(CliTest, ADamagedBundleIsRefusedWhole) {
  const auto a = Home("a"), b = Home("b");
  Ok(a, "init --name A --org O");
  Ok(a, "circle create --name F --purpose P --pool 100");
  Ok(a, "propose --title T --amount 10");
  const std::string file = root_ + "/x.bundle";
  Ok(a, "export " + Sh(file));
  const auto size = std::filesystem::file_size(file);
  std::filesystem::resize_file(file, size - 5);
  auto r = RunPolder(b, "import " + Sh(file));
  EXPECT_EQ(r.code, 65);
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  EXPECT_EQ(Ok(b, "status")["events"], "0");
  EXPECT_EQ(Ok(b, "status")["circle_id"], "");
}

TEST_F(CliTest, BundleOfAnotherCircleIsRefused) {
  const auto a = Home("a"), b = Home("b");
  Ok(a, "init --name A --org O");
  Ok(a, "circle create --name F --purpose P --pool 100");
  Ok(b, "init --name B --org O");
  Ok(b, "circle create --name G --purpose P --pool 100");
  const std::string file = root_ + "/x.bundle";
  Ok(a, "export " + Sh(file));
  const auto digest = Digest(b);
  auto r = RunPolder(b, "import " + Sh(file));
  EXPECT_EQ(r.code, 65);
  EXPECT_NE(r.err.find("another circle"), std::string::npos);
  EXPECT_EQ(Digest(b), digest);
}

TEST_F(CliTest, NonMemberCannotAuthor) {
  const auto a = Home("a"), b = Home("b");
  Ok(a, "init --name A --org O");
  Ok(a, "circle create --name F --purpose P --pool 100");
  Ok(b, "init --name B --org O");
  Sync(a, b);
  auto r = RunPolder(b, "propose --title T --amount 1");
  EXPECT_EQ(r.code, 65);
  EXPECT_NE(r.err.find("not a member"), std::string::npos) << r.err;
}

// Restoring an old backup of the replica must not make the member sign a second, different event
// at a sequence number they already used: the own log brings the lost events back first.
TEST_F(CliTest, RestoredReplicaBackupNeverReusesASequenceNumber) {
  const auto a = Home("a"), b = Home("b");
  Ok(a, "init --name A --org O");
  Ok(a, "circle create --name F --purpose P --pool 100");
  Ok(a, "propose --title One --amount 1");
  const std::string backup = root_ + "/backup.sqlite3";
  std::filesystem::copy_file(a + "/replica.sqlite3", backup);  // WAL is checkpointed on close
  Ok(a, "propose --title Two --amount 2");
  Ok(a, "propose --title Three --amount 3");
  Sync(a, b);  // b has seq 1..4 of a
  for (const char* ext : {"", "-wal", "-shm"})
    std::filesystem::remove(a + "/replica.sqlite3" + ext);
  std::filesystem::copy_file(backup, a + "/replica.sqlite3");
  auto status = Ok(a, "status");
  bool warned = false;
  for (const auto& w : status["warnings"])
    warned |= w.get<std::string>().find("own log") != std::string::npos;
  EXPECT_TRUE(warned) << status.dump();
  auto next = Ok(a, "propose --title Four --amount 4");
  EXPECT_EQ(next["seq"], "5");
  Sync(a, b);
  auto s = Ok(b, "status");
  EXPECT_EQ(s["forked"], "0");
  EXPECT_EQ(s["proposals"], 4);
  EXPECT_EQ(Digest(a), Digest(b));
}

// Review finding: after a crash between the own-log append and the commit, a clock that was
// stepped back made the replay refuse the logged event as "from the future", and the member then
// signed a different event at the same seq.
TEST_F(CliTest, ReplayOfTheOwnLogIgnoresAClockSteppedBack) {
  const auto a = Home("a"), b = Home("b");
  const std::string t0 = "POLDER_FAKE_NOW_MS=1800000000000 ";
  const std::string earlier = "POLDER_FAKE_NOW_MS=1799990000000 ";  // 10,000 s earlier (correct)
  auto run = [&](const std::string& env, const std::string& home, const std::string& args) {
    const std::string cmd =
        env + Sh(testutil::PolderBin()) + " --home " + Sh(home) + " " + args + " >/dev/null 2>&1";
    return std::system(cmd.c_str());
  };
  ASSERT_EQ(run(earlier, a, "init --name A --org O"), 0);
  ASSERT_EQ(run(earlier, a, "circle create --name F --purpose P --pool 100"), 0);
  const std::string backup = root_ + "/backup.sqlite3";
  std::filesystem::copy_file(a + "/replica.sqlite3", backup);
  // The clock jumps ahead; seq 2 is signed and logged, and (we pretend) the commit is lost.
  ASSERT_EQ(run(t0, a, "propose --title Two --amount 2"), 0);
  ASSERT_EQ(run(t0, a, "export " + Sh(root_ + "/two.bundle")), 0);
  for (const char* ext : {"", "-wal", "-shm"})
    std::filesystem::remove(a + "/replica.sqlite3" + ext);
  std::filesystem::copy_file(backup, a + "/replica.sqlite3");  // as if seq 2 never committed
  // With the clock stepped back, the command still restores seq 2 from the own log; it then
  // cannot write (seq 3 may not be earlier than seq 2, nor 5 minutes ahead of this clock), so it
  // refuses instead of signing a second seq 2.
  EXPECT_EQ(WEXITSTATUS(run(earlier, a, "propose --title Three --amount 3")), 65);
  EXPECT_EQ(Ok(a, "status")["own_head_seq"], "2");
  ASSERT_EQ(run(t0, a, "propose --title Three --amount 3"), 0);
  ASSERT_EQ(run(t0, b, "import " + Sh(root_ + "/two.bundle")), 0);
  ASSERT_EQ(run(t0, a, "export " + Sh(root_ + "/three.bundle")), 0);
  ASSERT_EQ(run(t0, b, "import " + Sh(root_ + "/three.bundle")), 0);
  auto s = Ok(b, "status");
  EXPECT_EQ(s["forked"], "0") << s.dump();
  EXPECT_EQ(s["proposals"], 2);
}

// Review finding: importing a bundle whose events were all refused still tied a fresh replica
// to the bundle's circle.
TEST_F(CliTest, ImportThatStoresNothingJoinsNoCircle) {
  const auto a = Home("a"), b = Home("b");
  Ok(a, "init --name A --org O");
  Ok(a, "circle create --name F --purpose P --pool 100");
  const std::string file = root_ + "/x.bundle";
  Ok(a, "export " + Sh(file));
  // To b's clock (a day behind) every event is from the future, so each is refused.
  const std::string cmd = "POLDER_FAKE_NOW_MS=1000000000000 " + Sh(testutil::PolderBin()) +
                          " --home " + Sh(b) + " import " + Sh(file) + " >/dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 65);
  EXPECT_EQ(Ok(b, "status")["circle_id"], "");
}

// Restoring the whole home (own log included) from an old backup: importing what peers hold
// brings the member's later events back, and authoring continues after them.
TEST_F(CliTest, RestoredHomeCatchesUpFromPeersBeforeWriting) {
  const auto a = Home("a"), b = Home("b");
  Ok(a, "init --name A --org O");
  Ok(a, "circle create --name F --purpose P --pool 100");
  const std::string saved = root_ + "/saved-home";
  std::filesystem::copy(a, saved, std::filesystem::copy_options::recursive);
  Ok(a, "propose --title Two --amount 2");
  Sync(a, b);
  std::filesystem::remove_all(a);
  std::filesystem::copy(saved, a, std::filesystem::copy_options::recursive);
  Sync(b, a);
  // The home cannot tell a restored backup from a second machine with the same key: it stops
  // writing and says so, until the member says it was a backup.
  auto refused = RunPolder(a, "propose --title Three --amount 3");
  EXPECT_EQ(refused.code, 65) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("another machine"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("polder restored"), std::string::npos) << refused.err;
  auto restored = Ok(a, "restored");
  EXPECT_EQ(restored["adopted"], "1");
  EXPECT_EQ(restored["next_seq"], "3");
  auto next = Ok(a, "propose --title Three --amount 3");
  EXPECT_EQ(next["seq"], "3");
  EXPECT_EQ(Ok(a, "restored")["adopted"], "0");
  Sync(a, b);
  EXPECT_EQ(Ok(b, "status")["forked"], "0");
}

// Issue 13's early warning: a home that receives an event signed with its member's key that it
// did not write (the key copied to a second laptop) stops writing with that key and says why,
// before it signs a second event at the same seq. Before, the first laptop signed on and forked
// its member's log.
TEST_F(CliTest, ACopiedKeyIsNoticedBeforeItForksTheLog) {
  const auto ana = Home("ana"), ben = Home("ben"), laptop = Home("laptop");
  Ok(ana, "init --name Ana --org North");
  Ok(ben, "init --name Ben --org South");
  Ok(ana, "circle create --name F --purpose P --pool 100 --organisations South");
  Ok(ana, "admit " + Id(ben) + " --name Ben --org South");
  Sync(ana, ben);
  // Ben copies his identity to a laptop, which catches up and writes.
  Ok(laptop, "init --name Ben --org South");
  std::filesystem::copy_file(ben + "/identity.key", laptop + "/identity.key",
                             std::filesystem::copy_options::overwrite_existing);
  Sync(ana, laptop);
  Ok(laptop, "comment 'from the laptop'");
  Sync(laptop, ben);

  const auto status = Ok(ben, "status");
  std::string warnings = status["warnings"].dump();
  EXPECT_NE(warnings.find("another machine"), std::string::npos) << warnings;
  auto refused = RunPolder(ben, "comment 'from the desk'");
  EXPECT_EQ(refused.code, 65);
  EXPECT_NE(refused.err.find("Never copy identity.key"), std::string::npos) << refused.err;
  Sync(ben, ana);
  EXPECT_EQ(Ok(ana, "status")["forked"], "0") << "no fork was signed";
}

// Issue 13's device path: a second machine gets its own key and a link instead of a copy of
// identity.key; its votes count as the member's (the latest across machines, once); after a
// revocation its later events count for nothing; every replica ends on one digest.
TEST_F(CliTest, ADeviceIsLinkedUsedAndRevoked) {
  const auto ana = Home("ana"), ben = Home("ben"), laptop = Home("laptop");
  Ok(ana, "init --name Ana --org North");
  Ok(ben, "init --name Ben --org South");
  Ok(ana, "circle create --name F --purpose P --pool 100 --organisations South");
  Ok(ben,
     "join " +
         Ok(ana, "admit " + Id(ben) + " --name Ben --org South")["join_code"].get<std::string>());
  Sync(ana, ben);
  const std::string trees = Ok(ana, "propose --title Trees --amount 10")["event_id"];
  Sync(ana, ben);

  Ok(laptop, "init --name Ben --org South");  // its own key, not a copy
  const std::string code = Ok(ben, "device link " + Id(laptop))["join_code"];
  ASSERT_FALSE(code.empty());
  Ok(laptop, "join " + code);
  Sync(ben, laptop);
  Ok(ben, "vote " + trees.substr(0, 8) + " against");
  Sync(ben, laptop);
  // The laptop's first act writes its claim (seq 1), then the vote (seq 2), the latest of Ben's.
  EXPECT_EQ(Ok(laptop, "vote " + trees.substr(0, 8) + " for")["seq"], "2");
  Sync(laptop, ana);
  Sync(ben, ana);
  auto show = Ok(ana, "show " + trees.substr(0, 10));
  EXPECT_EQ(show["proposal"]["votes_for"], 1);
  EXPECT_EQ(show["proposal"]["votes_against"], 0);
  auto tally = Ok(ana, "tally");
  for (const auto& p : tally["proposals"]) {
    if (p["proposal_id"] != trees) continue;
    EXPECT_EQ(p["for_count"], 1);
    EXPECT_EQ(p["against_count"], 0);
  }
  Sync(ana, ben);
  const auto listed = Ok(ben, "device list")["devices"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["claimed"], true);
  EXPECT_EQ(listed[0]["head_seq"], "2");

  // The laptop is lost: what Ben's node holds of it counts, nothing after.
  Ok(ben, "device revoke " + Id(laptop));
  Ok(laptop, "vote " + trees.substr(0, 8) + " against");  // the thief's, seq 3
  Sync(laptop, ana);
  Sync(ben, ana);
  show = Ok(ana, "show " + trees.substr(0, 10));
  EXPECT_EQ(show["proposal"]["votes_for"], 1);
  EXPECT_EQ(show["proposal"]["votes_against"], 0);
  EXPECT_EQ(Ok(ben, "device list")["devices"][0]["revoked"], true);
  Sync(ana, ben);
  EXPECT_EQ(Digest(ana), Digest(ben));
}

}  // namespace
}  // namespace polder
