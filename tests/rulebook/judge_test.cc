// The rulebook's stateful rules, one by one, against a small in-memory State (the replica and the
// fold answer the same questions from SQLite and from their maps).
#include "storage/rulebook/judge.h"

#include <limits>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "storage/rulebook/checks.h"
#include "storage/rulebook/kind.h"
#include "storage/rulebook/limits.h"

namespace polder::rulebook {
namespace {

using Kind = Verdict::Kind;

MemberKey Key(std::uint8_t b) {
  MemberKey k;
  k.bytes.fill(b);
  return k;
}
EventId Id(std::uint8_t b) {
  EventId id;
  id.bytes.fill(b);
  return id;
}

class MapState : public State {
 public:
  bool charter = true;
  std::map<MemberKey, std::uint64_t> forks;
  std::map<MemberKey, LogHead> heads;  // admitted members
  std::map<EventId, AppliedEvent> applied;
  std::map<EventId, MemberKey> proposal_authors;
  std::map<EventId, FlagParties> flag_parties;
  std::map<MemberKey, MemberRecord> records;
  std::set<std::pair<MemberKey, MemberKey>> links;  // (member, device)
  std::map<MemberKey, MemberKey> device_of;         // device → member (claim placed)

  bool HasCharter() override { return charter; }
  bool Linked(const MemberKey& m, const MemberKey& d) override { return links.count({m, d}) > 0; }
  std::optional<MemberKey> DeviceMember(const MemberKey& d) override { return Find(device_of, d); }
  std::optional<std::uint64_t> ForkSeq(const MemberKey& a) override { return Find(forks, a); }
  std::optional<LogHead> Head(const MemberKey& m) override { return Find(heads, m); }
  std::optional<AppliedEvent> Applied(const EventId& id) override { return Find(applied, id); }
  std::optional<MemberKey> ProposalAuthor(const EventId& p) override {
    return Find(proposal_authors, p);
  }
  std::optional<FlagParties> PartiesOf(const EventId& f) override { return Find(flag_parties, f); }
  std::optional<MemberRecord> RecordOf(const MemberKey& m) override { return Find(records, m); }

 private:
  template <class M, class K>
  static std::optional<typename M::mapped_type> Find(const M& m, const K& k) {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }
};

const MemberKey kAna = Key(1), kBen = Key(2), kCy = Key(3), kStranger = Key(9);
const EventId kProposal = Id(0x50), kFlag = Id(0x51), kVoided = Id(0x52), kAnaHead = Id(0xa1);
// A flag placed in its author's log whose proposal is not held: its effect awaits.
const EventId kAwaitingFlag = Id(0x53);

class JudgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s.heads[kAna] = LogHead{3, kAnaHead, 1000};
    s.heads[kBen] = LogHead{0, {}, 0};
    s.heads[kCy] = LogHead{0, {}, 0};
    s.applied[kProposal] = {v1::EventBody::kProposal, false};
    s.applied[kFlag] = {v1::EventBody::kRiskFlag, false};
    s.applied[kVoided] = {v1::EventBody::kProposal, true};
    s.applied[kAwaitingFlag] = {v1::EventBody::kRiskFlag, false, true};
    s.proposal_authors[kProposal] = kBen;
    s.flag_parties[kFlag] = FlagParties{kCy, kBen};
    s.records[kAna] = MemberRecord{Id(0x01), true, true};
    s.records[kBen] = MemberRecord{Id(0x80), false};
  }
  // Ana's next event (seq 4, linked to her head) with `fill` applied.
  v1::EventBody Next(const std::function<void(v1::EventBody&)>& fill, const MemberKey& who = kAna) {
    v1::EventBody b;
    b.set_author(who.str());
    const auto head = s.heads.count(who) ? s.heads[who] : LogHead{};
    b.set_seq(head.seq + 1);
    if (head.seq > 0) b.set_prev(head.id.str());
    b.set_timestamp_ms(2000);
    fill(b);
    return b;
  }
  Verdict J(const v1::EventBody& b, const MemberKey& who = kAna, EventId id = Id(0x77)) {
    return Judge(id, who, b, s);
  }
  MapState s;
};

TEST_F(JudgeTest, AnAdmittedMembersNextEventApplies) {
  EXPECT_EQ(J(Next([](auto& b) { b.mutable_comment()->set_text("hi"); })).kind, Kind::kApply);
}

