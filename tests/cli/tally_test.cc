// `polder tally`, `polder tally --explain` and `polder audit` end to end: five members of three
// organisations (organisation-balanced weights), four proposals — one approved with a delegated
// vote, one blocked by a risk flag, one short of quorum with a late vote, one withdrawn — moved
// between homes by export/import, on a pinned clock. The audit is re-checked here from its own
// counted votes and members, not from the tally's figures.
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node/cli/as_of.h"
#include "tests/testutil/cli_fixture.h"
#include "tests/testutil/run.h"

namespace polder {
namespace {

using nlohmann::json;
using testutil::RunPolder;
using testutil::Sh;

constexpr std::int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kDay = 86'400'000;

// An exact non-negative fraction, enough to add up vote weights.
struct Frac {
  std::int64_t num = 0, den = 1;
  static Frac Parse(const std::string& s) {
    const auto slash = s.find('/');
    if (slash == std::string::npos) return {std::stoll(s), 1};
    return Frac{std::stoll(s.substr(0, slash)), std::stoll(s.substr(slash + 1))}.Reduced();
  }
  Frac Reduced() const {
    const auto g = std::gcd(num, den);
    return g == 0 ? *this : Frac{num / g, den / g};
  }
  Frac operator+(const Frac& o) const {
    return Frac{num * o.den + o.num * den, den * o.den}.Reduced();
  }
  bool operator==(const Frac& o) const { return num * o.den == o.num * den; }
  std::string Text() const {
    const auto r = Reduced();
    return r.den == 1 ? std::to_string(r.num) : std::to_string(r.num) + "/" + std::to_string(r.den);
  }
};

class TallyCliTest : public testutil::CliFixture {
 protected:
  TallyCliTest() : CliFixture("tally") {}
  void SetUp() override {
    CliFixture::SetUp();
    At(kT0);
  }
  void TearDown() override {
    ::unsetenv("POLDER_FAKE_NOW_MS");
    CliFixture::TearDown();
  }

  // Pins the clock of every polder command run after this.
  void At(std::int64_t ms) { ::setenv("POLDER_FAKE_NOW_MS", std::to_string(ms).c_str(), 1); }
  // Everyone's events to everyone, through Ana.
  void SyncAll() {
    for (const auto& h : homes_) {
      if (h != ana_) Sync(h, ana_);
    }
    for (const auto& h : homes_) {
      if (h != ana_) Sync(ana_, h);
    }
  }

  // A, B and C of organisations O1, O2, O3: A creates a circle of 1000 (with `rules`, extra
  // `circle create` options) where one admitter suffices, admits B and C a second later, and
  // everyone holds everything. Returns their homes.
  std::array<std::string, 3> ThreeOrganisations(const std::string& rules) {
    const auto a = Home("a"), b = Home("b"), c = Home("c");
    Ok(a, "init --name A --org O1");
    Ok(b, "init --name B --org O2");
    Ok(c, "init --name C --org O3");
    Ok(a,
       "circle create --name F --purpose P --pool 1000 --organisations O2,O3 --admission-orgs 1 " +
           rules);
    At(kT0 + 1000);
    Ok(a, "admit " + Id(b) + " --name B --org O2");
    Ok(a, "admit " + Id(c) + " --name C --org O3");
    homes_ = {a, b, c};
    ana_ = a;
    Sync(a, b);
    Sync(a, c);
    return {a, b, c};
  }

  // Builds the circle. Returns nothing; fills the ids below.
  void BuildCircle() {
    ana_ = Home("ana"), ben_ = Home("ben"), cy_ = Home("cy"), dee_ = Home("dee"),
    eve_ = Home("eve");
    homes_ = {ana_, ben_, cy_, dee_, eve_};
    const std::pair<std::string, std::string> who[] = {{"Ana", "Riverside"},
                                                       {"Ben", "Riverside"},
                                                       {"Cy", "Hill"},
                                                       {"Dee", "Hill"},
                                                       {"Eve", "Dale"}};
    for (std::size_t i = 0; i < homes_.size(); ++i) {
      Ok(homes_[i], "init --name " + who[i].first + " --org " + who[i].second);
      org_[who[i].first] = who[i].second;
    }
    Ok(ana_,
       "circle create --name Fund --purpose 'Greener streets' --pool 10000 --unit EUR"
       " --weighting org-balanced --quorum 50% --approval 50% --voting-window 1d"
       " --organisations Hill,Dale --admission-orgs 1");
    for (std::size_t i = 1; i < homes_.size(); ++i) {
      At(kT0 + static_cast<std::int64_t>(i) * 1000);
      Ok(ana_, "admit " + Id(homes_[i]) + " --name " + who[i].first + " --org " + who[i].second);
    }
    for (std::size_t i = 1; i < homes_.size(); ++i) Sync(ana_, homes_[i]);

    proposed_at_ = kT0 + kMinute;
    At(proposed_at_);
    trees_ = Ok(ben_, "propose --title Trees --amount 4000")["event_id"];
    lights_ = Ok(cy_, "propose --title Lights --amount 5000.50")["event_id"];
    bench_ = Ok(eve_, "propose --title Bench --amount 3000 --topic parks")["event_id"];
    mural_ = Ok(dee_, "propose --title Mural --amount 1000")["event_id"];
    At(proposed_at_ + 1000);
    Ok(dee_, "withdraw " + mural_.substr(0, 8) + " --reason 'found a sponsor'");
    SyncAll();

    At(proposed_at_ + 2 * kMinute);
    ben_delegation_ = Ok(ben_, "delegate " + Id(ana_))["event_id"];
    trees_votes_["Ana"] = Ok(ana_, "vote " + trees_.substr(0, 8) + " for")["event_id"];
    trees_votes_["Cy"] = Ok(cy_, "vote " + trees_.substr(0, 8) + " for")["event_id"];
    trees_votes_["Dee"] = Ok(dee_, "vote " + trees_.substr(0, 8) + " against")["event_id"];
    trees_votes_["Eve"] = Ok(eve_, "vote " + trees_.substr(0, 8) + " for")["event_id"];
    for (const auto& h : {ana_, cy_, dee_, eve_}) Ok(h, "vote " + lights_.substr(0, 8) + " for");
    flag_ = Ok(ana_, "flag " + lights_.substr(0, 8) +
                         " --severity high --category delivery --rationale 'no quote'")["event_id"];
    Ok(eve_, "vote " + bench_.substr(0, 8) + " for");
    SyncAll();

    At(proposed_at_ + 2 * kDay);  // after every deadline
    late_vote_ = Ok(dee_, "vote " + bench_.substr(0, 8) + " for")["event_id"];
    SyncAll();
  }

