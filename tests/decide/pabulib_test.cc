// The Pabulib reader: real files, exact decimals, quoting, ballot types, and malformed input
// (every error names its line; nothing crashes).
#include "node/decide/pabulib.h"

#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "node/decide/limits.h"
#include "tests/decide/pb_testutil.h"

namespace polder::decide {
namespace {

using testing::LoadPb;
using testing::PabulibDir;

// A small valid file; tests replace parts of it.
const std::string kMeta = "META\nkey;value\nbudget;100\nvote_type;approval\n";
const std::string kProjects = "PROJECTS\nproject_id;cost;name\n1;60;one\n2;30;two\n3;25;three\n";
const std::string kVotes = "VOTES\nvoter_id;vote\n1;1,2\n2;2,3\n3;1\n";

PabulibFile Ok(const std::string& text) {
  auto f = ParsePabulib(text);
  EXPECT_TRUE(f.has_value()) << (f ? "" : f.error().message);
  return f ? std::move(*f) : PabulibFile{};
}

// Parsing fails with `code` and a message containing `what`.
void Bad(const std::string& text, const std::string& what, Errc code = Errc::kInvalidArgument) {
  auto f = ParsePabulib(text);
  ASSERT_FALSE(f.has_value()) << "accepted:\n" << text;
  EXPECT_EQ(f.error().code, code) << f.error().message;
  EXPECT_NE(f.error().message.find(what), std::string::npos)
      << "message: " << f.error().message << "\nexpected to contain: " << what;
}

TEST(Pabulib, ReadsASmallFile) {
  const auto f = Ok(kMeta + kProjects + kVotes);
  EXPECT_EQ(f.instance.budget, Money(100));
  EXPECT_EQ(f.instance.unit, Money(1));
  EXPECT_EQ(f.decimals, 0u);
  EXPECT_EQ(f.vote_type, "approval");
  ASSERT_EQ(f.instance.projects.size(), 3u);
  EXPECT_EQ(f.instance.projects[2].id, "3");
  EXPECT_EQ(f.instance.projects[2].cost, Money(25));
  EXPECT_EQ(f.instance.approvals, (std::vector<std::vector<std::uint32_t>>{{0, 1}, {1, 2}, {0}}));
  EXPECT_TRUE(f.selected.empty());
  EXPECT_EQ(f.Meta("budget"), "100");
  EXPECT_EQ(f.Meta("absent"), "");
}

TEST(Pabulib, ReadsEveryRealElection) {
  struct Expect {
    std::string file;
    std::size_t projects, voters;
    std::int64_t budget_minor;
    std::uint32_t decimals;
  };
  const std::vector<Expect> expected = {
      {"poland_lodz_2022_stary-widzew.pb", 29, 2503, 607000, 0},
      {"poland_warszawa_2017_anin.pb", 17, 510, 122468, 0},
      {"poland_warszawa_2017_zacisze.pb", 21, 1107, 625320, 0},
      {"poland_warszawa_2018_grochow-kinowa.pb", 18, 826, 2143864, 1},
      {"poland_wieliczka_2023_green-budget.pb", 64, 6586, 1000000, 0},
  };
  for (const auto& e : expected) {
    const auto f = LoadPb(PabulibDir() + "/" + e.file);
    EXPECT_EQ(f.instance.projects.size(), e.projects) << e.file;
    EXPECT_EQ(f.instance.approvals.size(), e.voters) << e.file;
    EXPECT_EQ(f.instance.budget.minor(), e.budget_minor) << e.file;
    EXPECT_EQ(f.decimals, e.decimals) << e.file;
    EXPECT_EQ(f.selected.size(), e.projects) << e.file;
  }
}

TEST(Pabulib, RealFilesQuirks) {
  // Grochów-Kinowa: decimal budget and no key;value header in META.
  const auto g = LoadPb(PabulibDir() + "/poland_warszawa_2018_grochow-kinowa.pb");
  EXPECT_EQ(g.instance.unit, Money(10));
  EXPECT_EQ(g.Meta("description"), "Local PB in Warsaw, Praga-Południe | Grochów Kinowa");
  EXPECT_EQ(FormatMoney(g.instance.budget, g.decimals), "214386.4");
  EXPECT_EQ(g.instance.projects[0].cost, Money(58200));  // 5820 → tenths
  // Łódź: alphanumeric ids and a quoted name with doubled quotes; no trailing newline.
  const auto l = LoadPb(PabulibDir() + "/poland_lodz_2022_stary-widzew.pb");
  EXPECT_EQ(l.instance.projects[0].id, "W070SW");
  // Wieliczka: CRLF line ends.
  const auto w = LoadPb(PabulibDir() + "/poland_wieliczka_2023_green-budget.pb");
  EXPECT_EQ(w.instance.projects[0].id, "24");
  EXPECT_EQ(w.Meta("rule"), "equalshares/add1");
  EXPECT_EQ(w.Meta("currency"), "PLN");
}

TEST(Pabulib, DecimalBudgetScalesEveryAmountExactly) {
  const auto f =
      Ok("META\nkey;value\nbudget;214386.4\nPROJECTS\nproject_id;cost\n1;5820\n2;0.25\n"
         "VOTES\nvoter_id;vote\n1;1,2\n");
  EXPECT_EQ(f.decimals, 2u);
  EXPECT_EQ(f.instance.unit, Money(100));
  EXPECT_EQ(f.instance.budget, Money(21438640));
  EXPECT_EQ(f.instance.projects[0].cost, Money(582000));
  EXPECT_EQ(f.instance.projects[1].cost, Money(25));
}

TEST(Pabulib, TrailingZerosDoNotAddDecimals) {
  const auto f =
      Ok("META\nbudget;100.00\nPROJECTS\nproject_id;cost\n1;5.50\nVOTES\nvoter_id;vote\n");
  EXPECT_EQ(f.decimals, 1u);
  EXPECT_EQ(f.instance.budget, Money(1000));
  EXPECT_EQ(f.instance.projects[0].cost, Money(55));
}

TEST(Pabulib, QuotedFields) {
  const auto f = Ok(kMeta +
                    "PROJECTS\nproject_id;cost;name\n\"1\";\"60\";\"say \"\"hi\"\"; twice\"\n"
                    "2;30;\"two\nlines\"\n" +
                    "VOTES\nvoter_id;vote\n1;\"1,2\"\n");
  ASSERT_EQ(f.instance.projects.size(), 2u);
  EXPECT_EQ(f.instance.projects[0].id, "1");
  EXPECT_EQ(f.instance.approvals[0], (std::vector<std::uint32_t>{0, 1}));
}

TEST(Pabulib, LineNumbersCountLinesInsideQuotedFields) {
  // The name of project 2 spans lines 8 and 9, so the bad cost on the next row is on line 10.
  Bad(kMeta + "PROJECTS\nproject_id;cost;name\n1;60;x\n2;30;\"a\nb\"\n3;x;c\n" + kVotes,
      "line 10: cost 'x'");
}

TEST(Pabulib, CrLfByteOrderMarkBlankLinesAndSpaces) {
  std::string text = "\xEF\xBB\xBF" + kMeta + "\n" + kProjects + " \n" + kVotes;
  std::string crlf;
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  const auto f = Ok(crlf);
  EXPECT_EQ(f.instance.approvals.size(), 3u);
  const auto g = Ok(kMeta + "PROJECTS\nproject_id ; cost\n 1 ; 60 \nVOTES\nvoter_id;vote\n1; 1 \n");
  EXPECT_EQ(g.instance.projects[0].cost, Money(60));
  EXPECT_EQ(g.instance.approvals[0], (std::vector<std::uint32_t>{0}));
}

TEST(Pabulib, EmptyVoteIsAnEmptyBallot) {
  const auto f = Ok(kMeta + kProjects + "VOTES\nvoter_id;vote\n1;\n2;3\n");
  EXPECT_EQ(f.instance.approvals, (std::vector<std::vector<std::uint32_t>>{{}, {2}}));
}

TEST(Pabulib, SelectedColumn) {
  const auto f = Ok(kMeta + "PROJECTS\nproject_id;cost;selected\n1;60;1\n2;30;0\n" +
                    "VOTES\nvoter_id;vote\n1;1\n");
  EXPECT_EQ(f.selected, (std::vector<bool>{true, false}));
  Bad(kMeta + "PROJECTS\nproject_id;cost;selected\n1;60;yes\nVOTES\nvoter_id;vote\n",
      "line 7: selected 'yes'");
}

TEST(Pabulib, CumulativeAndScoringBallotsApproveWhatGetsPositivePoints) {
  for (const std::string type : {"cumulative", "scoring"}) {
    const auto f = Ok("META\nbudget;100\nvote_type;" + type + "\n" + kProjects +
                      "VOTES\nvoter_id;vote;points\n1;1,2,3;5,0,2\n2;3;-1\n3;2;0.5\n");
    EXPECT_EQ(f.vote_type, type);
    EXPECT_EQ(f.instance.approvals, (std::vector<std::vector<std::uint32_t>>{{0, 2}, {}, {1}}));
  }
  Bad("META\nbudget;100\nvote_type;cumulative\n" + kProjects + kVotes, "needs a 'points' column");
  Bad("META\nbudget;100\nvote_type;cumulative\n" + kProjects +
          "VOTES\nvoter_id;vote;points\n1;1,2;3\n",
      "line 11: the vote lists 2 projects but points has 1");
  Bad("META\nbudget;100\nvote_type;scoring\n" + kProjects + "VOTES\nvoter_id;vote;points\n1;1;x\n",
      "line 11: points 'x'");
}

TEST(Pabulib, OrdinalBallotsApproveEveryListedProject) {
  const auto f = Ok("META\nbudget;100\nvote_type;ordinal\n" + kProjects + kVotes);
  EXPECT_EQ(f.instance.approvals, (std::vector<std::vector<std::uint32_t>>{{0, 1}, {1, 2}, {0}}));
}

TEST(Pabulib, RefusesBadNumbers) {
  for (const std::string cost : {"abc", "-5", "1e3", "12,5", "1.", ".5", "", "+3", "0x10"}) {
    Bad(kMeta + "PROJECTS\nproject_id;cost\n1;" + cost + "\n" + kVotes, "line 7: cost");
  }
  Bad("META\nbudget;lots\n" + kProjects + kVotes, "line 2: budget 'lots'");
  Bad("META\nbudget;1.1234567\n" + kProjects + kVotes, "more than 6 decimals");
  Bad("META\nbudget;10000000000000000\n" + kProjects + kVotes, "too large", Errc::kLimit);
  // Fine alone, but scaled by another amount's decimals it exceeds the bound.
  Bad("META\nbudget;999999999999999\nPROJECTS\nproject_id;cost\n1;0.5\nVOTES\nvoter_id;vote\n",
      "line 2: budget is over", Errc::kLimit);
}

TEST(Pabulib, RefusesMissingOrMisplacedSections) {
  Bad("", "ends without a META section");
  Bad(kMeta, "ends without a PROJECTS section");
  Bad(kMeta + kProjects, "ends without a VOTES section");
  Bad(kMeta + kProjects + "VOTES\n", "VOTES section has no header");
  Bad(kProjects + kVotes, "line 1: section PROJECTS is out of place");
  Bad(kMeta + kVotes + kProjects, "line 5: section VOTES is out of place");
  Bad(kMeta + kProjects + kVotes + kMeta, "line 15: section META is out of place");
  Bad("budget;100\n" + kProjects + kVotes, "line 1: expected the META section");
  Bad(kMeta + "PROJECTS\nVOTES\nvoter_id;vote\n", "PROJECTS section has no header");
}

TEST(Pabulib, RefusesBadHeadersAndRows) {
  Bad("META\nvote_type;approval\n" + kProjects + kVotes, "META has no budget");
  Bad(kMeta + "PROJECTS\nproject_id;price\n1;5\n" + kVotes,
      "line 6: PROJECTS header has no 'cost'");
  Bad(kMeta + kProjects + "VOTES\nvoter;vote\n", "line 11: VOTES header has no 'voter_id'");
  Bad(kMeta + "PROJECTS\nproject_id;cost;cost\n" + kVotes, "names column 'cost' twice");
  Bad(kMeta + "PROJECTS\nproject_id;cost\n1;60;extra\n" + kVotes,
      "line 7: PROJECTS row has 3 fields, the header 2");
  Bad(kMeta + kProjects + "VOTES\nvoter_id;vote\n1\n", "line 12: VOTES row has 1 fields");
  Bad("META\nbudget\n" + kProjects + kVotes, "line 2: META rows are key;value");
  Bad("META\nbudget;1\nbudget;2\n" + kProjects + kVotes, "line 3: META key 'budget' appears twice");
  Bad("META\nbudget;100\nvote_type;choose-one\n" + kProjects + kVotes,
      "line 3: vote_type 'choose-one'");
}

TEST(Pabulib, RefusesInconsistentProjectsAndVotes) {
  Bad(kMeta + kProjects + "VOTES\nvoter_id;vote\n1;1,7\n", "line 12: the vote lists project '7'");
  Bad(kMeta + "PROJECTS\nproject_id;cost\n1;5\n1;6\n" + kVotes, "line 8: project_id '1' appears");
  Bad(kMeta + "PROJECTS\nproject_id;cost\n;5\n" + kVotes, "line 7: project_id is empty");
  Bad(kMeta + "PROJECTS\nproject_id;cost\n\"a,b\";5\n" + kVotes, "contains a comma");
  Bad(kMeta + kProjects + "VOTES\nvoter_id;vote\n1;1\n1;2\n",
      "line 13: voter_id '1' appears twice");
  Bad(kMeta + kProjects + "VOTES\nvoter_id;vote\n1;1,2,1\n",
      "line 12: the vote lists project '1' twice");
  Bad(kMeta + kProjects + "VOTES\nvoter_id;vote\n1;1,,2\n", "line 12: the vote has an empty");
  Bad("META\nbudget;100\nnum_votes;4\n" + kProjects + kVotes, "line 3: META num_votes is '4'");
  Bad("META\nbudget;100\nnum_projects;2\n" + kProjects + kVotes, "META num_projects is '2'");
}

TEST(Pabulib, RefusesBadQuoting) {
  Bad(kMeta + "PROJECTS\nproject_id;cost;name\n1;60;\"open\n" + kVotes, "line 7: a quoted field");
  Bad(kMeta + "PROJECTS\nproject_id;cost;name\n1;60;\"a\"b\n" + kVotes,
      "line 7: unexpected text after a closing quote");
}

TEST(Pabulib, EnforcesSizeLimits) {
  std::string many = kMeta + "PROJECTS\nproject_id;cost\n";
  for (std::size_t i = 0; i <= kMaxProjects; ++i) many += std::to_string(i) + ";1\n";
  Bad(many + "VOTES\nvoter_id;vote\n", "more than 4096 projects", Errc::kLimit);
  Bad(kMeta + "PROJECTS\nproject_id;cost;name\n1;1;" + std::string(kMaxPbFieldBytes + 1, 'x') +
          "\n" + kVotes,
      "line 7: a field is over 1 MiB", Errc::kLimit);
  Bad(kMeta + "PROJECTS\nproject_id;cost;name\n1;1;\"" + std::string(kMaxPbFieldBytes + 1, 'x') +
          "\"\n" + kVotes,
      "line 7: a field is over 1 MiB", Errc::kLimit);
  Bad(kMeta + "PROJECTS\n" + std::string(kMaxPbColumns, ';') + "\n", "more than 256 fields",
      Errc::kLimit);
}

TEST(Pabulib, ReadsFromAStream) {
  std::istringstream in(kMeta + kProjects + kVotes);
  auto f = ReadPabulib(in);
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ(f->instance.approvals.size(), 3u);
}

TEST(Pabulib, MangledFilesNeverCrash) {
  // Random byte edits of a valid file: each parse ends in a value or an error, never a crash
  // (run under ASan/UBSan in the sanitizer build). The fuzzer goes further.
  const std::string base = kMeta +
                           "PROJECTS\nproject_id;cost;name\n1;60.5;\"a \"\"b\"\"\"\n2;30;x\n" +
                           "VOTES\nvoter_id;vote;points\n1;1,2;1,2\n2;2;0\n";
  const std::string alphabet = "0123456789;,.\"\n\r -abMETAPROJECTSVOTES";
  std::mt19937 rng(17);
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % (text.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        case 1:
          if (at < text.size()) text.erase(at, 1);
          break;
        default:
          if (at < text.size()) text[at] = c;
      }
    }
    auto f = ParsePabulib(text);
    if (f) {
      ++parsed;
      EXPECT_TRUE(Validate(f->instance).has_value());
    } else {
      EXPECT_FALSE(f.error().message.empty());
    }
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace polder::decide
