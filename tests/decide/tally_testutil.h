// Helpers for the tally tests: a circle built event by event (chained logs, ids = BLAKE2b of the
// body, as the replica would hold them), the outcome of one proposal, and a flagged proposal.
#pragma once

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "node/decide/fold.h"
#include "node/decide/tally.h"
#include "tests/testutil/circle.h"

namespace polder::decide::testing {

inline constexpr std::int64_t kT0 = 1'700'000'000'000;
inline constexpr std::int64_t kDeadline = kT0 + 10'000;
inline constexpr std::int64_t kAfter = kT0 + 100'000;  // every proposal closed

// Builds a circle's events with protobuf directly: chained logs, ids = BLAKE2b of the body.
class Circle {
 public:
  // `partners`: founding partners the charter lists, as (name, organisation); each is a member
  // from the charter on, with key Key(name).
  explicit Circle(std::int64_t pool_minor = 1000, v1::DecisionRules rules = {},
                  const std::vector<std::pair<std::string, std::string>>& partners = {}) {
    founder_ = Key("founder");
    circle_.assign(32, 'c');
    v1::EventBody b = Body(founder_, kT0);
    auto* c = b.mutable_charter();
    c->set_name("test circle");
    c->set_pool_minor(pool_minor);
    c->set_unit("EUR");
    c->set_decimals(2);
    *c->mutable_rules() = rules;
    // The organisations the tests admit into; each newcomer admitted by one member unless the
    // test asks for more.
    if (rules.organisations().empty()) {
      for (const char* o : testutil::kTestOrganisations) c->mutable_rules()->add_organisations(o);
    }
    if (rules.admission_organisations() == 0) c->mutable_rules()->set_admission_organisations(1);
    // Flags in these tests come seconds before the deadline: a window of one second keeps them
    // out of the late-flag window (tally.h "Risk gating") unless a test sets one.
    if (rules.late_flag_window_ms() == 0) c->mutable_rules()->set_late_flag_window_ms(1000);
    c->mutable_founder()->set_name("founder");
    c->mutable_founder()->set_organisation("Org0");
    std::vector<std::pair<MemberKey, std::pair<std::string, std::string>>> sorted;
    for (const auto& p : partners) sorted.push_back({Key(p.first), p});
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [key, p] : sorted) {
      auto* fm = c->add_partners();
      fm->set_member(key.str());
      fm->mutable_info()->set_name(p.first);
      fm->mutable_info()->set_organisation(p.second);
    }
    Push(founder_, std::move(b));
  }

  static MemberKey Key(const std::string& name) {
    auto d = crypto::Blake2b256(AsBytes(name));
    return *MemberKey::FromBytes(d.view());
  }

  const MemberKey& founder() const { return founder_; }

  MemberKey Admit(const std::string& name, const std::string& org, std::int64_t ts = kT0) {
    const MemberKey k = Key(name);
    v1::EventBody b = Body(founder_, ts);
    b.mutable_admit()->set_member(k.str());
    b.mutable_admit()->mutable_info()->set_name(name);
    b.mutable_admit()->mutable_info()->set_organisation(org);
    Push(founder_, std::move(b));
    return k;
  }

  EventId Propose(const MemberKey& who, std::int64_t amount_minor,
                  std::int64_t deadline = kDeadline, const std::string& topic = "",
                  std::int64_t ts = kT0 + 1) {
    v1::EventBody b = Body(who, ts);
    auto* p = b.mutable_proposal();
    p->set_title("proposal " + std::to_string(++proposals_));
    p->set_amount_minor(amount_minor);
    p->set_deadline_ms(deadline);
    p->set_topic(topic);
    return Push(who, std::move(b));
  }

  EventId Vote(const MemberKey& who, const EventId& p, v1::Choice c, std::int64_t ts = kT0 + 10) {
    v1::EventBody b = Body(who, ts);
    b.mutable_vote()->set_proposal(p.str());
    b.mutable_vote()->set_choice(c);
    return Push(who, std::move(b));
  }