  json Outcome(const json& tally, const std::string& id) {
    for (const auto& p : tally["proposals"]) {
      if (p["proposal_id"] == id) return p;
    }
    ADD_FAILURE() << "no outcome for " << id;
    return json::object();
  }

  std::string ana_, ben_, cy_, dee_, eve_;
  std::vector<std::string> homes_;
  std::map<std::string, std::string> org_;  // name → organisation
  std::int64_t proposed_at_ = 0;
  std::string trees_, lights_, bench_, mural_, flag_, ben_delegation_, late_vote_;
  std::map<std::string, std::string> trees_votes_;  // voter name → vote event id
};

TEST_F(TallyCliTest, StatusesAmountsAndTotalsAfterTheDeadline) {
  BuildCircle();
  const std::int64_t after = proposed_at_ + 3 * kDay;
  const auto t = Ok(cy_, "tally --as-of " + std::to_string(after));
  EXPECT_EQ(t["as_of_ms"], std::to_string(after));
  EXPECT_EQ(t["as_of"], cli::FormatRfc3339(after));
  EXPECT_EQ(t["allocation_method"], "greedy_approval");

  const auto trees = Outcome(t, trees_);
  EXPECT_EQ(trees["status"], "funded");
  EXPECT_EQ(trees["reason"], "");
  EXPECT_EQ(trees["amount_minor"], "400000");
  EXPECT_EQ(trees["amount"], "4000.00 EUR");
  EXPECT_EQ(trees["organisation"], "Riverside");
  EXPECT_EQ(trees["eligible_members"], 5);
  EXPECT_EQ(trees["participants"], 5);  // Ben through his delegation to Ana
  EXPECT_EQ(trees["for_count"], 4);
  EXPECT_EQ(trees["against_count"], 1);

  const auto lights = Outcome(t, lights_);
  EXPECT_EQ(lights["status"], "not_funded");
  EXPECT_EQ(lights["reason"], "blocked_by_flag");
  EXPECT_EQ(lights["amount"], "5000.50 EUR");
  EXPECT_TRUE(lights["quorum_met"]);
  EXPECT_TRUE(lights["approved"]);
  EXPECT_TRUE(lights["blocked"]);

  const auto bench = Outcome(t, bench_);
  EXPECT_EQ(bench["status"], "not_funded");
  EXPECT_EQ(bench["reason"], "quorum_not_met");
  EXPECT_EQ(bench["participants"], 1);  // Eve; Dee's vote came late, Ben's delegate did not vote
  EXPECT_FALSE(bench["quorum_met"]);

  EXPECT_EQ(Outcome(t, mural_)["status"], "withdrawn");

  // Totals follow from the outcomes.
  std::int64_t funded = 0;
  for (const auto& p : t["proposals"]) {
    if (p["status"] == "funded") funded += std::stoll(p["amount_minor"].get<std::string>());
  }
  EXPECT_EQ(t["pool_minor"], "1000000");
  EXPECT_EQ(t["allocated_minor"], std::to_string(funded));
  EXPECT_EQ(t["left_minor"], std::to_string(1'000'000 - funded));
  EXPECT_EQ(t["pool"], "10000.00 EUR");

  // Every replica that holds the same events gives the same tally and names the same event set.
  for (const auto& h : homes_) EXPECT_EQ(Ok(h, "tally --as-of " + std::to_string(after)), t) << h;
  EXPECT_EQ(t["state_digest"], Ok(cy_, "status")["digest"]);
  EXPECT_EQ(Ok(cy_, "tally --as-of " + cli::FormatRfc3339(after)), t);

  // The table says the same.
  const auto text = Text(cy_, "tally --as-of " + std::to_string(after));
  EXPECT_NE(text.find("STATUS"), std::string::npos) << text;
  for (const auto& p : t["proposals"]) {
    const std::string id = p["proposal_id"];
    const auto line_at = text.find(id.substr(0, 12));
    ASSERT_NE(line_at, std::string::npos) << text;
    const auto line = text.substr(line_at, text.find('\n', line_at) - line_at);
    std::string status = p["status"];
    std::replace(status.begin(), status.end(), '_', ' ');
    std::string reason = p["reason"];
    std::replace(reason.begin(), reason.end(), '_', ' ');
    EXPECT_NE(line.find(p["amount"].get<std::string>()), std::string::npos) << line;
    EXPECT_NE(line.find("  " + status + "  "), std::string::npos) << line;
    EXPECT_NE(line.find(reason), std::string::npos) << line;
  }
  EXPECT_NE(text.find("pool " + t["pool"].get<std::string>() + ", allocated " +
                      t["allocated"].get<std::string>() + ", left " + t["left"].get<std::string>()),
            std::string::npos)
      << text;
}

TEST_F(TallyCliTest, BeforeTheDeadlineProposalsAreOpen) {
  BuildCircle();
  const std::int64_t during = proposed_at_ + 3 * kMinute;
  const auto t = Ok(ana_, "tally --as-of " + cli::FormatRfc3339(during));
  for (const auto& p : t["proposals"]) {
    EXPECT_FALSE(p["closed"]) << p.dump();
    EXPECT_EQ(p["status"], p["proposal_id"] == mural_ ? "withdrawn" : "open") << p.dump();
  }
  EXPECT_EQ(t["allocated_minor"], "0");
  // Provisional figures: the vote counts so far.
  EXPECT_EQ(Outcome(t, trees_)["for_count"], 4);
  const auto text = Text(ana_, "tally --as-of " + std::to_string(during));
  EXPECT_NE(text.find("provisional"), std::string::npos) << text;
}

TEST_F(TallyCliTest, ExplainNamesQuorumDelegationAndFlags) {
  BuildCircle();
  const std::string after = std::to_string(proposed_at_ + 3 * kDay);
  const auto text = Text(ben_, "tally --as-of " + after + " --explain " + trees_.substr(0, 10));
  EXPECT_NE(text.find("Quorum: 5 of 5 members voted"), std::string::npos) << text;
  EXPECT_NE(text.find("Delegation of Ben"), std::string::npos) << text;
  EXPECT_NE(text.find("-> Ana"), std::string::npos) << text;
  EXPECT_NE(text.find("used"), std::string::npos) << text;
  EXPECT_NE(text.find("Outcome: funded"), std::string::npos) << text;
  EXPECT_EQ(text.find("Lights"), std::string::npos) << "one proposal only:\n" << text;

  const auto j = Ok(ben_, "tally --as-of " + after + " --explain " + trees_.substr(0, 10));
  ASSERT_EQ(j["proposals"].size(), 1u);
  const auto& e = j["proposals"][0]["explanation"];
  EXPECT_EQ(e["quorum_met"], true);
  ASSERT_EQ(e["delegations"].size(), 1u);
  EXPECT_EQ(e["delegations"][0]["delegator_name"], "Ben");
  EXPECT_EQ(e["delegations"][0]["chain_names"], json::array({"Ana"}));
  EXPECT_EQ(e["delegations"][0]["end"], "used");
  EXPECT_FALSE(e["text"].get<std::string>().empty());

  const auto lights = Ok(ben_, "tally --as-of " + after + " --explain " + lights_.substr(0, 10));
  const auto& f = lights["proposals"][0]["explanation"]["flags"];
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]["flag_id"], flag_);
  EXPECT_EQ(f[0]["state"], "open");
  EXPECT_EQ(f[0]["blocking_severity"], true);
  const auto ltext = Text(ben_, "tally --as-of " + after + " --explain " + lights_.substr(0, 10));
  EXPECT_NE(ltext.find("Risk flag " + flag_.substr(0, 12)), std::string::npos) << ltext;