TEST_F(JudgeTest, AnEventAtOrBeyondItsAuthorsForkIsFrozen) {
  s.forks[kAna] = 4;
  const auto v = J(Next([](auto& b) { b.mutable_comment()->set_text("hi"); }));
  EXPECT_EQ(v.kind, Kind::kWait);
  EXPECT_EQ(v.awaited.what, Awaited::What::kFork);
  EXPECT_EQ(Describe(v.awaited), "author's log is frozen there (a fork, or a revoked device)");
  s.forks[kAna] = 5;  // a fork further on does not hold this one back
  EXPECT_EQ(J(Next([](auto& b) { b.mutable_comment()->set_text("hi"); })).kind, Kind::kApply);
}

TEST_F(JudgeTest, AStrangersEventWaitsForTheirAdmission) {
  const auto v =
      J(Next([](auto& b) { b.mutable_comment()->set_text("hi"); }, kStranger), kStranger);
  EXPECT_EQ(v.kind, Kind::kWait);
  EXPECT_EQ(v.awaited.what, Awaited::What::kAdmission);
  EXPECT_EQ(v.awaited.key, kStranger.bytes);
  EXPECT_NE(Describe(v.awaited).find("not yet admitted"), std::string::npos);
}

TEST_F(JudgeTest, AnEventNotLinkedToTheHeadWaitsForThePreviousEvent) {
  auto b = Next([](auto& b) { b.mutable_comment()->set_text("hi"); });
  b.set_seq(6);
  b.set_prev(Id(0xee).str());
  auto v = J(b);
  ASSERT_EQ(v.kind, Kind::kWait);
  EXPECT_EQ(v.awaited.key, Id(0xee).bytes);
  EXPECT_EQ(v.awaited.seq, 5u);
  b.set_seq(4);  // the right seq, another prev: a sibling of the head's successor
  v = J(b);
  EXPECT_EQ(v.kind, Kind::kWait);
  EXPECT_EQ(Describe(v.awaited),
            "previous event " + Id(0xee).hex().substr(0, 12) + " (seq 3) not yet held");
}

TEST_F(JudgeTest, ASequenceNumberAlreadyAppliedIsRefused) {
  auto b = Next([](auto& b) { b.mutable_comment()->set_text("hi"); });
  b.set_seq(3);
  EXPECT_EQ(J(b).kind, Kind::kRefuse);
}

TEST_F(JudgeTest, AnEarlierTimestampThanTheHeadsIsVoid) {
  auto b = Next([](auto& b) { b.mutable_comment()->set_text("hi"); });
  b.set_timestamp_ms(999);
  const auto v = J(b);
  EXPECT_EQ(v.kind, Kind::kVoid);
  EXPECT_EQ(v.refusal->code, RefusalCode::kTimestampRegression);
}

TEST_F(JudgeTest, AVoteOnAProposalNotHeldTakesItsPlaceAndAwaitsItAndIsVoidOnAnythingElse) {
  auto vote = [&](const EventId& on) {
    return J(Next([&](auto& b) {
      b.mutable_vote()->set_proposal(on.str());
      b.mutable_vote()->set_choice(v1::FOR);
    }));
  };
  EXPECT_EQ(vote(kProposal).kind, Kind::kApply);
  // Placed in Ana's log (nothing another member does can hold her log up); its effect awaits.
  const auto unknown = vote(Id(0x99));
  EXPECT_EQ(unknown.kind, Kind::kAwait);
  EXPECT_EQ(unknown.awaited.what, Awaited::What::kEvent);
  // Decided once the proposal has taken effect.
  EXPECT_EQ(JudgeEffect(Id(0x77), kAna, Next([&](auto& b) {
                          b.mutable_vote()->set_proposal(kProposal.str());
                          b.mutable_vote()->set_choice(v1::FOR);
                        }),
                        s)
                .kind,
            Kind::kApply);
  EXPECT_EQ(Describe(unknown.awaited),
            "proposal " + Id(0x99).hex().substr(0, 12) + " not yet held");
  EXPECT_EQ(vote(kFlag).refusal->code, RefusalCode::kBadReference);
  EXPECT_EQ(vote(kVoided).kind, Kind::kVoid);  // a void proposal is no proposal
}