  EventId Flag(const MemberKey& who, const EventId& p, v1::Severity s, std::int64_t ts = kT0 + 5) {
    v1::EventBody b = Body(who, ts);
    b.mutable_risk_flag()->set_proposal(p.str());
    b.mutable_risk_flag()->set_severity(s);
    b.mutable_risk_flag()->set_category("finance");
    b.mutable_risk_flag()->set_rationale("why");
    return Push(who, std::move(b));
  }

  EventId Resolve(const MemberKey& who, const EventId& flag, v1::FlagResolution::Kind kind,
                  std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_flag_resolution()->set_flag(flag.str());
    b.mutable_flag_resolution()->set_kind(kind);
    if (kind == v1::FlagResolution::ANSWER) b.mutable_flag_resolution()->set_mitigation("plan");
    return Push(who, std::move(b));
  }

  EventId Endorse(const MemberKey& who, const EventId& p, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_endorsement()->set_proposal(p.str());
    return Push(who, std::move(b));
  }

  EventId Delegate(const MemberKey& who, const MemberKey& to, const std::string& topic = "",
                   std::int64_t ts = kT0 + 2) {
    v1::EventBody b = Body(who, ts);
    b.mutable_delegation()->set_delegate(to.str());
    b.mutable_delegation()->set_topic(topic);
    return Push(who, std::move(b));
  }

  EventId Revoke(const MemberKey& who, const std::string& topic, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_delegation()->set_topic(topic);
    b.mutable_delegation()->set_revoke(true);
    return Push(who, std::move(b));
  }

  // `who` supports removing `member`.
  EventId Remove(const MemberKey& who, const MemberKey& member, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_removal()->set_member(member.str());
    b.mutable_removal()->set_reason("broke the charter");
    return Push(who, std::move(b));
  }

  EventId Withdraw(const MemberKey& who, const EventId& p, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_withdraw()->set_proposal(p.str());
    return Push(who, std::move(b));
  }

  // A member admitted by `by` (not the founder).
  MemberKey AdmitBy(const MemberKey& by, const std::string& name, const std::string& org,
                    std::int64_t ts) {
    const MemberKey k = Key(name);
    v1::EventBody b = Body(by, ts);
    b.mutable_admit()->set_member(k.str());
    b.mutable_admit()->mutable_info()->set_name(name);
    b.mutable_admit()->mutable_info()->set_organisation(org);
    Push(by, std::move(b));
    return k;
  }

  // A seal by `who` of the round `deadline`, naming every log as built so far (what a node that
  // holds every event so far would seal).
  EventId Seal(const MemberKey& who, std::int64_t deadline, std::int64_t ts) {
    return SealNaming(who, deadline, ts, heads_);
  }

  // `member` links the device key named `device` (which is returned).
  MemberKey LinkDevice(const MemberKey& member, const std::string& device, std::int64_t ts) {
    const MemberKey d = Key(device);
    v1::EventBody b = Body(member, ts);
    b.mutable_device_link()->set_device(d.str());
    Push(member, std::move(b));
    return d;
  }

  // The device's first event: it acts for `member`.
  EventId ClaimDevice(const MemberKey& device, const MemberKey& member, std::int64_t ts) {
    v1::EventBody b = Body(device, ts);
    b.mutable_device_claim()->set_member(member.str());
    return Push(device, std::move(b));
  }

  // `member` revokes `device`, whose events after `last_seq` then count for nothing.
  EventId RevokeDevice(const MemberKey& member, const MemberKey& device, std::uint64_t last_seq,
                       std::int64_t ts) {
    v1::EventBody b = Body(member, ts);
    b.mutable_device_link()->set_device(device.str());
    b.mutable_device_link()->set_revoke(true);
    b.mutable_device_link()->set_last_seq(last_seq);
    return Push(member, std::move(b));
  }

