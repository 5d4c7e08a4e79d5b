// Issue 12 (one rulebook for events): the refactor must not change behaviour. A fixed corpus of
// signed events — every payload type, a double admission, an equivocation, pending events (a
// stranger, a gap, a reference to an event nobody holds), void events (timestamp regression, a
// reference of the wrong kind, a withdrawal and resolutions by members who may not make them),
// seals and a rule change — is imported into a fresh home, and the state digest, the counts and
// the CLI's JSON views (status, list, members, show, tally at two times) must equal the values
// recorded from the code before the refactor (tests/regress/data/issue_012_*).
//
// The corpus is a checked-in bundle. DISABLED_WriteCorpus wrote it (deterministic keys and
// timestamps); run it with --gtest_also_run_disabled_tests only to make a new corpus, and record
// the views again with POLDER_RECORD_GOLDEN=1 — which is then a change of behaviour to justify.
//
// Re-recorded once, for issue 13 (rules version 2: a reference never holds up a log): the vote on
// an event nobody holds now takes its place and awaits (applied 58 → 59, of which 1 awaiting), so
// the comment after it in its author's log applies too (pending 4 → 2, that member's head_seq
// 15 → 17), which changes the state digest; no proposal, tally or audit figure changed.
// Then `status` gained the (here empty) list `awaiting_events`. Rules version 3 (a circle id is
// the hash of its charter) changed every circle id, so every event id, and the order of lists
// sorted by id; with ids set aside (and lists sorted), every recorded view is as before.
// Issue 14's late-flag window (default 24 h) moved "Bikes", blocked at its deadline by a flag
// raised in the last day before it, to that deadline + 24 h: its round, deadline, cut-off (so a
// vote changed after the first deadline counts) and finality changed, and the rules views gained
// `late_flag_window_ms`; every other figure is as before. Round views then gained the round's
// `committee` and its seal note `committee_required` (issue 14: a sealer set that backdated
// admissions cannot change), and proposal views `moved_from_ms`; no figure changed.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/identity.h"
#include "polder/v1/event.pb.h"
#include "storage/bundle.h"
#include "storage/rulebook/sign.h"
#include "tests/testutil/run.h"

namespace polder {
namespace {

using nlohmann::json;
using testutil::RunPolder;
using testutil::Sh;

const std::string kData = std::string(POLDER_SOURCE_DIR) + "/tests/regress/data/";
constexpr std::int64_t kT0 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDeadline1 = kT0 + 2 * kHour;   // round 1
constexpr std::int64_t kDeadline2 = kT0 + 48 * kHour;  // round 2
constexpr std::int64_t kImportAt = kT0 + 3 * kHour;    // the clock when importing
constexpr std::int64_t kAsOf1 = kDeadline1 + kHour;    // round 1 closed and sealed
constexpr std::int64_t kAsOf2 = kDeadline2 + kHour;    // round 2 closed too

// ---- The corpus ---------------------------------------------------------------------------

struct Author {
  crypto::SigningKey key;
  std::uint64_t seq = 0;
  std::string prev;
};

Author Make(std::uint8_t tag) {
  Bytes seed(32, tag);
  return Author{*crypto::SigningKey::FromSeed(seed), 0, {}};
}

class Corpus {
 public:
  // The circle is the one the first event, the charter, names.

  // Signs the next event of `a` at `ts`. With `advance` false the author's chain does not move
  // (a second version at the same seq, or an event signed out of the chain).
  EventId Add(Author& a, std::int64_t ts, const std::function<void(v1::EventBody&)>& fill,
              bool advance = true, std::uint64_t skip = 0) {
    v1::EventBody b;
    b.set_circle_id(circle_.str());
    b.set_author(a.key.public_key().str());
    b.set_seq(a.seq + 1 + skip);
    if (a.seq + skip > 0) {
      b.set_prev(skip > 0 ? std::string(32, '\x5a') : a.prev);
    }
    b.set_timestamp_ms(ts);
    fill(b);
    if (b.has_charter()) circle_ = rulebook::BindCharter(b);
    EventId id;
    events_.push_back(rulebook::Sign(a.key, b, &id));
    if (advance) {
      a.seq = b.seq();
      a.prev = id.str();
    }
    return id;
  }

  const std::vector<Bytes>& events() const { return events_; }
  const CircleId& circle() const { return circle_; }

