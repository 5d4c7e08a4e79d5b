// bench/tally: the decision tally of a large circle — 1,000 members in 10 organisations, 10,000
// proposals in 20 funding rounds (19 closed, each with 3 members' seals, 1 still open), 1,000,000
// votes and 100 delegations (organisation-balanced weights, greedy approval, a per-organisation
// cap, 1 % of proposals flagged high). Prints:
//   * fold: events → circle state (Fold), once;
//   * full tally: every outcome from the state (Tally), median of RUNS;
//   * one-vote update: TallyEngine::AddVote on a proposal of the open round and of a closed round,
//     median and p99 of UPDATES each (the engine's result is checked against a full tally).
//     3 seals of 1,000 members seal no round (the 997 others could still bring any event to 3
//     covers), so every closed round is provisional with every log undecided: the worst case for
//     an update, which takes each of the voter's logs off 19 rounds' undecided lists;
//   * the machine: std::sort of 1,000,000 random 64-bit integers, measured in the same run.
// Targets (issue 5): full tally under 1 s, one-vote update under 1 ms. MES on the city-size
// instances: bench/mes_bench.
//
//   build/bench/tally_bench [RUNS] [UPDATES]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/event_builder.h"
#include "node/decide/fold.h"
#include "node/decide/tally.h"

namespace polder::decide {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMembers = 1000;
constexpr int kOrgs = 10;
constexpr int kProposals = 10'000;
constexpr int kRounds = 20;
constexpr int kVotes = 1'000'000;
constexpr int kDelegations = 100;
constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kFirstDeadline = kT0 + 2'000'000;
constexpr std::int64_t kRoundGap = 10'000;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double P99(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, v.size() * 99 / 100)];
}

struct Circle {
  std::vector<FoldEvent> events;
  std::vector<MemberKey> members;
  std::vector<EventId> proposals;  // round r: [r*500, (r+1)*500)
  std::int64_t as_of = 0;
  std::int64_t next_ts = 0;
};