  EventId RuleChange(const MemberKey& who, const v1::DecisionRules& rules, std::int64_t deadline,
                     std::int64_t ts = kT0 + 1) {
    v1::EventBody b = Body(who, ts);
    auto* p = b.mutable_proposal();
    p->set_title("rule change " + std::to_string(++proposals_));
    p->set_deadline_ms(deadline);
    *p->mutable_rules() = rules;
    return Push(who, std::move(b));
  }

  EventId Comment(const MemberKey& who, const std::string& text, std::int64_t ts) {
    v1::EventBody b = Body(who, ts);
    b.mutable_comment()->set_text(text);
    return Push(who, std::move(b));
  }

  // A second, different event at `who`'s last seq: an equivocation.
  void Fork(const MemberKey& who) {
    const auto& h = heads_.at(who);
    v1::EventBody b;
    b.set_circle_id(circle_);
    b.set_author(who.str());
    b.set_seq(h.seq);
    b.set_prev(h.prev);
    b.set_timestamp_ms(h.ts);
    b.mutable_comment()->set_text("the other version");
    events.push_back({Id(b), b});
  }

  // An event of `who` at seq head + 2: beyond a gap.
  EventId Orphan(const MemberKey& who, const EventId& p, v1::Choice c) {
    const auto& h = heads_[who];
    v1::EventBody b;
    b.set_circle_id(circle_);
    b.set_author(who.str());
    b.set_seq(h.seq + 2);
    b.set_prev(std::string(32, 'x'));
    b.set_timestamp_ms(h.ts);
    b.mutable_vote()->set_proposal(p.str());
    b.mutable_vote()->set_choice(c);
    const EventId id = Id(b);
    events.push_back({id, b});
    return id;
  }

  // An event of someone never admitted.
  EventId Stranger(const EventId& p) {
    const MemberKey k = Key("stranger");
    v1::EventBody b = Body(k, kT0 + 10);
    b.mutable_vote()->set_proposal(p.str());
    b.mutable_vote()->set_choice(v1::FOR);
    return Push(k, std::move(b));
  }

  CircleState State() const { return Fold(events); }
  TallyResult Run(std::int64_t as_of = kAfter) const { return Tally(State(), as_of); }

  std::vector<FoldEvent> events;

  // Each log's head as built so far: what a seal names.
  struct Head {
    std::uint64_t seq = 0;
    std::string prev;  // the id of the event at seq
    std::int64_t ts = 0;
    bool forked = false;  // what a seal naming it says of the author
  };
  using Heads = std::map<MemberKey, Head>;
  Heads Snapshot() const { return heads_; }

  // A seal by `who` of the round `deadline` naming `heads` (a snapshot, perhaps edited: what a
  // node that held only that, or lies, would seal).
  // The same seal paged (docs/protocol.md §15): `per` heads to a part, the parts signed in
  // `order` (default 0, 1, ...) at consecutive seqs, each with the part number it is given there.
  std::vector<EventId> SealPaged(const MemberKey& who, std::int64_t deadline, std::int64_t ts,
                                 std::size_t per, std::vector<std::uint32_t> order = {}) {
    std::vector<std::pair<MemberKey, Head>> held;
    for (const auto& [author, h] : heads_) {
      if (h.seq > 0) held.emplace_back(author, h);
    }
    const auto parts = static_cast<std::uint32_t>((held.size() + per - 1) / per);
    if (order.empty()) {
      for (std::uint32_t p = 0; p < parts; ++p) order.push_back(p);
    }
    std::vector<EventId> ids;
    for (std::uint32_t p : order) {
      v1::EventBody b = Body(who, ts);
      auto* seal = b.mutable_seal();
      seal->set_deadline_ms(deadline);
      seal->set_part(p);
      seal->set_parts(parts);
      for (std::size_t i = p * per; i < std::min(held.size(), (p + 1) * per); ++i) {
        auto* e = seal->add_heads();
        e->set_author(held[i].first.str());
        e->set_seq(held[i].second.seq);
        e->set_head(held[i].second.prev);
        e->set_forked(held[i].second.forked);
      }
      ids.push_back(Push(who, std::move(b)));
    }
    return ids;
  }