 private:
  CircleId circle_;
  std::vector<Bytes> events_;
};

void Info(v1::MemberInfo* m, const std::string& name, const std::string& org, bool leader) {
  m->set_name(name);
  m->set_organisation(org);
  m->set_role(leader ? "director" : "member");
  m->set_formal_leader(leader);
}

std::vector<Bytes> BuildCorpus(CircleId* circle_out) {
  Author ana = Make(1), ben = Make(2), cy = Make(3), dee = Make(4), eve = Make(5), sam = Make(6);
  const std::string salt(16, 'g');
  Corpus c;
  std::int64_t t = kT0;
  auto tick = [&] { return t += 1000; };

  c.Add(ana, t, [&](v1::EventBody& b) {
    auto* ch = b.mutable_charter();
    ch->set_name("Golden fund");
    ch->set_purpose("Greener, safer streets for the three districts");
    ch->set_pool_minor(1'000'000);  // 10,000.00 EUR
    ch->set_unit("EUR");
    ch->set_decimals(2);
    ch->set_salt(salt);
    Info(ch->mutable_founder(), "Ana", "North", true);
    auto* r = ch->mutable_rules();
    r->set_voting_window_ms(24 * kHour);
    r->set_weighting(v1::DecisionRules::ORGANISATION_BALANCED);
    r->set_quorum_bps(5000);
    r->set_approval_bps(5000);
    r->set_max_share_per_proposal_bps(6000);
    r->set_mitigation_acceptances(1);
    r->add_organisations("South");  // North is Ana's; newcomers need admitters of two of them
    r->add_organisations("East");
  });
  *circle_out = c.circle();
  auto admit = [&](Author& by, const Author& who, const std::string& name, const std::string& org,
                   bool leader) {
    c.Add(by, tick(), [&](v1::EventBody& b) {
      b.mutable_admit()->set_member(who.key.public_key().str());
      Info(b.mutable_admit()->mutable_info(), name, org, leader);
    });
  };
  admit(ana, ben, "Ben", "South", false);
  admit(ana, cy, "Cy", "East", false);
  admit(ana, dee, "Dee", "North", true);
  admit(ana, eve, "Eve", "South", false);
  admit(ben, cy, "Cyrus", "East", false);  // a second admission of Cy, another name
  // Dee and Eve count once a member of a second organisation admits them too.
  admit(ben, dee, "Dee", "North", true);
  admit(cy, eve, "Eve", "South", false);

  auto propose = [&](Author& a, const std::string& title, std::int64_t amount,
                     std::int64_t deadline, const std::string& topic = "") {
    return c.Add(a, tick(), [&](v1::EventBody& b) {
      auto* p = b.mutable_proposal();
      p->set_title(title);
      p->set_body("Details of " + title);
      p->set_amount_minor(amount);
      p->set_purpose_fit("Makes the streets greener");
      p->set_deadline_ms(deadline);
      p->set_topic(topic);
    });
  };
  const EventId trees = propose(ana, "Trees", 300'000, kDeadline1, "parks");
  const EventId bikes = propose(ben, "Bikes", 500'000, kDeadline1);
  const EventId rules = c.Add(cy, tick(), [&](v1::EventBody& b) {
    auto* p = b.mutable_proposal();
    p->set_title("Lower the quorum");
    p->set_amount_minor(0);
    p->set_deadline_ms(kDeadline1);
    auto* r = p->mutable_rules();
    r->set_voting_window_ms(24 * kHour);
    r->set_weighting(v1::DecisionRules::ORGANISATION_BALANCED);
    r->set_quorum_bps(4000);
    r->set_approval_bps(5000);
    r->set_max_share_per_proposal_bps(6000);
    r->set_mitigation_acceptances(1);
  });
  const EventId solar = propose(dee, "Solar", 400'000, kDeadline2);
  const EventId party = propose(eve, "Party", 100'000, kDeadline1);
  const EventId lamps = propose(dee, "Lamps", 200'000, kDeadline2, "parks");

  auto vote = [&](Author& a, const EventId& p, v1::Choice choice) {
    return c.Add(a, tick(), [&](v1::EventBody& b) {
      b.mutable_vote()->set_proposal(p.str());
      b.mutable_vote()->set_choice(choice);
    });
  };
  auto flag = [&](Author& a, const EventId& p, v1::Severity sev) {
    return c.Add(a, tick(), [&](v1::EventBody& b) {
      auto* f = b.mutable_risk_flag();
      f->set_proposal(p.str());
      f->set_severity(sev);
      f->set_category("delivery");
      f->set_rationale("No quote yet");
    });
  };
  auto resolve = [&](Author& a, const EventId& f, v1::FlagResolution::Kind kind) {
    return c.Add(a, tick(), [&](v1::EventBody& b) {
      auto* r = b.mutable_flag_resolution();
      r->set_flag(f.str());
      r->set_kind(kind);
      if (kind == v1::FlagResolution::ANSWER) r->set_mitigation("Two quotes attached");
    });
  };
  auto endorse = [&](Author& a, const EventId& p) {
    c.Add(a, tick(), [&](v1::EventBody& b) {
      b.mutable_endorsement()->set_proposal(p.str());
      b.mutable_endorsement()->set_note("Count me in");
    });
  };
  auto comment = [&](Author& a, const std::string& text, const EventId* on) {
    c.Add(a, tick(), [&](v1::EventBody& b) {
      if (on) b.mutable_comment()->set_target(on->str());
      b.mutable_comment()->set_text(text);
    });
  };
  auto delegate = [&](Author& a, const Author* to, const std::string& topic) {
    c.Add(a, tick(), [&](v1::EventBody& b) {
      auto* d = b.mutable_delegation();
      if (to) {
        d->set_delegate(to->key.public_key().str());
      } else {
        d->set_revoke(true);
      }
      d->set_topic(topic);
    });
  };
  auto withdraw = [&](Author& a, const EventId& p) {
    c.Add(a, tick(), [&](v1::EventBody& b) {
      b.mutable_withdraw()->set_proposal(p.str());
      b.mutable_withdraw()->set_reason("Found a sponsor");
    });
  };

  vote(ana, trees, v1::FOR);
  vote(ben, trees, v1::FOR);
  vote(ben, trees, v1::AGAINST);  // changed
  vote(ben, trees, v1::FOR);      // and back
  vote(cy, trees, v1::FOR);
  vote(ben, bikes, v1::FOR);
  vote(cy, bikes, v1::AGAINST);
  vote(ana, bikes, v1::FOR);
  for (Author* a : {&ana, &ben, &cy}) vote(*a, rules, v1::FOR);
  vote(dee, rules, v1::AGAINST);
  delegate(dee, &ana, "");      // Dee follows Ana on everything ...
  delegate(eve, &cy, "parks");  // Eve follows Cy on parks
  delegate(eve, &ben, "");      // ... and Ben otherwise
  delegate(eve, nullptr, "");   // then revokes the general one
  vote(cy, party, v1::FOR);
  vote(ana, party, v1::FOR);
  vote(eve, party, v1::FOR);

  const EventId bikes_flag = flag(cy, bikes, v1::HIGH);     // stays open: blocks Bikes
  const EventId trees_flag = flag(ana, trees, v1::MEDIUM);  // not blocking
  const EventId trees_high = flag(ben, trees, v1::HIGH);    // withdrawn below
  resolve(ben, trees_high, v1::FlagResolution::WITHDRAW);
  const EventId party_flag = flag(cy, party, v1::CRITICAL);  // overridden below
  for (Author* a : {&ana, &ben, &dee}) resolve(*a, party_flag, v1::FlagResolution::OVERRIDE);
  const EventId solar_flag = flag(ben, solar, v1::HIGH);  // answered and accepted
  resolve(dee, solar_flag, v1::FlagResolution::ANSWER);
  endorse(cy, solar);
  endorse(ben, trees);
  endorse(eve, party);

  // Void: each takes its place in its author's log and has no effect.
  resolve(cy, trees_flag, v1::FlagResolution::WITHDRAW);  // not the flagger
  resolve(ana, bikes_flag, v1::FlagResolution::ANSWER);   // not the proposer
  withdraw(ben, trees);                                   // not the author
  vote(ana, bikes_flag, v1::FOR);                         // a flag is not a proposal
  c.Add(dee, kT0 + 500, [&](v1::EventBody& b) {           // timestamp regression
    b.mutable_comment()->set_text("From a clock that is wrong");
  });

  comment(ana, "Welcome, everyone", nullptr);
  comment(cy, "Which streets first?", &trees);
  comment(dee, "Quote requested", &solar_flag);
  withdraw(eve, party);  // Eve withdraws her own proposal
  vote(dee, solar, v1::FOR);
  vote(eve, solar, v1::FOR);
  vote(cy, lamps, v1::FOR);
  vote(ben, lamps, v1::AGAINST);

  // A vote after round 1's deadline: late for it.
  t = kDeadline1 + 5 * kMinute;
  vote(cy, bikes, v1::FOR);

  // Seals of round 1 by a majority, then a late one.
  auto seal = [&](Author& a, std::vector<const Author*> held) {
    std::sort(held.begin(), held.end(), [](const Author* x, const Author* y) {
      return x->key.public_key() < y->key.public_key();
    });
    c.Add(a, tick(), [&](v1::EventBody& b) {
      auto* s = b.mutable_seal();
      s->set_deadline_ms(kDeadline1);
      for (const Author* h : held) {
        auto* e = s->add_heads();
        e->set_author(h->key.public_key().str());
        e->set_seq(h->seq);
        e->set_head(h->prev);
      }
    });
  };
  t = kDeadline1 + 10 * kMinute;
  seal(ana, {&ana, &ben, &cy, &dee, &eve});
  seal(ben, {&ana, &ben, &cy, &dee, &eve});
  seal(cy, {&ana, &ben, &cy, &dee, &eve});
  seal(dee, {&ana, &ben, &cy, &dee, &eve});  // after a majority: late

  // Eve equivocates: two different events at her next seq. Both are kept as proof; her log is
  // frozen from there, on every replica alike.
  Author eve_copy = Make(5);
  eve_copy.seq = eve.seq;
  eve_copy.prev = eve.prev;
  c.Add(eve, tick(), [&](v1::EventBody& b) { b.mutable_comment()->set_text("Laptop one"); });
  c.Add(eve_copy, tick(), [&](v1::EventBody& b) { b.mutable_comment()->set_text("Laptop two"); });
  vote(eve, lamps, v1::FOR);  // beyond the fork: frozen

  // Pending: a stranger's event, an event past a gap in Dee's log, and Ben's vote on a proposal
  // nobody holds (with Ben's next event waiting behind it).
  comment(sam, "Let me in", nullptr);
  c.Add(
      dee, tick(), [&](v1::EventBody& b) { b.mutable_comment()->set_text("Past a gap"); },
      /*advance=*/false, /*skip=*/1);
  EventId nowhere;
  nowhere.bytes.fill(0x77);
  vote(ben, nowhere, v1::FOR);
  comment(ben, "Waits behind my vote", nullptr);
  return c.events();
}

TEST(Issue012Corpus, DISABLED_Write) {
  CircleId circle;
  const auto events = BuildCorpus(&circle);
  std::filesystem::create_directories(kData);
  auto w = storage::BundleWriter::Create(kData + "issue_012_corpus.bundle", circle, true);
  ASSERT_TRUE(w);
  for (const auto& e : events) ASSERT_TRUE(w->Add(e));
  ASSERT_TRUE(w->Finish());
}

// ---- The check ----------------------------------------------------------------------------

class Issue012Golden : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testutil::TempDir("golden");
    home_ = root_ + "/home";
  }
  void TearDown() override {
    ::unsetenv("POLDER_FAKE_NOW_MS");
    std::filesystem::remove_all(root_);
  }
  json Run(const std::string& args, std::int64_t now_ms) {
    ::setenv("POLDER_FAKE_NOW_MS", std::to_string(now_ms).c_str(), 1);
    auto r = RunPolder(home_, args + " --json");
    EXPECT_TRUE(r.code == 0 || r.code == 65) << "polder " << args << ": " << r.err;
    try {
      return json::parse(r.out);
    } catch (const std::exception&) {
      ADD_FAILURE() << "not JSON from `" << args << "`: " << r.out;
      return json::object();
    }
  }
  // Compares `got` with the recorded file, or records it when POLDER_RECORD_GOLDEN is set.
  void Check(const std::string& name, const json& got) {
    const std::string file = kData + "issue_012_" + name + ".json";
    if (const char* rec = std::getenv("POLDER_RECORD_GOLDEN"); rec && *rec == '1') {
      std::ofstream(file) << got.dump(2) << "\n";
      return;
    }
    std::ifstream in(file);
    ASSERT_TRUE(in) << "no recorded " << file;
    const json want = json::parse(in);
    EXPECT_EQ(got, want) << name << " differs from " << file << "\n got: " << got.dump(2);
  }

  std::string root_, home_;
};

TEST_F(Issue012Golden, ImportGivesTheRecordedDigestCountsAndViews) {
  json import = Run("import " + Sh(kData + "issue_012_corpus.bundle"), kImportAt);
  import.erase("file");  // the checkout's path
  Check("import", import);
  // The status minus what depends on the test's machine (the home's path).
  json status = Run("status", kImportAt);
  status.erase("replica");
  Check("status", status);
  const json list = Run("list", kImportAt);
  Check("list", list);
  ASSERT_EQ(list["proposals"].size(), 6u);
  Check("members", Run("members", kImportAt));
  json shown = json::array();
  for (const auto& p : list["proposals"]) {
    shown.push_back(Run("show " + p["proposal_id"].get<std::string>(), kImportAt));
  }
  Check("show", shown);
  Check("tally_round1", Run("tally --as-of " + std::to_string(kAsOf1), kImportAt));
  Check("tally_round2", Run("tally --as-of " + std::to_string(kAsOf2), kImportAt));
  json explained = json::array();
  for (const auto& p : list["proposals"]) {
    explained.push_back(
        Run("audit " + p["proposal_id"].get<std::string>() + " --as-of " + std::to_string(kAsOf2),
            kImportAt));
  }
  Check("audit", explained);
  // Rebuilding from the events alone and re-verifying give the same digest.
  const json rebuilt = Run("rebuild", kImportAt);
  EXPECT_EQ(rebuilt["digest"], status["digest"]);
  const json verified = Run("verify", kImportAt);
  EXPECT_EQ(verified["digest"], status["digest"]);
  EXPECT_TRUE(verified["derived_state_matches"].get<bool>());
}

}  // namespace
}  // namespace polder