Circle Build() {
  bench::EventBuilder b(42);
  Circle c;
  for (int i = 0; i < kMembers; ++i) c.members.push_back(b.Key(i));
  const MemberKey founder = c.members[0];
  {
    auto body = b.Body(founder, kT0);
    auto* ch = body.mutable_charter();
    ch->set_name("bench");
    ch->set_pool_minor(50'000'000);
    ch->set_unit("EUR");
    ch->set_decimals(2);
    ch->mutable_rules()->set_weighting(v1::DecisionRules::ORGANISATION_BALANCED);
    ch->mutable_rules()->set_max_share_per_org_bps(2000);
    ch->mutable_rules()->set_quorum_bps(500);
    ch->mutable_rules()->set_seals_required(3);
    // The founder's admission alone makes a member count: admission is not what this measures.
    for (int o = 0; o < kOrgs; ++o)
      ch->mutable_rules()->add_organisations("org" + std::to_string(o));
    ch->mutable_rules()->set_admission_organisations(1);
    ch->mutable_founder()->set_name("m0");
    ch->mutable_founder()->set_organisation("org0");
    b.Push(founder, std::move(body));
  }
  for (int i = 1; i < kMembers; ++i) {
    auto body = b.Body(founder, kT0 + 1);
    body.mutable_admit()->set_member(c.members[static_cast<std::size_t>(i)].str());
    body.mutable_admit()->mutable_info()->set_name("m" + std::to_string(i));
    body.mutable_admit()->mutable_info()->set_organisation("org" + std::to_string(i % kOrgs));
    b.Push(founder, std::move(body));
  }
  auto pick = [&](int n) { return static_cast<int>(b.rng() % static_cast<std::uint64_t>(n)); };
  for (int p = 0; p < kProposals; ++p) {
    const int round = p / (kProposals / kRounds);
    const MemberKey who = c.members[static_cast<std::size_t>(pick(kMembers))];
    auto body = b.Body(who, kT0 + 2);
    auto* pr = body.mutable_proposal();
    pr->set_title("proposal " + std::to_string(p));
    pr->set_amount_minor(10'000 + pick(500'000));
    pr->set_deadline_ms(kFirstDeadline + round * kRoundGap);
    c.proposals.push_back(b.Push(who, std::move(body)));
  }
  for (int d = 0; d < kDelegations; ++d) {
    const MemberKey who = c.members[static_cast<std::size_t>(1 + pick(kMembers - 1))];
    const MemberKey to = c.members[static_cast<std::size_t>(1 + pick(kMembers - 1))];
    if (who == to) continue;
    auto body = b.Body(who, kT0 + 3);
    body.mutable_delegation()->set_delegate(to.str());
    b.Push(who, std::move(body));
  }
  for (int f = 0; f < kProposals / 100; ++f) {
    const MemberKey who = c.members[static_cast<std::size_t>(pick(kMembers))];
    auto body = b.Body(who, kT0 + 4);
    body.mutable_risk_flag()->set_proposal(
        c.proposals[static_cast<std::size_t>(pick(kProposals))].str());
    body.mutable_risk_flag()->set_severity(v1::HIGH);
    body.mutable_risk_flag()->set_category("finance");
    body.mutable_risk_flag()->set_rationale("r");
    b.Push(who, std::move(body));
  }
  // Votes: ~100 per proposal, timestamps rising (one per ms) and before every deadline.
  for (int v = 0; v < kVotes; ++v) {
    const MemberKey who = c.members[static_cast<std::size_t>(pick(kMembers))];
    auto body = b.Body(who, kT0 + 10 + v);
    body.mutable_vote()->set_proposal(
        c.proposals[static_cast<std::size_t>(pick(kProposals))].str());
    const int r = pick(10);
    body.mutable_vote()->set_choice(r < 6 ? v1::FOR : r < 9 ? v1::AGAINST : v1::ABSTAIN);
    b.Push(who, std::move(body));
  }
  // Three members seal each closed round, after its deadline, naming everything so far.
  for (int round = 0; round < kRounds - 1; ++round) {
    const std::int64_t deadline = kFirstDeadline + round * kRoundGap;
    for (int s = 0; s < 3; ++s) {
      const MemberKey who = c.members[static_cast<std::size_t>(s)];
      const auto heads = b.heads();
      auto body = b.Body(who, deadline + 1);
      body.mutable_seal()->set_deadline_ms(deadline);
      for (const auto& [k, h] : heads) {
        auto* e = body.mutable_seal()->add_heads();
        e->set_author(k.str());
        e->set_seq(h.seq);
        e->set_head(h.id.str());
      }
      b.Push(who, std::move(body));
    }
  }
  c.as_of = kFirstDeadline + (kRounds - 2) * kRoundGap + 5000;  // the last round is open
  c.next_ts = c.as_of - 1;
  c.events = std::move(b.events);
  return c;
}

}  // namespace
}  // namespace polder::decide