  // A seal by `who` on `base` (tally.h "Seals and finality") listing only `heads`: for every
  // other author, what `base` names.
  EventId SealOn(const MemberKey& who, std::int64_t deadline, std::int64_t ts, const EventId& base,
                 const Heads& heads = {}) {
    return SealNaming(who, deadline, ts, heads, &base);
  }

  EventId SealNaming(const MemberKey& who, std::int64_t deadline, std::int64_t ts,
                     const Heads& heads, const EventId* base = nullptr) {
    v1::EventBody b = Body(who, ts);
    b.mutable_seal()->set_deadline_ms(deadline);
    if (base) b.mutable_seal()->set_base(base->str());
    for (const auto& [author, h] : heads) {
      if (h.seq == 0) continue;
      auto* e = b.mutable_seal()->add_heads();
      e->set_author(author.str());
      e->set_seq(h.seq);
      e->set_head(h.prev);
      e->set_forked(h.forked);
    }
    return Push(who, std::move(b));
  }

 private:
  static EventId Id(const v1::EventBody& b) {
    std::string bytes;
    b.SerializeToString(&bytes);
    return *EventId::FromBytes(crypto::Blake2b256(AsBytes(bytes)).view());
  }

  v1::EventBody Body(const MemberKey& who, std::int64_t ts) {
    const auto& h = heads_[who];
    v1::EventBody b;
    b.set_circle_id(circle_);
    b.set_author(who.str());
    b.set_seq(h.seq + 1);
    if (h.seq > 0) b.set_prev(h.prev);
    b.set_timestamp_ms(ts);
    return b;
  }

  EventId Push(const MemberKey& who, v1::EventBody b) {
    const EventId id = Id(b);
    heads_[who] = {b.seq(), id.str(), b.timestamp_ms()};
    events.push_back({id, std::move(b)});
    return id;
  }

  MemberKey founder_;
  std::string circle_;
  std::map<MemberKey, Head> heads_;
  int proposals_ = 0;
};

// By value: callers often pass a temporary TallyResult.
// The circle's events in 100 shuffled orders tally as `want`.
inline void ExpectTheSameInAnyOrder(const Circle& c, const TallyResult& want, std::uint32_t seed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < 100; ++i) {
    auto evs = c.events;
    std::shuffle(evs.begin(), evs.end(), rng);
    EXPECT_EQ(Tally(Fold(evs), kAfter), want) << "order " << i;
  }
}

inline ProposalOutcome Find(const TallyResult& r, const EventId& id) {
  for (const auto& o : r.proposals) {
    if (o.proposal == id) return o;
  }
  ADD_FAILURE() << "no outcome for " << id.hex();
  return {};
}

// A circle of the founder (Org0) and `n` more members in orgs given by `orgs` (cycled).
inline std::vector<MemberKey> Members(Circle& c, int n, std::vector<std::string> orgs = {"Org0"}) {
  std::vector<MemberKey> out{c.founder()};
  for (int i = 1; i <= n; ++i) {
    out.push_back(
        c.Admit("m" + std::to_string(i), orgs[static_cast<std::size_t>(i) % orgs.size()]));
  }
  return out;
}

// One proposal everyone but m3 votes for, flagged by m3 (HIGH) unless `severity` says otherwise.
struct Flagged {
  Circle c;
  std::vector<MemberKey> m;
  EventId p, flag;
  explicit Flagged(v1::Severity severity = v1::HIGH) {
    m = Members(c, 5);
    p = c.Propose(m[1], 100);
    for (int i : {0, 1, 2, 4, 5}) c.Vote(m[static_cast<std::size_t>(i)], p, v1::FOR);
    flag = c.Flag(m[3], p, severity, kT0 + 20);
  }
  ProposalOutcome Outcome() const { return Find(c.Run(), p); }
};

}  // namespace polder::decide::testing