TEST_F(JudgeTest, OnlyTheFlaggerWithdrawsAndOnlyTheProposerAnswersAFlag) {
  auto resolve = [&](const MemberKey& who, v1::FlagResolution::Kind kind) {
    return Judge(Id(0x77), who,
                 Next(
                     [&](auto& b) {
                       b.mutable_flag_resolution()->set_flag(kFlag.str());
                       b.mutable_flag_resolution()->set_kind(kind);
                     },
                     who),
                 s);
  };
  EXPECT_EQ(resolve(kCy, v1::FlagResolution::WITHDRAW).kind, Kind::kApply);
  EXPECT_EQ(resolve(kBen, v1::FlagResolution::WITHDRAW).refusal->code, RefusalCode::kNotAllowed);
  EXPECT_EQ(resolve(kBen, v1::FlagResolution::ANSWER).kind, Kind::kApply);
  EXPECT_EQ(resolve(kCy, v1::FlagResolution::ANSWER).refusal->code, RefusalCode::kNotAllowed);
  EXPECT_EQ(resolve(kAna, v1::FlagResolution::OVERRIDE).kind, Kind::kApply);
}

TEST_F(JudgeTest, OnlyItsAuthorWithdrawsAProposal) {
  auto withdraw = [&](const MemberKey& who) {
    return Judge(Id(0x77), who,
                 Next([&](auto& b) { b.mutable_withdraw()->set_proposal(kProposal.str()); }, who),
                 s);
  };
  EXPECT_EQ(withdraw(kBen).kind, Kind::kApply);
  EXPECT_EQ(withdraw(kAna).refusal->code, RefusalCode::kNotAllowed);
}

TEST_F(JudgeTest, AResolutionAwaitsAFlagWhoseOwnEffectAwaits) {
  const auto v = J(Next([&](auto& b) {
    b.mutable_flag_resolution()->set_flag(kAwaitingFlag.str());
    b.mutable_flag_resolution()->set_kind(v1::FlagResolution::OVERRIDE);
  }));
  EXPECT_EQ(v.kind, Kind::kAwait);
  EXPECT_EQ(v.awaited.key, kAwaitingFlag.bytes);
}

TEST_F(JudgeTest, ACommentMayBeAboutAnyPlacedEventVoidAndAwaitingOnesIncluded) {
  auto comment = [&](const EventId& on) {
    return J(Next([&](auto& b) {
      b.mutable_comment()->set_target(on.str());
      b.mutable_comment()->set_text("hi");
    }));
  };
  EXPECT_EQ(comment(kVoided).kind, Kind::kApply);
  EXPECT_EQ(comment(kFlag).kind, Kind::kApply);
  EXPECT_EQ(comment(kAwaitingFlag).kind, Kind::kApply);
  EXPECT_EQ(comment(Id(0x99)).kind, Kind::kAwait);
}

TEST_F(JudgeTest, ADelegationTakesEffectWhoeverTheDelegateIs) {
  // A delegate who is not an eligible member at a round's cut-off gives no vote (the tally's
  // rule); were the delegation to wait for the admission, a later revocation could take effect
  // before it.
  EXPECT_EQ(J(Next([&](auto& b) { b.mutable_delegation()->set_delegate(kStranger.str()); })).kind,
            Kind::kApply);
  EXPECT_EQ(J(Next([&](auto& b) { b.mutable_delegation()->set_delegate(kBen.str()); })).kind,
            Kind::kApply);
  EXPECT_EQ(J(Next([&](auto& b) { b.mutable_delegation()->set_revoke(true); })).kind, Kind::kApply);
}

TEST_F(JudgeTest, TheRecordOfTheSmallestAdmittingEventStandsAndNeverTheChartersIsReplaced) {
  auto admit = [&](const MemberKey& who, std::uint8_t id) {
    return J(Next([&](auto& b) {
               b.mutable_admit()->set_member(who.str());
               b.mutable_admit()->mutable_info()->set_name("x");
             }),
             kAna, Id(id));
  };
  EXPECT_TRUE(admit(kStranger, 0x90).member_record);      // a first admission
  EXPECT_TRUE(admit(kBen, 0x70).member_record);           // smaller than Ben's record (0x80)
  EXPECT_FALSE(admit(kBen, 0x81).member_record);          // larger
  EXPECT_FALSE(admit(kAna, 0x00).member_record);          // the founder's is the charter's
  s.records[kBen] = MemberRecord{Id(0x01), false, true};  // a founding partner's (rules 10)
  EXPECT_FALSE(admit(kBen, 0x00).member_record);
}

