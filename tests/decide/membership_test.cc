// Who counts (tally.h "Who counts", docs/protocol.md §6): members are admitted into the circle's
// listed organisations only, and by members of two organisations (by default), so that no one
// member can mint voters.
#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "tests/decide/tally_testutil.h"

namespace polder::decide::testing {
namespace {

// The rules of a circle of Org0 (the founder Ana's: "North" in the issue), South and East, with
// the default of `polder circle create`: members of two organisations admit a newcomer.
v1::DecisionRules PartnerRules() {
  v1::DecisionRules r;
  r.add_organisations("South");
  r.add_organisations("East");
  r.set_admission_organisations(2);
  return r;
}

bool Counts(const TallyResult& r, std::size_t round, const MemberKey& who) {
  const auto& e = r.rounds.at(round).eligible;
  return std::find(e.begin(), e.end(), who) != e.end();
}

const MemberStanding& StandingOf(const std::vector<MemberStanding>& all, const MemberKey& who) {
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& s) { return s.key == who; });
  EXPECT_NE(it, all.end());
  return *it;
}

// The attack: Ana (North) founds a circle with partners from South and East, then alone
// admits keys under made-up organisations and under her own; they vote for her proposal of 90 %
// of the pool, both partners vote against. Before, each admission by Ana alone made a voter and the
// proposal was funded 6 : 2.
TEST(Membership, OneMemberAdmittingSybilsMintsNoVoters) {
  Circle c(10'000, PartnerRules());
  const MemberKey ana = c.founder();
  const MemberKey ben = c.Admit("Ben", "South", kT0);  // only Org0 has a member: Ana suffices
  const MemberKey cy = c.AdmitBy(ben, "Cy", "East", kT0 + 1);
  c.Admit("Cy", "East", kT0 + 1);  // Ana too: Org0 and South have admitted Cy
  std::vector<MemberKey> sybils;
  for (const char* org : {"Fake1", "Fake2", "Fake3", "Org0", "Org0"}) {
    sybils.push_back(c.Admit("sybil" + std::to_string(sybils.size()), org, kT0 + 2));
  }
  const EventId p = c.Propose(ana, 9'000, kDeadline, "", kT0 + 3);
  c.Vote(ana, p, v1::FOR, kT0 + 4);
  for (const auto& s : sybils) c.Vote(s, p, v1::FOR, kT0 + 4);
  c.Vote(ben, p, v1::AGAINST, kT0 + 4);
  c.Vote(cy, p, v1::AGAINST, kT0 + 4);

  const TallyResult r = c.Run();
  const ProposalOutcome o = Find(r, p);
  EXPECT_EQ(o.status, Status::kNotFunded);
  EXPECT_EQ(o.explanation.eligible_members, 3u);
  EXPECT_EQ(o.explanation.for_count, 1u);
  EXPECT_EQ(o.explanation.against_count, 2u);
  EXPECT_EQ(r.allocated_minor, Money(0));
  for (const auto& s : sybils) EXPECT_FALSE(Counts(r, 0, s));
  EXPECT_TRUE(Counts(r, 0, cy));

  const auto standings = Standings(c.State(), r.rules_now, kAfter);
  EXPECT_TRUE(StandingOf(standings, cy).eligible);
  EXPECT_EQ(StandingOf(standings, cy).admitted_by, (std::vector<MemberKey>{ben, ana}));
  const auto& fake = StandingOf(standings, sybils[0]);
  EXPECT_FALSE(fake.eligible);
  EXPECT_EQ(fake.why_not, "organisation \"Fake1\" is not one of the circle's");
  const auto& north = StandingOf(standings, sybils[3]);
  EXPECT_FALSE(north.eligible);
  EXPECT_EQ(north.admitted_by, (std::vector<MemberKey>{ana}));
  EXPECT_EQ(north.why_not, "admitted by eligible members of 1 organisation; 2 needed");
  ExpectTheSameInAnyOrder(c, r, 41);
}

// While only Ana's organisation had members, Ana alone admitted; an admission she signs after
// admitting Ben (South) with the same timestamp still counts after Ben's, whatever its id.
// Before, admissions with one timestamp counted in id order, so she could have minted voters
// by trying ids until one sorted first.
TEST(Membership, AnAdmissionSignedLaterWithTheSameTimestampCountsAfterTheEarlierOnes) {
  Circle c(10'000, PartnerRules());
  const MemberKey ben = c.Admit("Ben", "South", kT0 + 5);
  std::vector<MemberKey> same_time;
  for (int i = 0; i < 12; ++i)
    same_time.push_back(c.Admit("s" + std::to_string(i), "Org0", kT0 + 5));
  const auto standings = Standings(c.State(), c.Run().rules_now, kAfter);
  EXPECT_TRUE(StandingOf(standings, ben).eligible);
  for (const auto& s : same_time) EXPECT_FALSE(StandingOf(standings, s).eligible);
  ExpectTheSameInAnyOrder(c, c.Run(), 44);
}

// A second organisation's admission makes the newcomer count, from that admission's timestamp.
TEST(Membership, ANewcomerCountsOnceMembersOfTwoOrganisationsAdmittedThem) {
  Circle c(10'000, PartnerRules());
  const MemberKey ben = c.Admit("Ben", "South", kT0);
  const MemberKey dee = c.Admit("Dee", "Org0", kT0 + 1);  // Ana alone: Org0 only
  const EventId p = c.Propose(ben, 100, kDeadline, "", kT0 + 2);
  const EventId later = c.Propose(ben, 100, kDeadline + 1'000, "", kT0 + 2);
  c.Vote(dee, p, v1::FOR, kT0 + 3);
  c.Vote(dee, later, v1::FOR, kT0 + 3);
  c.AdmitBy(ben, "Dee", "Org0", kDeadline + 500);  // South admits Dee after the first deadline
  const TallyResult r = c.Run();
  EXPECT_FALSE(Counts(r, 0, dee));
  EXPECT_EQ(Find(r, p).explanation.for_count, 0u);
  EXPECT_TRUE(Counts(r, 1, dee));
  EXPECT_EQ(Find(r, later).explanation.for_count, 1u);
  ExpectTheSameInAnyOrder(c, r, 42);
}

// While fewer organisations than the rule asks for have a member, every member admits.
TEST(Membership, WhileOneOrganisationHasMembersEveryMemberMustAdmit) {
  Circle c(10'000, PartnerRules());
  const MemberKey ana = c.founder();
  const MemberKey al = c.Admit("Al", "Org0", kT0);         // Ana is every member: counts
  const MemberKey ben = c.Admit("Ben", "South", kT0 + 1);  // Ana without Al: does not count
  const TallyResult before = c.Run();
  EXPECT_FALSE(StandingOf(Standings(c.State(), before.rules_now, kAfter), ben).eligible);
  EXPECT_EQ(StandingOf(Standings(c.State(), before.rules_now, kAfter), ben).why_not,
            "admitted by 1 of the 2 eligible members; every one must admit while fewer than 2 "
            "organisations have a member");
  c.AdmitBy(al, "Ben", "South", kT0 + 2);
  const auto after = Standings(c.State(), before.rules_now, kAfter);
  EXPECT_TRUE(StandingOf(after, al).eligible);
  EXPECT_TRUE(StandingOf(after, ben).eligible);
  EXPECT_EQ(StandingOf(after, ben).admitted_by, (std::vector<MemberKey>{ana, al}));
}

// An organisation joins the circle by a rule change; the list never shrinks, whatever a later
// rule change lists.
TEST(Membership, ARuleChangeAddsAnOrganisationForLaterRounds) {
  Circle c(10'000, PartnerRules());
  const MemberKey ben = c.Admit("Ben", "South", kT0);
  const MemberKey cy = c.AdmitBy(ben, "Cy", "East", kT0 + 1);
  c.Admit("Cy", "East", kT0 + 1);
  v1::DecisionRules add_west = PartnerRules();
  add_west.clear_organisations();
  add_west.add_organisations("West");
  const EventId change = c.RuleChange(ben, add_west, kDeadline, kT0 + 2);
  for (const auto& m : {c.founder(), ben, cy}) c.Vote(m, change, v1::FOR, kT0 + 3);
  const MemberKey wes = c.Admit("Wes", "West", kT0 + 4);
  c.AdmitBy(ben, "Wes", "West", kT0 + 4);
  c.Propose(ben, 100, kDeadline, "", kT0 + 5);  // a proposal in each round
  c.Propose(ben, 100, kDeadline + 1'000, "", kT0 + 5);
  const TallyResult r = c.Run();
  EXPECT_EQ(Find(r, change).status, Status::kAdopted);
  EXPECT_FALSE(Counts(r, 0, wes));  // the change applies to rounds after its own
  EXPECT_TRUE(Counts(r, 1, wes));
  EXPECT_EQ(r.rules_now.organisations, (std::vector<std::string>{"East", "Org0", "South", "West"}));
  ExpectTheSameInAnyOrder(c, r, 43);
}

}  // namespace
}  // namespace polder::decide::testing
