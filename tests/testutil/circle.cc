#include "tests/testutil/circle.h"

#include <random>

#include "storage/rulebook/sign.h"

namespace polder::testutil {

TestCircle::TestCircle(std::string org) : TestCircle(std::move(org), ByteView()) {}

TestCircle::TestCircle(std::string org, ByteView founder_seed) {
  authors_.push_back({founder_seed.empty() ? crypto::SigningKey::Generate()
                                           : *crypto::SigningKey::FromSeed(founder_seed),
                      0,
                      {}});
  std::string salt(16, 's');
  Next(0, [&](v1::EventBody& b) {
    auto* c = b.mutable_charter();
    c->set_name("Test circle");
    c->set_purpose("Fund things that matter to all of us");
    c->set_pool_minor(10'000'000);
    c->set_unit("EUR");
    c->set_decimals(2);
    c->set_salt(salt);
    c->mutable_founder()->set_name("Founder");
    c->mutable_founder()->set_organisation(org);
    c->mutable_founder()->set_role("coordinator");
    // The organisations the tests admit into, each newcomer admitted by one member (the rules
    // that ask for two organisations have their own tests).
    for (const char* o : kTestOrganisations) c->mutable_rules()->add_organisations(o);
    c->mutable_rules()->set_admission_organisations(1);
  });
}

Bytes TestCircle::SignBody(int who, const v1::EventBody& body, EventId* id) const {
  return rulebook::Sign(authors_[who].key, body, id);
}

Bytes TestCircle::Next(int who, const std::function<void(v1::EventBody&)>& fill, EventId* id,
                       bool record) {
  auto& a = authors_[who];
  v1::EventBody b;
  b.set_circle_id(circle_.str());
  b.set_author(a.key.public_key().str());
  b.set_seq(a.seq + 1);
  b.set_prev(a.prev);
  b.set_timestamp_ms(++now_);
  fill(b);
  if (b.has_charter() && b.seq() == 1) {
    const CircleId named = rulebook::BindCharter(b);  // the circle id names its charter
    if (record) circle_ = named;
  }
  EventId local;
  Bytes bytes = rulebook::Sign(a.key, b, &local);
  if (id) *id = local;
  if (record) {
    a.seq = b.seq();
    a.prev = local.str();
    events_.push_back(bytes);
  }
  return bytes;
}

crypto::SigningKey TestCircle::NewKey() const {
  if (!key_seed_) return crypto::SigningKey::Generate();
  std::mt19937_64 g(*key_seed_ ^ (0x9E3779B97F4A7C15ull * (authors_.size() + 1)));
  std::array<std::uint8_t, 32> seed{};
  for (auto& b : seed) b = static_cast<std::uint8_t>(g());
  return *crypto::SigningKey::FromSeed(seed);
}

int TestCircle::Admit(int admitter, const std::string& name, const std::string& org, bool leader) {
  authors_.push_back({NewKey(), 0, {}});
  const int idx = static_cast<int>(authors_.size()) - 1;
  const std::string key = authors_[idx].key.public_key().str();
  Next(admitter, [&](v1::EventBody& b) {
    auto* a = b.mutable_admit();
    a->set_member(key);
    a->mutable_info()->set_name(name);
    a->mutable_info()->set_organisation(org);
    a->mutable_info()->set_role("member");
    a->mutable_info()->set_formal_leader(leader);
  });
  return idx;
}

int TestCircle::Stranger() {
  authors_.push_back({NewKey(), 0, {}});
  return static_cast<int>(authors_.size()) - 1;
}

EventId TestCircle::Propose(int who, const std::string& title, std::int64_t amount_minor,
                            std::int64_t window_ms) {
  EventId id;
  Next(
      who,
      [&](v1::EventBody& b) {
        auto* p = b.mutable_proposal();
        p->set_title(title);
        p->set_body("Details of " + title);
        p->set_amount_minor(amount_minor);
        p->set_purpose_fit("It serves the purpose");
        p->set_deadline_ms(b.timestamp_ms() + window_ms);
      },
      &id);
  return id;
}

EventId TestCircle::Vote(int who, const EventId& proposal, v1::Choice choice) {
  EventId id;
  Next(
      who,
      [&](v1::EventBody& b) {
        b.mutable_vote()->set_proposal(proposal.str());
        b.mutable_vote()->set_choice(choice);
      },
      &id);
  return id;
}

EventId TestCircle::Flag(int who, const EventId& proposal, v1::Severity severity) {
  EventId id;
  Next(
      who,
      [&](v1::EventBody& b) {
        auto* f = b.mutable_risk_flag();
        f->set_proposal(proposal.str());
        f->set_severity(severity);
        f->set_category("financial");
        f->set_rationale("The budget has no contingency");
      },
      &id);
  return id;
}

EventId TestCircle::Resolve(int who, const EventId& flag, v1::FlagResolution::Kind kind) {
  EventId id;
  Next(
      who,
      [&](v1::EventBody& b) {
        auto* r = b.mutable_flag_resolution();
        r->set_flag(flag.str());
        r->set_kind(kind);
        r->set_mitigation(kind == v1::FlagResolution::ANSWER ? "Added a 10% contingency" : "");
      },
      &id);
  return id;
}

EventId TestCircle::Endorse(int who, const EventId& proposal) {
  EventId id;
  Next(
      who, [&](v1::EventBody& b) { b.mutable_endorsement()->set_proposal(proposal.str()); }, &id);
  return id;
}

EventId TestCircle::Comment(int who, const std::string& text, const EventId* target) {
  EventId id;
  Next(
      who,
      [&](v1::EventBody& b) {
        b.mutable_comment()->set_text(text);
        if (target) b.mutable_comment()->set_target(target->str());
      },
      &id);
  return id;
}

EventId TestCircle::Delegate(int who, int to, const std::string& topic) {
  EventId id;
  const std::string key = authors_[to].key.public_key().str();
  Next(
      who,
      [&](v1::EventBody& b) {
        b.mutable_delegation()->set_delegate(key);
        b.mutable_delegation()->set_topic(topic);
      },
      &id);
  return id;
}

EventId TestCircle::Withdraw(int who, const EventId& proposal) {
  EventId id;
  Next(
      who, [&](v1::EventBody& b) { b.mutable_withdraw()->set_proposal(proposal.str()); }, &id);
  return id;
}

void FillBenchCircle(TestCircle& c, std::size_t n) {
  std::vector<int> who = {0};
  for (int i = 1; i < 20; ++i) {
    who.push_back(c.Admit(0, "Member " + std::to_string(i), i % 2 ? "Org B" : "Org C"));
  }
  std::vector<EventId> proposals;
  for (std::size_t k = 0; c.events().size() < n; ++k) {
    const int w = who[k % who.size()];
    if (k % 10 == 0 || proposals.empty()) {
      proposals.push_back(c.Propose(w, "Proposal " + std::to_string(k), 1000));
    } else if (k % 3 == 0) {
      c.Vote(w, proposals[k % proposals.size()], v1::FOR);
    } else {
      c.Comment(w, std::string(280, 'c'), &proposals[k % proposals.size()]);
    }
  }
}

}  // namespace polder::testutil
