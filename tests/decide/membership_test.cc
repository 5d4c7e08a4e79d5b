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

// Ana (Org0), Ben (South), Cy (East) and Dee (South), every one eligible.
struct FourPartners {
  Circle c{10'000, PartnerRules()};
  MemberKey ana = c.founder();
  MemberKey ben = c.Admit("Ben", "South", kT0);
  MemberKey cy = [this] {
    c.Admit("Cy", "East", kT0 + 1);
    return c.AdmitBy(ben, "Cy", "East", kT0 + 1);
  }();
  MemberKey dee = [this] {
    c.Admit("Dee", "South", kT0 + 2);
    return c.AdmitBy(cy, "Dee", "South", kT0 + 2);
  }();
};

// Two of the three others (at least 66.66 %, the default) remove Dee. A round whose cut-off came
// before the removal keeps her vote; in a later round she counts for nothing, her vote timestamped
// before the removal included, and is not in the quorum's denominator.
TEST(Removal, TwoThirdsOfTheOthersRemoveAMemberFromLaterRounds) {
  FourPartners f;
  Circle& c = f.c;
  const EventId early = c.Propose(f.ben, 100, kT0 + 1'000, "", kT0 + 3);
  const EventId later = c.Propose(f.ben, 100, kDeadline, "", kT0 + 3);
  c.Vote(f.dee, early, v1::FOR, kT0 + 10);
  c.Vote(f.dee, later, v1::FOR, kT0 + 10);
  c.Remove(f.ana, f.dee, kT0 + 2'000);
  const TallyResult one = c.Run();
  EXPECT_TRUE(Counts(one, 1, f.dee));  // one of the three others: not yet
  c.Remove(f.ben, f.dee, kT0 + 2'001);
  const TallyResult r = c.Run();
  EXPECT_TRUE(Counts(r, 0, f.dee));
  EXPECT_EQ(Find(r, early).explanation.for_count, 1u);
  EXPECT_FALSE(Counts(r, 1, f.dee));
  EXPECT_EQ(Find(r, later).explanation.for_count, 0u);
  EXPECT_EQ(Find(r, later).explanation.eligible_members, 3u);
  const auto standings = Standings(c.State(), r.rules_now, kAfter);
  const auto& dee = StandingOf(standings, f.dee);
  EXPECT_FALSE(dee.eligible);
  EXPECT_TRUE(dee.removed);
  EXPECT_EQ(dee.removed_by, (std::vector<MemberKey>{f.ana, f.ben}));
  EXPECT_EQ(dee.why_not, "removed by 2 members");
  ExpectTheSameInAnyOrder(c, r, 51);
}

// No one member removes another, however small the circle: with two members, neither can.
TEST(Removal, OneMemberCannotRemoveAnother) {
  FourPartners f;
  f.c.Remove(f.ana, f.ben, kT0 + 5);
  f.c.Remove(f.ana, f.ben, kT0 + 6);  // twice is still one member
  const auto standings = Standings(f.c.State(), f.c.Run().rules_now, kAfter);
  const auto& ben = StandingOf(standings, f.ben);
  EXPECT_TRUE(ben.eligible);
  EXPECT_FALSE(ben.removed);
  EXPECT_EQ(ben.removed_by, (std::vector<MemberKey>{f.ana}));

  Circle two(10'000, PartnerRules());
  const MemberKey bo = two.Admit("Bo", "South", kT0);
  two.Remove(two.founder(), bo, kT0 + 5);
  EXPECT_TRUE(StandingOf(Standings(two.State(), two.Run().rules_now, kAfter), bo).eligible);
}

// A removed key counts for nothing again: admitting it anew does not bring it back, and what it
// signs after its removal — admissions, removals — counts for nothing, whatever the timestamp
// says once it is past the removal.
TEST(Removal, ARemovedKeyNeverCountsAgainAndItsLaterActsCountForNothing) {
  FourPartners f;
  Circle& c = f.c;
  c.Remove(f.ana, f.dee, kT0 + 100);
  c.Remove(f.cy, f.dee, kT0 + 101);
  c.Admit("Dee", "South", kT0 + 200);  // admitted again by Org0 and East
  c.AdmitBy(f.cy, "Dee", "South", kT0 + 200);
  const MemberKey eve = c.AdmitBy(f.dee, "Eve", "East", kT0 + 300);  // Dee's admission: void
  c.Admit("Eve", "East", kT0 + 300);
  c.Remove(f.dee, f.ben, kT0 + 400);  // Dee's removal of Ben: void, Cy's alone does not remove
  c.Remove(f.cy, f.ben, kT0 + 401);
  const TallyResult r = c.Run();
  const auto standings = Standings(c.State(), r.rules_now, kAfter);
  EXPECT_TRUE(StandingOf(standings, f.dee).removed);
  EXPECT_FALSE(StandingOf(standings, f.dee).eligible);
  EXPECT_FALSE(StandingOf(standings, eve).eligible);  // Ana (Org0) alone admitted her
  EXPECT_TRUE(StandingOf(standings, f.ben).eligible);
  ExpectTheSameInAnyOrder(c, r, 52);
}

// A removed member's flag no longer blocks a later round's proposal; before, any admitted key's
// flag did (the issue: flags count only from eligible members).
TEST(Removal, ARemovedMembersFlagDoesNotBlock) {
  FourPartners f;
  Circle& c = f.c;
  const EventId p = c.Propose(f.ben, 1'000, kDeadline, "", kT0 + 3);
  c.Flag(f.dee, p, v1::CRITICAL, kT0 + 4);
  for (const auto& m : {f.ana, f.ben, f.cy}) c.Vote(m, p, v1::FOR, kT0 + 5);
  EXPECT_EQ(Find(c.Run(), p).reason, Reason::kBlockedByFlag);
  c.Remove(f.ana, f.dee, kT0 + 6);
  c.Remove(f.cy, f.dee, kT0 + 7);
  const TallyResult r = c.Run();
  EXPECT_EQ(Find(r, p).status, Status::kFunded);
  ExpectTheSameInAnyOrder(c, r, 53);
}

// Removals wait for support counted among those eligible when the last one is signed: once Cy
// is removed, two of the three left is enough to remove Dee too, with no further removal signed.
TEST(Removal, ARemovalCompletesWhenTheCircleShrinks) {
  FourPartners f;
  Circle& c = f.c;
  const MemberKey eve = c.Admit("Eve", "East", kT0 + 3);
  c.AdmitBy(f.ben, "Eve", "East", kT0 + 3);
  // Five members: removing Dee needs 3 of the 4 others; Ana and Ben support it.
  c.Remove(f.ana, f.dee, kT0 + 10);
  c.Remove(f.ben, f.dee, kT0 + 11);
  EXPECT_FALSE(StandingOf(Standings(c.State(), c.Run().rules_now, kAfter), f.dee).removed);
  // Ana, Ben and Eve remove Cy (3 of 4); then Dee's removal has 2 of the 3 others.
  c.Remove(f.ana, f.cy, kT0 + 20);
  c.Remove(f.ben, f.cy, kT0 + 21);
  c.Remove(eve, f.cy, kT0 + 22);
  const TallyResult r = c.Run();
  const auto standings = Standings(c.State(), r.rules_now, kAfter);
  EXPECT_TRUE(StandingOf(standings, f.cy).removed);
  EXPECT_TRUE(StandingOf(standings, f.dee).removed);
  EXPECT_TRUE(StandingOf(standings, eve).eligible);
  ExpectTheSameInAnyOrder(c, r, 54);
}

}  // namespace
}  // namespace polder::decide::testing