TEST_F(JudgeTest, ACharterFoundsACircleOnceAndOnlyAtSeqOne) {
  v1::EventBody c;
  c.set_author(kStranger.str());
  c.set_seq(1);
  c.set_timestamp_ms(5);
  c.mutable_charter()->set_name("c");
  EXPECT_EQ(J(c, kStranger).kind, Kind::kRefuse);  // the circle has one
  s.charter = false;
  const auto v = J(c, kStranger);
  EXPECT_EQ(v.kind, Kind::kApply);
  EXPECT_TRUE(v.member_record);
  auto late = Next([](auto& b) { b.mutable_charter()->set_name("c"); });
  EXPECT_EQ(J(late).refusal->code, RefusalCode::kBadCharter);  // not at seq 1: void
}

TEST_F(JudgeTest, AppliedEventsUnblockTheirIdAndEffectiveAdmissionsTheMember) {
  v1::EventBody admit;
  admit.set_author(kAna.str());
  admit.mutable_admit()->set_member(kStranger.str());
  EXPECT_EQ(Unblocks(Id(1), admit, true).size(), 2u);
  EXPECT_EQ(Unblocks(Id(1), admit, true)[1], kStranger.bytes);
  EXPECT_EQ(Unblocks(Id(1), admit, false).size(), 1u);  // void: only its id
}

TEST(Classify, DuplicatesEquivocationsAndTheFrozenPartOfALog) {
  const std::vector<EventId> none, one = {Id(1)};
  EXPECT_EQ(Classify(Id(1), 5, std::nullopt, none), Arrival::kNew);
  EXPECT_EQ(Classify(Id(1), 5, std::nullopt, one), Arrival::kDuplicate);
  EXPECT_EQ(Classify(Id(2), 5, std::nullopt, one), Arrival::kEquivocation);
  EXPECT_EQ(Classify(Id(2), 5, 7, one), Arrival::kEquivocation);  // a lower fork
  EXPECT_EQ(Classify(Id(2), 7, 7, one), Arrival::kBeyondFork);    // a third version
  EXPECT_EQ(Classify(Id(2), 9, 7, none), Arrival::kBeyondFork);
  EXPECT_EQ(Classify(Id(1), 9, 7, one), Arrival::kDuplicate);
}

// A well-formed header of an author's second event, for checks of the payload alone.
v1::EventBody SecondEvent() {
  v1::EventBody b;
  b.set_circle_id(std::string(32, 'c'));
  b.set_author(std::string(32, 'a'));
  b.set_seq(2);
  b.set_prev(std::string(32, 'p'));
  b.set_timestamp_ms(1'700'000'000'000);
  return b;
}

// A rule change or charter lists each organisation once, named as a member's organisation is, and
// at most kMaxOrganisations of them.
TEST(CheckBody, OrganisationListsAreBounded) {
  v1::EventBody b = SecondEvent();
  auto* rules = b.mutable_proposal()->mutable_rules();
  b.mutable_proposal()->set_title("Add West");
  b.mutable_proposal()->set_deadline_ms(1'700'000'100'000);
  rules->add_organisations("West");
  rules->add_organisations("East");
  EXPECT_FALSE(CheckBody(b));
  rules->add_organisations("West");
  auto twice = CheckBody(b);
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->code, RefusalCode::kMalformed);
  EXPECT_NE(twice->message.find("listed twice"), std::string::npos) << twice->message;
  rules->set_organisations(2, "");
  EXPECT_TRUE(CheckBody(b));
  rules->set_organisations(2, std::string(kMaxNameBytes + 1, 'x'));
  EXPECT_TRUE(CheckBody(b));
  rules->clear_organisations();
  for (std::size_t i = 0; i <= kMaxOrganisations; ++i) {
    rules->add_organisations("org" + std::to_string(i));
  }
  auto many = CheckBody(b);
  ASSERT_TRUE(many);
  EXPECT_EQ(many->code, RefusalCode::kTooLarge);
  rules->mutable_organisations()->RemoveLast();
  EXPECT_FALSE(CheckBody(b));
}