  const auto bench = Text(ben_, "tally --as-of " + after + " --explain " + bench_.substr(0, 10));
  EXPECT_NE(bench.find("Not counted: vote " + late_vote_.substr(0, 12)), std::string::npos)
      << bench;
}

TEST_F(TallyCliTest, AuditCanBeRecheckedIndependently) {
  BuildCircle();
  const std::int64_t after = proposed_at_ + 3 * kDay;
  const auto a = Ok(eve_, "audit " + trees_.substr(0, 8) + " --as-of " + std::to_string(after));
  EXPECT_EQ(a["format"], "polder-audit-v1");
  EXPECT_EQ(a["proposal"]["proposal_id"], trees_);
  EXPECT_EQ(a["state_digest"], Ok(eve_, "status")["digest"]);
  EXPECT_EQ(a["vector_digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(a["rules"]["weighting"], "organisation_balanced");
  EXPECT_EQ(a["rules"]["quorum_bps"], 5000);
  EXPECT_EQ(a["rules"]["pool_minor"], "1000000");

  // Members and eligibility, from the audit alone.
  std::map<std::string, std::string> org_of;   // key → organisation
  std::map<std::string, std::string> name_of;  // key → name
  std::map<std::string, std::string> key_of;   // name → key
  std::map<std::string, int> org_size;         // eligible members per organisation
  for (const auto& m : a["members"]) {
    org_of[m["member"]] = m["organisation"];
    name_of[m["member"]] = m["name"];
    key_of[m["name"]] = m["member"];
    if (m["eligible"] && !m["forked"]) ++org_size[m["organisation"].get<std::string>()];
  }
  EXPECT_EQ(name_of.size(), 5u);
  for (const auto& [name, org] : org_) EXPECT_EQ(org_of[key_of[name]], org) << name;

  // Each counted vote rests on the Vote event its voter published, and Ben's on his delegation.
  std::set<std::string> counted_members;
  Frac for_w, against_w;
  int for_n = 0, against_n = 0;
  for (const auto& v : a["counted_votes"]) {
    const std::string member = v["member"];
    counted_members.insert(member);
    const std::string voted_by = v["voted_by"];
    EXPECT_EQ(v["vote_event"], trees_votes_[name_of[voted_by]]) << v.dump();
    if (name_of[member] == "Ben") {
      ASSERT_EQ(v["chain"].size(), 1u);
      EXPECT_EQ(v["chain"][0]["event_id"], ben_delegation_);
      EXPECT_EQ(v["chain"][0]["delegate"], key_of["Ana"]);
      EXPECT_EQ(voted_by, key_of["Ana"]);
    } else {
      EXPECT_EQ(voted_by, member);
      EXPECT_TRUE(v["chain"].empty());
    }
    // Organisation-balanced: each organisation weighs 1, split among its eligible members.
    const Frac w = Frac::Parse(v["weight"]);
    EXPECT_EQ(w, (Frac{1, org_size[org_of[member]]})) << v.dump();
    if (v["choice"] == "for") {
      for_w = for_w + w;
      ++for_n;
    } else if (v["choice"] == "against") {
      against_w = against_w + w;
      ++against_n;
    }
  }
  EXPECT_EQ(counted_members.size(), 5u);
  const auto& p = a["proposal"];
  EXPECT_EQ(Frac::Parse(p["for_weight"]), for_w) << for_w.Text();
  EXPECT_EQ(Frac::Parse(p["against_weight"]), against_w) << against_w.Text();
  EXPECT_EQ(p["for_count"], for_n);
  EXPECT_EQ(p["against_count"], against_n);
  EXPECT_EQ(p["participants"], static_cast<int>(counted_members.size()));

  // The quorum and approval comparisons, recomputed.
  int eligible = 0;
  for (const auto& [org, n] : org_size) eligible += n;
  EXPECT_EQ(p["eligible_members"], eligible);
  auto check = [&](const std::string& prefix) {
    for (const auto& c : a["checks"]) {
      if (c["rule"].get<std::string>().rfind(prefix, 0) == 0) return c;
    }
    ADD_FAILURE() << "no check " << prefix << " in " << a["checks"].dump();
    return json::object();
  };
  const auto quorum = check("participants ×");
  EXPECT_EQ(quorum["left"], std::to_string(counted_members.size() * 10000));
  EXPECT_EQ(quorum["right"], std::to_string(5000 * eligible));
  EXPECT_EQ(quorum["holds"], counted_members.size() * 10000 >= 5000u * eligible);
  EXPECT_EQ(quorum["holds"], p["quorum_met"]);
  const auto approval = check("for_weight ×");
  const Frac both = for_w + against_w;
  EXPECT_EQ(approval["left"], (Frac{for_w.num * 10000, for_w.den}).Text());
  EXPECT_EQ(approval["right"], (Frac{both.num * 5000, both.den}).Text());
  EXPECT_EQ(approval["holds"], for_w.num * 10000 * both.den > both.num * 5000 * for_w.den);
  EXPECT_EQ(approval["holds"], p["approved"]);
  // Considered for allocation with the whole pool left: it was the only candidate.
  EXPECT_EQ(p["status"], "funded");
  EXPECT_EQ(a["proposal"]["explanation"]["allocation"]["considered"], true);
  EXPECT_EQ(a["proposal"]["explanation"]["allocation"]["pool_left_before_minor"],
            a["rules"]["pool_minor"]);
  EXPECT_EQ(check("amount_minor ≤ pool_left_before_minor")["holds"], true);
  EXPECT_EQ(a["round"]["proposals"].size(), 4u);

  // The late vote on Bench is listed as excluded, with its event id and why.
  const auto b = Ok(eve_, "audit " + bench_.substr(0, 8) + " --as-of " + std::to_string(after));
  ASSERT_EQ(b["excluded_votes"].size(), 1u);
  EXPECT_EQ(b["excluded_votes"][0]["event_id"], late_vote_);
  EXPECT_EQ(b["excluded_votes"][0]["reason"], "late");
  EXPECT_EQ(b["excluded_votes"][0]["name"], "Dee");

  // The flag on Lights, with its id and state.
  const auto l = Ok(eve_, "audit " + lights_.substr(0, 8) + " --as-of " + std::to_string(after));
  ASSERT_EQ(l["flags"].size(), 1u);
  EXPECT_EQ(l["flags"][0]["flag_id"], flag_);
  EXPECT_EQ(l["flags"][0]["blocking"], true);
  EXPECT_EQ(l["flags"][0]["counted"], true);

  // The readable form.
  const auto text =
      Text(eve_, "audit " + trees_.substr(0, 8) + " --as-of " + std::to_string(after));
  EXPECT_NE(text.find("Counted votes (5)"), std::string::npos) << text;
  EXPECT_NE(text.find(ben_delegation_.substr(0, 12)), std::string::npos) << text;
  EXPECT_NE(text.find(a["state_digest"].get<std::string>()), std::string::npos) << text;
}

// With a node running for the home (it holds the lock and writes), tally and audit read the
// replica beside it and see what it stored.
TEST_F(TallyCliTest, WorksWhileANodeRunsAndSeesWhatItStores) {
  BuildCircle();
  const std::string after = std::to_string(proposed_at_ + 3 * kDay);
  const auto before = Ok(ana_, "audit " + bench_.substr(0, 8) + " --as-of " + after);

  At(proposed_at_ + 2 * kDay + kMinute);  // the node's clock
  const std::string bin = testutil::PolderBin();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(bin.c_str(), bin.c_str(), "--home", ana_.c_str(), "node", "--listen", "127.0.0.1:0",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    ::usleep(50'000);
    up = std::filesystem::exists(ana_ + "/api.json");
  }
  ASSERT_TRUE(up) << "the node did not start";
  // The node's clock is past the round's deadline: it seals the round by itself (one seal of the
  // three a majority needs), which changes the round's seals and nothing it counted.
  json running;
  for (int i = 0; i < 100; ++i) {
    running = Ok(ana_, "audit " + bench_.substr(0, 8) + " --as-of " + after);
    if (!running["funding_round"]["seals"]["counting"].empty()) break;
    ::usleep(100'000);
  }
  ASSERT_EQ(running["funding_round"]["seals"]["counting"].size(), 1u) << "the node did not seal";
  std::string ana_key;
  for (const auto& m : before["members"]) {
    if (m["name"] == "Ana") ana_key = m["member"];
  }
  EXPECT_EQ(running["funding_round"]["seals"]["counting"][0], ana_key);
  EXPECT_EQ(running["funding_round"]["finality"], "provisional");
  for (const char* k : {"counted_votes", "excluded_votes", "checks", "flags", "members"}) {
    EXPECT_EQ(running[k], before[k]) << k;
  }

  // A vote written through the node, after Bench's deadline: the audit lists it as excluded.
  const std::string late = Ok(ana_, "vote " + bench_.substr(0, 8) + " against")["event_id"];
  const auto now = Ok(ana_, "audit " + bench_.substr(0, 8) + " --as-of " + after);
  EXPECT_NE(now["state_digest"], before["state_digest"]);
  EXPECT_EQ(now["state_digest"], Ok(ana_, "status")["digest"]);
  bool listed = false;
  for (const auto& x : now["excluded_votes"]) {
    listed |= x["event_id"] == late && x["reason"] == "late" && x["name"] == "Ana";
  }
  EXPECT_TRUE(listed) << now["excluded_votes"].dump();
  EXPECT_EQ(now["proposal"]["participants"], before["proposal"]["participants"]);

  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(TallyCliTest, UnknownMalformedOrMissingProposalIsRefusedClearly) {
  const auto a = Home("a");
  Ok(a, "init --name A --org O");
  Ok(a, "circle create --name F --purpose P --pool 100");
  const std::string p = Ok(a, "propose --title T --amount 10")["event_id"];
  // A prefix no proposal has: flip the first hex digit of the one that exists.
  std::string other = p.substr(0, 8);
  other[0] = other[0] == 'f' ? '0' : 'f';
  struct Case {
    std::string args;
    int code;
    std::string says;
  } cases[] = {
      {"tally --explain " + other, 65, "no proposal with id starting " + other},
      {"audit " + other + " --json", 65, "no proposal with id starting " + other},
      {"tally --explain ab", 65, "at least 4"},
      {"audit xyz1", 65, "not a hex id prefix"},
      {"audit", 2, "PROPOSAL"},
      {"tally --as-of yesterday", 65, "RFC 3339"},
  };
  for (const auto& c : cases) {
    auto r = RunPolder(a, c.args);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << "\n" << r.err;
  }
  // The proposal's full id and its prefix work.
  EXPECT_EQ(Ok(a, "audit " + p)["proposal"]["proposal_id"], p);
}

TEST_F(TallyCliTest, ReplicaWithoutACircleSaysSoAndAnEmptyCircleHasItsWholePool) {
  const auto a = Home("a");
  Ok(a, "init --name A --org O");
  auto r = RunPolder(a, "tally");
  EXPECT_EQ(r.code, 65);
  EXPECT_NE(r.err.find("no charter"), std::string::npos) << r.err;

  Ok(a, "circle create --name F --purpose P --pool 250.5 --unit CHF");
  const auto t = Ok(a, "tally");
  EXPECT_TRUE(t["proposals"].empty());
  EXPECT_EQ(t["pool"], "250.50 CHF");
  EXPECT_EQ(t["left"], "250.50 CHF");
  EXPECT_EQ(t["allocated_minor"], "0");
  const auto text = Text(a, "tally");
  EXPECT_NE(text.find("No proposals yet."), std::string::npos) << text;
  EXPECT_NE(text.find("left 250.50 CHF"), std::string::npos) << text;
}

}  // namespace
}  // namespace polder

namespace polder {
namespace {

// A shared deadline makes a round; a rule change is adopted by a supermajority; two of three
// members override a blocking flag.
TEST_F(TallyCliTest, SharedDeadlineRuleChangeAndOverrideVote) {
  // The flag below is not a late one.
  const auto [a, b, c] = ThreeOrganisations("--voting-window 1d --late-flag-window 1h");

  At(kT0 + kMinute);
  const std::string deadline = std::to_string(kT0 + kDay);
  const std::string x = Ok(a, "propose --title X --amount 100 --deadline " + deadline)["event_id"];
  const std::string y = Ok(b, "propose --title Y --amount 100 --deadline " + deadline)["event_id"];
  const std::string rc =
      Ok(b, "propose-rules --title Stricter --quorum 100% --deadline " + deadline)["event_id"];
  EXPECT_EQ(RunPolder(b, "propose-rules --title Same --quorum 50%").code, 2)
      << "the rules in force already: refused";
  EXPECT_EQ(RunPolder(a, "propose --title Z --amount 1 --deadline 1 --voting-window 1d").code, 2);
  SyncAll();
  At(kT0 + 2 * kMinute);
  const std::string flag =
      Ok(c, "flag " + x.substr(0, 8) + " --severity high --category c --rationale r")["event_id"];
  SyncAll();
  At(kT0 + 3 * kMinute);
  for (const auto& h : {a, b, c}) {
    for (const auto& p : {x, y, rc}) Ok(h, "vote " + p.substr(0, 8) + " for");
  }
  EXPECT_EQ(RunPolder(a, "resolve " + flag.substr(0, 8) + " --override --withdraw").code, 2);
  Ok(a, "resolve " + flag.substr(0, 8) + " --override");
  SyncAll();

  const std::string after = " --as-of " + std::to_string(kT0 + 2 * kDay);
  auto t = Ok(a, "tally" + after);
  std::map<std::string, json> by_id;
  for (const auto& p : t["proposals"]) by_id[p["proposal_id"]] = p;
  EXPECT_EQ(by_id[x]["status"], "not_funded") << "one override vote of three is not enough";
  EXPECT_EQ(by_id[x]["reason"], "blocked_by_flag");
  EXPECT_EQ(by_id[y]["status"], "funded");
  EXPECT_EQ(by_id[rc]["status"], "adopted");
  EXPECT_EQ(by_id[rc]["rule_change"], true);
  EXPECT_EQ(by_id[rc]["finality"], "provisional");
  ASSERT_EQ(t["rounds"].size(), 1u) << "one shared deadline, one round";
  EXPECT_EQ(t["rounds"][0]["proposals"].size(), 3u);

  At(kT0 + 4 * kMinute);
  Ok(b, "resolve " + flag.substr(0, 8) + " --override");  // two of three: at least 66.66 %
  Sync(b, a);
  t = Ok(a, "tally" + after);
  for (const auto& p : t["proposals"]) by_id[p["proposal_id"]] = p;
  EXPECT_EQ(by_id[x]["status"], "funded");
  const auto audit = Ok(a, "audit " + x.substr(0, 8) + after);
  ASSERT_EQ(audit["flags"].size(), 1u);
  EXPECT_EQ(audit["flags"][0]["state"], "overridden");
  const auto audit_rc = Ok(a, "audit " + rc.substr(0, 8) + after);
  bool checked = false;
  for (const auto& ch : audit_rc["checks"]) {
    checked |= ch["rule"].get<std::string>().find("rule_change_bps") != std::string::npos &&
               ch["holds"] == true;
  }
  EXPECT_TRUE(checked) << audit_rc["checks"].dump();
  EXPECT_NE(Text(a, "tally" + after).find("adopted"), std::string::npos);
}

// Issue 14, late flags, as a user sees them: C flags X an hour before its deadline (the default
// window is a day); after the deadline X is open again, due a day later, and `polder tally` says
// why; A answers, B accepts, and at the new deadline X is funded.
TEST_F(TallyCliTest, ALateFlagMovesTheDecisionAndTheProposerAnswersIt) {
  const auto [a, b, c] = ThreeOrganisations("--mitigation-acceptances 1");
  At(kT0 + kMinute);
  const std::int64_t deadline = kT0 + kDay;
  const std::string x =
      Ok(a, "propose --title X --amount 100 --deadline " + std::to_string(deadline))["event_id"];
  SyncAll();
  At(kT0 + 2 * kMinute);
  for (const auto& h : {a, b, c}) Ok(h, "vote " + x.substr(0, 8) + " for");
  At(deadline - 60 * kMinute);
  const std::string flag =
      Ok(c, "flag " + x.substr(0, 8) + " --severity high --category c --rationale r")["event_id"];
  SyncAll();

  const std::string just_after = " --as-of " + std::to_string(deadline + kMinute);
  auto t = Ok(a, "tally" + just_after);
  ASSERT_EQ(t["proposals"].size(), 1u);
  EXPECT_EQ(t["proposals"][0]["status"], "open");
  EXPECT_EQ(t["proposals"][0]["moved_from_ms"], std::to_string(deadline));
  EXPECT_EQ(t["proposals"][0]["deadline_ms"], std::to_string(deadline + kDay));
  EXPECT_NE(Text(a, "tally" + just_after).find("its decision moved to"), std::string::npos);
  const auto explained = Ok(a, "tally --explain " + x.substr(0, 8) + just_after);
  EXPECT_EQ(explained["proposals"][0]["explanation"]["late_flag"], flag);

  At(deadline + 2 * kMinute);
  Ok(a, "resolve " + flag.substr(0, 8) + " --answer \"quotes attached\"");
  SyncAll();
  At(deadline + 3 * kMinute);
  Ok(b, "endorse " + x.substr(0, 8));  // accepts the answer (neither proposer nor flagger)
  SyncAll();
  t = Ok(a, "tally --as-of " + std::to_string(deadline + kDay + kMinute));
  EXPECT_EQ(t["proposals"][0]["status"], "funded") << t.dump(1);
  EXPECT_EQ(t["rounds"].size(), 2u);
}

// The sybil attack, as a new user would try it: Ana (North) founds a circle with partners
// from South and East, then alone admits keys under made-up organisations (refused) and under her
// own (admitted, never counted); they vote for her proposal of 90 % of the pool, both partners vote
// against. Before, the tally said funded, 4 : 2.
TEST_F(TallyCliTest, OneMemberCannotMintVoters) {
  const auto ana = Home("ana"), ben = Home("ben"), cy = Home("cy");
  Ok(ana, "init --name Ana --org North");
  Ok(ben, "init --name Ben --org South");
  Ok(cy, "init --name Cy --org East");
  Ok(ana, "circle create --name Fund --purpose P --pool 10000 --organisations South,East");
  At(kT0 + 1'000);
  Ok(ana, "admit " + Id(ben) + " --name Ben --org South");
  Sync(ana, ben);
  At(kT0 + 2'000);
  Ok(ana, "admit " + Id(cy) + " --name Cy --org East");
  EXPECT_NE(Text(ana, "members").find("Cy: admitted by eligible members of 1 organisation"),
            std::string::npos);
  At(kT0 + 3'000);
  Ok(ben, "admit " + Id(cy) + " --name Cy --org East");  // South too: Cy counts
  Sync(ben, ana);
  Sync(ana, cy);

  std::vector<std::string> sybils;
  for (int i = 0; i < 3; ++i) {
    const auto h = Home("sybil" + std::to_string(i));
    Ok(h, "init --name S" + std::to_string(i) + " --org North");
    auto fake = RunPolder(ana, "admit " + Id(h) + " --name S --org Fake" + std::to_string(i));
    EXPECT_EQ(fake.code, 2);
    EXPECT_NE(fake.err.find("\"Fake" + std::to_string(i) +
                            "\" is not one of the circle's organisations (East, North, South)"),
              std::string::npos)
        << fake.err;
    Ok(ana, "admit " + Id(h) + " --name S" + std::to_string(i) + " --org North");
    sybils.push_back(h);
  }
  const auto members = Ok(ana, "members");
  int counted = 0;
  for (const auto& m : members["members"]) {
    counted += m["eligible"].get<bool>() ? 1 : 0;
    if (m["name"].get<std::string>()[0] == 'S') {
      EXPECT_EQ(m["eligible"], false);
      EXPECT_EQ(m["admitted_by"], json::array({Id(ana)}));
      EXPECT_EQ(m["not_eligible_because"],
                "admitted by eligible members of 1 organisation; 2 needed");
    }
  }
  EXPECT_EQ(counted, 3);

  At(kT0 + kMinute);
  const std::string deadline = std::to_string(kT0 + kDay);
  const std::string p =
      Ok(ana, "propose --title Mine --amount 9000 --deadline " + deadline)["event_id"];
  Ok(ana, "vote " + p.substr(0, 8) + " for");
  for (const auto& h : sybils) {
    Sync(ana, h);
    Ok(h, "vote " + p.substr(0, 8) + " for");
    Sync(h, ana);
  }
  for (const auto& h : {ben, cy}) {
    Sync(ana, h);
    Ok(h, "vote " + p.substr(0, 8) + " against");
    Sync(h, ana);
  }
  const auto t = Ok(ana, "tally --as-of " + std::to_string(kT0 + 2 * kDay));
  ASSERT_EQ(t["proposals"].size(), 1u);
  EXPECT_EQ(t["proposals"][0]["status"], "not_funded");
  EXPECT_EQ(t["proposals"][0]["for_count"], 1);
  EXPECT_EQ(t["proposals"][0]["against_count"], 2);
  EXPECT_EQ(t["proposals"][0]["eligible_members"], 3);
}

// Founding partners (issue 14, the first round): Ana founds the circle listing Ben (South) and Cy
// (East) in the charter. They are members from it on, each gets their own join code, and the
// first round's committee is the three of them. A partner list naming Ana herself or one partner
// twice, or a malformed one (no name, no organisation, not a member ID) is refused and writes
// nothing.
TEST_F(TallyCliTest, FoundingPartnersAreMembersFromTheCharterOn) {
  const auto ana = Home("ana"), ben = Home("ben"), cy = Home("cy");
  Ok(ana, "init --name Ana --org North");
  Ok(ben, "init --name Ben --org South");
  Ok(cy, "init --name Cy --org East");
  const std::string create = "circle create --name Fund --purpose P --pool 10000";
  for (const std::string& bad : std::vector<std::string>{Id(ana) + ",North,Ana", Id(ben) + ",South",
                                                         "nonsense,South,X", Id(ben) + ",,Ben"}) {
    const auto r = RunPolder(ana, create + " --partner " + Sh(bad));
    EXPECT_TRUE(r.code == 2 || r.code == 65) << bad << ": " << r.code << " " << r.err;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  }
  auto twice = RunPolder(ana, create + " --partner " + Id(ben) + ",South,Ben --partner " + Id(ben) +
                                  ",South,Benedict");
  EXPECT_EQ(twice.code, 2);
  EXPECT_NE(twice.err.find("twice"), std::string::npos) << twice.err;
  // None of them wrote a charter: the home founds its circle now.
  const auto receipt =
      Ok(ana, create + " --partner " + Id(ben) + ",South,Ben --partner " +
                  Sh(Id(cy) + ",East,Cy Smith, jr.") + " --address 127.0.0.9:7000");
  ASSERT_EQ(receipt["partner_codes"].size(), 2u);
  std::map<std::string, std::string> code;  // member id -> join code
  for (const auto& pc : receipt["partner_codes"]) {
    code[pc["member_id"]] = pc["join_code"];
    EXPECT_EQ(pc["join_code"].get<std::string>().rfind("polder1-", 0), 0u);
  }
  ASSERT_EQ(code.count(Id(ben)), 1u);
  // A code is made for one partner: Cy cannot join with Ben's.
  auto wrong = RunPolder(cy, "join " + code[Id(ben)]);
  EXPECT_EQ(wrong.code, 2);
  EXPECT_NE(wrong.err.find("made for another member"), std::string::npos) << wrong.err;
  EXPECT_EQ(Ok(ben, "join " + code[Id(ben)])["addresses"],
            nlohmann::json::array({"127.0.0.9:7000"}));
  Ok(cy, "join " + code[Id(cy)]);
  Sync(ana, ben);
  Sync(ana, cy);
  // Members from the charter on: eligible, no admission needed.
  int eligible = 0;
  const auto listed = Ok(ben, "members");
  for (const auto& m : listed["members"]) {
    eligible += m["eligible"].get<bool>() ? 1 : 0;
    EXPECT_EQ(m["founding_partner"], m["name"] != "Ana") << m.dump();
    if (m["name"] == "Cy Smith, jr.") {
      EXPECT_EQ(m["organisation"], "East");
    }
  }
  EXPECT_EQ(eligible, 3);
  EXPECT_NE(Text(ben, "members").find("founding partner"), std::string::npos);
  At(kT0 + kMinute);
  const std::string deadline = std::to_string(kT0 + kDay);
  const std::string p =
      Ok(ben, "propose --title Trees --amount 900 --deadline " + deadline)["event_id"];
  Sync(ben, cy);
  Ok(cy, "vote " + p.substr(0, 8) + " for");
  Sync(cy, ana);
  Sync(ben, ana);
  Ok(ana, "vote " + p.substr(0, 8) + " against");
  const auto t = Ok(ana, "tally --as-of " + std::to_string(kT0 + 2 * kDay));
  ASSERT_EQ(t["proposals"].size(), 1u);
  EXPECT_EQ(t["proposals"][0]["for_count"], 1);
  EXPECT_EQ(t["proposals"][0]["against_count"], 1);
  EXPECT_EQ(t["proposals"][0]["eligible_members"], 3);
  ASSERT_EQ(t["rounds"].size(), 1u);
  EXPECT_EQ(t["rounds"][0]["committee"].size(), 3u);
}

// Removal (issue 14), as members would do it: Ben alone cannot remove Cy; once Ana supports it
// too (two of the other two), Cy is removed, `members` says so, and Cy's vote in the open round
// no longer counts. Removing oneself, a key that is not a member, without a reason, a member
// removed already, or as a member who no longer counts is refused and writes nothing.
TEST_F(TallyCliTest, TwoMembersRemoveAThird) {
  const auto ana = Home("ana"), ben = Home("ben"), cy = Home("cy");
  Ok(ana, "init --name Ana --org North");
  Ok(ben, "init --name Ben --org South");
  Ok(cy, "init --name Cy --org East");
  Ok(ana, "circle create --name Fund --purpose P --pool 10000 --organisations South,East");
  At(kT0 + 1'000);
  Ok(ana, "admit " + Id(ben) + " --name Ben --org South");
  Ok(ana, "admit " + Id(cy) + " --name Cy --org East");
  Sync(ana, ben);
  // Later than Ben's own admission: acts with one timestamp count in key order, so with the
  // same timestamp Ben's admission of Cy would count only if his key sorted after Ana's.
  At(kT0 + 1'500);
  Ok(ben, "admit " + Id(cy) + " --name Cy --org East");
  Sync(ben, ana);
  Sync(ana, cy);
  const std::string p = Ok(
      ana, "propose --title T --amount 100 --deadline " + std::to_string(kT0 + kDay))["event_id"];
  Sync(ana, cy);
  Ok(cy, "vote " + p.substr(0, 8) + " for");
  Sync(cy, ana);
  Sync(ana, ben);

  const auto nobody = Home("nobody");
  Ok(nobody, "init --name N --org North");
  const auto digest = Digest(ben);
  EXPECT_EQ(RunPolder(ben, "remove " + Id(ben) + " --reason r").code, 2);
  EXPECT_EQ(RunPolder(ben, "remove " + Id(nobody) + " --reason r").code, 2);
  EXPECT_EQ(RunPolder(ben, "remove " + Id(cy)).code, 2);
  EXPECT_EQ(Digest(ben), digest) << "a refused removal writes nothing";

  At(kT0 + 2'000);
  const auto one = RunPolder(ben, "remove " + Id(cy) + " --reason \"left the partnership\"");
  EXPECT_EQ(one.code, 0) << one.err;
  EXPECT_NE(one.out.find("You support removing Cy"), std::string::npos) << one.out;
  const auto supported = Ok(ben, "members");  // kept: the loop below refers into it
  for (const auto& m : supported["members"]) {
    if (m["name"] == "Cy") {
      EXPECT_EQ(m["eligible"], true);
      EXPECT_EQ(m.value("removed", false), false);
      EXPECT_EQ(m["removed_by"], json::array({Id(ben)}));
    }
  }
  Sync(ben, ana);
  At(kT0 + 3'000);
  const auto two = RunPolder(ana, "remove " + Id(cy) + " --reason \"left the partnership\"");
  EXPECT_EQ(two.code, 0) << two.err;
  EXPECT_NE(two.out.find("Cy ("), std::string::npos) << two.out;
  EXPECT_NE(two.out.find("is removed"), std::string::npos) << two.out;
  const auto removed = Ok(ana, "members");
  for (const auto& m : removed["members"]) {
    if (m["name"] == "Cy") {
      EXPECT_EQ(m["eligible"], false);
      EXPECT_EQ(m["removed"], true);
      EXPECT_EQ(m["removed_by"], json::array({Id(ben), Id(ana)}));
      EXPECT_EQ(m["not_eligible_because"], "removed by 2 members");
    }
  }
  EXPECT_NE(Text(ana, "members").find("REMOVED"), std::string::npos);
  const auto again = Digest(ana);
  EXPECT_EQ(RunPolder(ana, "remove " + Id(cy) + " --reason again").code, 2) << "removed already";
  EXPECT_EQ(Digest(ana), again);
  Sync(ana, cy);
  const auto at_cy = Digest(cy);
  EXPECT_EQ(RunPolder(cy, "remove " + Id(ben) + " --reason revenge").code, 2)
      << "Cy counts no more";
  EXPECT_EQ(Digest(cy), at_cy);
  const auto t = Ok(ana, "tally --as-of " + std::to_string(kT0 + 2 * kDay));
  ASSERT_EQ(t["proposals"].size(), 1u);
  EXPECT_EQ(t["proposals"][0]["for_count"], 0);
  EXPECT_EQ(t["proposals"][0]["eligible_members"], 2);
}

// `polder rotate-network-key` (issue 14): the home's network key changes (the old one is kept as
// retired), join codes made afterwards carry the new key, and a member who does not count may not
// rotate it.
TEST_F(TallyCliTest, RotatingTheNetworkKeyChangesItForLaterJoinCodes) {
  const auto ana = Home("ana"), ben = Home("ben"), cy = Home("cy");
  Ok(ana, "init --name Ana --org North");
  Ok(ben, "init --name Ben --org South");
  Ok(cy, "init --name Cy --org North");
  Ok(ana, "circle create --name Fund --purpose P --pool 100 --organisations South");
  Ok(ana, "admit " + Id(ben) + " --name Ben --org South");
  const auto key_file = [](const std::string& home) {
    std::ifstream in(home + "/network.key");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string before = key_file(ana);
  const auto rotated = RunPolder(ana, "rotate-network-key");
  ASSERT_EQ(rotated.code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("Sealed a new network key to 2 members and devices"),
            std::string::npos)
      << rotated.out;
  EXPECT_NE(key_file(ana), before);
  EXPECT_TRUE(std::filesystem::exists(ana + "/network.retired"));

  // Cy (North) admitted by Ana alone does not count (two organisations needed): cannot rotate.
  const std::string code = Ok(ana, "admit " + Id(cy) + " --name Cy --org North")["join_code"];
  Ok(cy, "join " + code);
  EXPECT_EQ(key_file(cy), key_file(ana)) << "the join code carries the new key";
  Sync(ana, cy);
  const auto digest = Digest(cy);
  const auto refused = RunPolder(cy, "rotate-network-key");
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("only a member who counts"), std::string::npos) << refused.err;
  EXPECT_EQ(Digest(cy), digest);
}

// Join codes expire (issue 14): after --expires (default 7 days) `polder join` refuses the code and
// says what to do; "never" makes one that does not.
TEST_F(TallyCliTest, AnExpiredJoinCodeIsRefused) {
  const auto ana = Home("ana"), ben = Home("ben"), cy = Home("cy");
  Ok(ana, "init --name Ana --org North");
  Ok(ben, "init --name Ben --org North");
  Ok(cy, "init --name Cy --org North");
  Ok(ana, "circle create --name F --purpose P --pool 100");
  const std::string ben_code = Ok(ana, "admit " + Id(ben) + " --name Ben --org North")["join_code"];
  const std::string cy_code =
      Ok(ana, "admit " + Id(cy) + " --name Cy --org North --expires never")["join_code"];
  const auto digest = Digest(ana);
  for (const char* bad : {"0", "soon", "-1d"}) {
    EXPECT_EQ(RunPolder(ana, "admit " + Id(cy) + " --name Cy --org North --expires " + bad).code, 2)
        << bad;
  }
  EXPECT_EQ(Digest(ana), digest) << "a refused admit authors nothing";
  At(kT0 + 7 * kDay + 1);
  const auto late = RunPolder(ben, "join " + ben_code);
  EXPECT_EQ(late.code, 2);
  EXPECT_NE(late.err.find("this join code expired at"), std::string::npos) << late.err;
  EXPECT_FALSE(std::filesystem::exists(ben + "/network.key")) << "a refused code changes nothing";
  Ok(cy, "join " + cy_code);
  At(kT0 + 7 * kDay);
  Ok(ben, "join " + ben_code);
}

}  // namespace
}  // namespace polder