int main(int argc, char** argv) {
  using namespace polder;
  using namespace polder::decide;
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const int updates = argc > 2 ? std::max(10, std::atoi(argv[2])) : 500;

  // The machine, in the same run.
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> numbers(1'000'000);
  for (auto& x : numbers) x = rng();
  auto t = Clock::now();
  std::sort(numbers.begin(), numbers.end());
  const double sort_ms = Ms(Clock::now() - t);

  t = Clock::now();
  Circle c = Build();
  const double build_ms = Ms(Clock::now() - t);
  t = Clock::now();
  CircleState st = Fold(c.events);
  const double fold_ms = Ms(Clock::now() - t);

  std::vector<double> full;
  TallyResult result;
  for (int i = 0; i < runs; ++i) {
    result = TallyResult{};  // freeing the previous result is not part of the next tally
    t = Clock::now();
    TallyResult r = Tally(st, c.as_of);
    full.push_back(Ms(Clock::now() - t));
    result = std::move(r);
  }
  // Who counts now (what a node computes, after a fold and a tally, to decide who may connect).
  t = Clock::now();
  const auto standings = decide::Standings(st, result.rules_now, c.as_of);
  const double standings_ms = Ms(Clock::now() - t);
  std::size_t eligible = 0;
  for (const auto& s : standings) eligible += s.eligible;
  std::size_t counted = 0, funded = 0, finals = 0;
  for (const auto& o : result.proposals) {
    counted += o.explanation.votes.size();
    funded += o.status == decide::Status::kFunded;
    finals += o.finality == Finality::kFinal;
  }

  t = Clock::now();
  TallyEngine engine(st, c.as_of);
  const double engine_ms = Ms(Clock::now() - t);
  std::vector<double> open_us, closed_us;
  const std::size_t per_round = kProposals / kRounds;
  std::int64_t ts = c.as_of - 1000;  // within the open round, after every other event
  bool agrees = true;
  // For the closed-round figure a second engine, without seals (its closed rounds provisional
  // too).
  std::vector<FoldEvent> unsealed;
  for (const auto& e : c.events) {
    if (!e.body.has_seal()) unsealed.push_back(e);
  }
  CircleState st2 = Fold(unsealed);
  TallyEngine provisional(st2, c.as_of);
  // Members 900..999 vote in the updates; their logs' next seqs, from the builder's counts.
  std::map<MemberKey, std::uint64_t> head;
  for (const auto& e : c.events) {
    auto k = *MemberKey::FromBytes(AsBytes(e.body.author()));
    head[k] = std::max(head[k], e.body.seq());
  }
  std::map<MemberKey, std::uint64_t> head2;
  for (const auto& e : unsealed) {
    auto k = *MemberKey::FromBytes(AsBytes(e.body.author()));
    head2[k] = std::max(head2[k], e.body.seq());
  }
  for (int u = 0; u < updates; ++u) {
    const MemberKey who = c.members[static_cast<std::size_t>(900 + rng() % 100)];
    const auto choice = static_cast<v1::Choice>(1 + rng() % 3);
    std::string id(32, '\0');
    for (auto& ch : id) ch = static_cast<char>(rng());
    const EventId eid = *EventId::FromBytes(AsBytes(id));
    // The open round.
    const EventId p_open = c.proposals[(kRounds - 1) * per_round + rng() % per_round];
    VoteRecord v{who, ++head[who], ts, choice, eid, std::nullopt};
    t = Clock::now();
    agrees &= engine.AddVote(p_open, v);
    open_us.push_back(Ms(Clock::now() - t) * 1000);
    // A closed, provisional round.
    const EventId p_closed = c.proposals[(rng() % (kRounds - 1)) * per_round + rng() % per_round];
    VoteRecord v2{who, ++head2[who], kT0 + 10 + kVotes + u, choice, eid, std::nullopt};
    t = Clock::now();
    agrees &= provisional.AddVote(p_closed, v2);
    closed_us.push_back(Ms(Clock::now() - t) * 1000);
  }
  // Spot-check: after all the updates, the engines agree with full tallies of their states.
  agrees &= engine.Result() == Tally(engine.state(), c.as_of);
  agrees &= provisional.Result() == Tally(provisional.state(), c.as_of);

  std::printf(
      "tally_bench: %d members, %d organisations, %zu proposals in %d rounds, %d votes, "
      "%zu events\n",
      kMembers, kOrgs, c.proposals.size(), kRounds, kVotes, c.events.size());
  std::printf("machine: std::sort of 1,000,000 uint64      %8.1f ms\n", sort_ms);
  std::printf("build events (bench only)                   %8.1f ms\n", build_ms);
  std::printf("fold (events -> state)                      %8.1f ms\n", fold_ms);
  std::printf(
      "full tally (median of %d)                    %8.1f ms   target < 1000 ms   (%.2f x sort)\n",
      runs, Median(full), Median(full) / sort_ms);
  std::printf("  %zu votes counted, %zu funded, %zu final, %zu alerts, allocated %lld of %lld\n",
              counted, funded, finals, result.alerts.size(),
              static_cast<long long>(result.allocated_minor.minor()),
              static_cast<long long>(result.pool_minor.minor()));
  std::printf("standings (who counts now)                  %8.1f ms   (%zu of %zu eligible)\n",
              standings_ms, eligible, standings.size());
  std::printf("engine build                                %8.1f ms\n", engine_ms);
  std::printf("one-vote update, open round:   median %7.1f us  p99 %7.1f us   target < 1000 us\n",
              Median(open_us), P99(open_us));
  std::printf(
      "one-vote update, closed round: median %7.1f us  p99 %7.1f us   (provisional; "
      "re-allocates its round and later ones)\n",
      Median(closed_us), P99(closed_us));
  std::printf("engine results equal full tallies after %d updates each: %s\n", updates,
              agrees ? "yes" : "NO");
  return agrees ? 0 : 1;
}