// Founding partners (rules version 10): 32-byte keys, strictly ascending (each once), never the
// founder, each into one of the charter's organisations (or the founder's), at most
// kMaxFoundingPartners; anything else is a bad charter.
TEST(CheckBody, FoundingPartnersAreListedOnceEachByKeyIntoTheCharterOrganisations) {
  v1::EventBody b;
  b.set_circle_id(std::string(32, 'c'));
  b.set_author(std::string(32, 'f'));
  b.set_seq(1);
  b.set_timestamp_ms(1'700'000'000'000);
  auto* c = b.mutable_charter();
  c->set_name("c");
  c->set_purpose("p");
  c->set_unit("EUR");
  c->set_salt(std::string(16, 's'));
  c->mutable_founder()->set_name("F");
  c->mutable_founder()->set_organisation("North");
  c->mutable_rules()->add_organisations("South");
  auto add = [&](char key, const std::string& org) {
    auto* p = c->add_partners();
    p->set_member(std::string(32, key));
    p->mutable_info()->set_name(std::string("partner ") + key);
    p->mutable_info()->set_organisation(org);
  };
  add('a', "South");
  add('b', "North");  // the founder's organisation is the circle's
  EXPECT_FALSE(CheckBody(b));
  auto bad = [&](const char* why) {
    auto r = CheckBody(b);
    ASSERT_TRUE(r) << why;
    EXPECT_EQ(r->code, RefusalCode::kBadCharter) << why << ": " << r->message;
  };
  c->mutable_partners(1)->set_member(std::string(32, 'a'));
  bad("listed twice");
  c->mutable_partners(1)->set_member(std::string(32, '0'));
  bad("out of order");
  c->mutable_partners(1)->set_member(std::string(32, 'f'));
  bad("the founder");
  c->mutable_partners(1)->set_member(std::string(31, 'b'));
  bad("a key of 31 bytes");
  c->mutable_partners(1)->set_member(std::string(32, 'b'));
  c->mutable_partners(1)->mutable_info()->set_organisation("West");
  bad("an organisation the charter does not list");
  c->mutable_partners(1)->mutable_info()->set_organisation("North");
  EXPECT_FALSE(CheckBody(b));
  c->clear_partners();
  for (std::size_t i = 0; i <= kMaxFoundingPartners; ++i) {
    auto* p = c->add_partners();
    std::string key(32, '\x01');
    key[30] = static_cast<char>(i / 256);
    key[31] = static_cast<char>(i % 256);
    p->set_member(key);
    p->mutable_info()->set_name("p");
    p->mutable_info()->set_organisation("South");
  }
  bad("one too many");
  c->mutable_partners()->RemoveLast();
  EXPECT_FALSE(CheckBody(b));
}

// A late-flag window is 0 (the default) to 90 days: never negative, never so long that a moved
// deadline could overflow.
TEST(CheckBody, LateFlagWindowsAreBounded) {
  v1::EventBody b = SecondEvent();
  b.mutable_proposal()->set_title("Longer window");
  b.mutable_proposal()->set_deadline_ms(1'700'000'100'000);
  auto* rules = b.mutable_proposal()->mutable_rules();
  for (std::int64_t ok : {std::int64_t{0}, std::int64_t{1}, kMaxLateFlagWindowMs}) {
    rules->set_late_flag_window_ms(ok);
    EXPECT_FALSE(CheckBody(b)) << ok;
  }
  for (std::int64_t bad :
       {std::int64_t{-1}, kMaxLateFlagWindowMs + 1, std::numeric_limits<std::int64_t>::max()}) {
    rules->set_late_flag_window_ms(bad);
    auto r = CheckBody(b);
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->code, RefusalCode::kMalformed);
    EXPECT_NE(r->message.find("late-flag window"), std::string::npos) << r->message;
  }
}

// A removal names another member's 32-byte key and says why; a removal share is a share.
TEST(CheckBody, RemovalsNameAnotherMemberAndAReason) {
  v1::EventBody b = SecondEvent();
  b.mutable_removal()->set_member(std::string(32, 'm'));
  b.mutable_removal()->set_reason("left the partnership");
  EXPECT_FALSE(CheckBody(b));
  b.mutable_removal()->set_member(std::string(31, 'm'));
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kMalformed);
  b.mutable_removal()->set_member(b.author());
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kNotAllowed);
  b.mutable_removal()->set_member(std::string(32, 'm'));
  b.mutable_removal()->clear_reason();
  EXPECT_TRUE(CheckBody(b));
  b.mutable_removal()->set_reason(std::string(kMaxTextBytes + 1, 'x'));
  EXPECT_TRUE(CheckBody(b));

  v1::EventBody change = b;
  change.mutable_proposal()->set_title("Removal by 90 %");
  change.mutable_proposal()->set_deadline_ms(1'700'000'100'000);
  change.mutable_proposal()->mutable_rules()->set_removal_bps(9'000);
  EXPECT_FALSE(CheckBody(change));
  change.mutable_proposal()->mutable_rules()->set_removal_bps(10'001);
  EXPECT_EQ(CheckBody(change)->code, RefusalCode::kMalformed);
}

// A network key rotation: a 32-byte key id and 1 to kMaxKeyBoxes boxes, ascending by recipient,
// each an 80-byte sealed key.
TEST(CheckBody, NetworkKeysAreBounded) {
  v1::EventBody b = SecondEvent();
  auto* k = b.mutable_network_key();
  k->set_key_id(std::string(32, 'k'));
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kTooLarge) << "no recipient";
  for (char r : {'a', 'b'}) {
    auto* box = k->add_boxes();
    box->set_recipient(std::string(32, r));
    box->set_sealed(std::string(kSealedKeyBytes, 's'));
  }
  EXPECT_FALSE(CheckBody(b));
  k->mutable_boxes(1)->set_recipient(std::string(32, 'a'));
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kMalformed) << "not ascending";
  k->mutable_boxes(1)->set_recipient(std::string(32, 'b'));
  k->mutable_boxes(1)->set_sealed(std::string(kSealedKeyBytes + 1, 's'));
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kMalformed) << "sealed key size";
  k->mutable_boxes(1)->set_sealed(std::string(kSealedKeyBytes, 's'));
  k->set_key_id(std::string(31, 'k'));
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kMalformed) << "key id";
  k->set_key_id(std::string(32, 'k'));
  k->clear_boxes();
  for (std::size_t i = 0; i <= kMaxKeyBoxes; ++i) {
    auto* box = k->add_boxes();
    std::string r(32, '\0');
    r[0] = static_cast<char>(i >> 8);
    r[1] = static_cast<char>(i & 0xff);
    box->set_recipient(r);
    box->set_sealed(std::string(kSealedKeyBytes, 's'));
  }
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kTooLarge);
  k->mutable_boxes()->RemoveLast();
  EXPECT_FALSE(CheckBody(b));
}

// A paged seal: a part number below the number of parts, at most kMaxSealParts parts, and heads
// in every part.
TEST(CheckBody, SealPartsAreBounded) {
  v1::EventBody b = SecondEvent();
  auto* seal = b.mutable_seal();
  seal->set_deadline_ms(b.timestamp_ms() - 1);
  auto* h = seal->add_heads();
  h->set_author(std::string(32, 'x'));
  h->set_seq(1);
  h->set_head(std::string(32, 'h'));
  EXPECT_FALSE(CheckBody(b));
  seal->set_parts(3);
  seal->set_part(2);
  EXPECT_FALSE(CheckBody(b));
  seal->set_part(3);
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kMalformed);
  seal->set_parts(0);
  seal->set_part(1);
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kMalformed);
  seal->set_parts(kMaxSealParts + 1);
  seal->set_part(0);
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kTooLarge);
  seal->set_parts(2);
  seal->clear_heads();
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kMalformed);
  // A base (rules version 9) is a 32-byte seal id; a seal on one may list nothing.
  seal->set_parts(0);
  seal->set_part(0);
  seal->set_base(std::string(31, 'b'));
  EXPECT_EQ(CheckBody(b)->code, RefusalCode::kMalformed);
  seal->set_base(std::string(32, 'b'));
  EXPECT_FALSE(CheckBody(b));
}

TEST(KindNames, RoundTrip) {
  for (int k = v1::EventBody::kCharter; k <= v1::EventBody::kNetworkKey; ++k) {
    const auto kind = static_cast<rulebook::Kind>(k);
    EXPECT_EQ(KindNamed(KindName(kind)), kind);
  }
  EXPECT_FALSE(KindNamed("unknown"));
  EXPECT_FALSE(KindNamed(""));
}

}  // namespace
}  // namespace polder::rulebook
