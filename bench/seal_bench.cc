// bench/seal: sealing a round of a 10,000-member circle (issue 14: "a circle of 10,000 eligible
// members seals and syncs"). Every member voted before the deadline; 80 % of them (8,000) seal,
// one after another, each planning its seal as a node does (app::PlanSeal over what it holds by
// the deadline and the seals it holds so far). 2 % of sealers lag one author's last event, 2 %
// hold one more (beyond their base). Prints:
//   * the bytes of the round's seals with bases, against every seal listing every author (the
//     latter computed from one such seal's size: building 8,000 of them takes ~6 GB);
//   * the time to plan one seal (median, p99), to fold the circle with its seals, and to tally it
//     (the round must come out final), and the machine's std::sort of 1,000,000 integers.
//
//   build/bench/seal_bench [MEMBERS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/event_builder.h"
#include "bench/seal_record.h"
#include "node/app/sealer.h"
#include "node/decide/fold.h"
#include "node/decide/tally.h"

namespace polder {
namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kDeadline = kT0 + 1'000'000;

}  // namespace
}  // namespace polder

int main(int argc, char** argv) {
  using namespace polder;
  const int members = argc > 1 ? std::max(10, std::atoi(argv[1])) : 10'000;
  const int sealers = members * 4 / 5;  // the nodes online after the deadline

  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> numbers(1'000'000);
  for (auto& x : numbers) x = rng();
  auto t = Clock::now();
  std::sort(numbers.begin(), numbers.end());
  const double sort_ms = Ms(Clock::now() - t);

  bench::EventBuilder b(42);
  std::vector<MemberKey> keys;
  for (int i = 0; i < members; ++i) keys.push_back(b.Key(i));
  {
    auto body = b.Body(keys[0], kT0);
    auto* ch = body.mutable_charter();
    ch->set_name("bench");
    ch->set_pool_minor(1'000'000);
    ch->set_unit("EUR");
    ch->set_decimals(2);
    ch->mutable_rules()->add_organisations("org0");
    ch->mutable_rules()->add_organisations("org1");
    ch->mutable_rules()->set_admission_organisations(1);  // admission is not what this measures
    ch->mutable_founder()->set_name("m0");
    ch->mutable_founder()->set_organisation("org0");
    b.Push(keys[0], std::move(body));
  }
  for (int i = 1; i < members; ++i) {
    auto body = b.Body(keys[0], kT0 + 1);
    body.mutable_admit()->set_member(keys[static_cast<std::size_t>(i)].str());
    body.mutable_admit()->mutable_info()->set_name("m" + std::to_string(i));
    body.mutable_admit()->mutable_info()->set_organisation("org" + std::to_string(i % 2));
    b.Push(keys[0], std::move(body));
  }
  EventId proposal;
  {
    auto body = b.Body(keys[1], kT0 + 2);
    body.mutable_proposal()->set_title("p");
    body.mutable_proposal()->set_amount_minor(1000);
    body.mutable_proposal()->set_deadline_ms(kDeadline);
    proposal = b.Push(keys[1], std::move(body));
  }
  for (int i = 0; i < members; ++i) {  // everyone votes
    const MemberKey& who = keys[static_cast<std::size_t>(i)];
    auto body = b.Body(who, kT0 + 10 + i);
    body.mutable_vote()->set_proposal(proposal.str());
    body.mutable_vote()->set_choice(i % 3 ? v1::FOR : v1::AGAINST);
    b.Push(who, std::move(body));
  }
  // What every node holds by the deadline; some lag one author's last event, some hold one more
  // (a second vote, timestamped by the deadline, that reached only them).
  storage::VersionVector by_deadline;
  for (const auto& [k, h] : b.heads()) by_deadline.heads[k] = {h.seq, h.id, false};
  std::vector<decide::SealRecord> held;  // the seals a sealer holds, as a fold records them
  std::size_t based_bytes = 0, full_seal_bytes = 0, entries = 0, with_base = 0;
  std::vector<double> plan_us;
  for (int s = 0; s < sealers; ++s) {
    const MemberKey& me = keys[static_cast<std::size_t>(s)];
    storage::VersionVector mine = by_deadline;
    const auto roll = rng() % 100;
    const MemberKey& other = keys[rng() % static_cast<std::uint64_t>(members)];
    if (roll < 2 && other != me) {
      // Lags: holds the author's events only up to the one before their last.
      auto& h = mine.heads[other];
      if (h.seq > 1) h = {h.seq - 1, b.events[0].id, false};  // (id: the bench's stand-in)
    } else if (roll < 4 && other != me) {
      mine.heads[other].seq += 1;  // one event more (its id: a stand-in nobody else names)
    }
    t = Clock::now();
    const app::SealPlan plan = app::PlanSeal(mine, held, kDeadline, me);
    plan_us.push_back(Ms(Clock::now() - t) * 1000);
    auto body = b.Body(me, kDeadline + 1000 + s);
    auto* seal = body.mutable_seal();
    seal->set_deadline_ms(kDeadline);
    if (plan.base) seal->set_base(plan.base->str());
    for (const auto& [author, head] : plan.entries) {
      auto* e = seal->add_heads();
      e->set_author(author.str());
      e->set_seq(head.seq);
      e->set_head(head.id.str());
    }
    based_bytes += body.ByteSizeLong();
    entries += plan.entries.size();
    with_base += plan.base ? 1 : 0;
    if (s == 0) {
      v1::EventBody full = body;
      full.mutable_seal()->clear_base();
      full.mutable_seal()->clear_heads();
      for (const auto& [author, head] : mine.heads) {
        auto* e = full.mutable_seal()->add_heads();
        e->set_author(author.str());
        e->set_seq(head.seq);
        e->set_head(head.id.str());
      }
      full_seal_bytes = full.ByteSizeLong();
    }
    const std::uint64_t seq = body.seq();
    const std::int64_t ts = body.timestamp_ms();
    const EventId id = b.Push(me, std::move(body));
    held.push_back(bench::SealRecordOf(plan, me, seq, ts, kDeadline, id));
  }
  std::sort(plan_us.begin(), plan_us.end());

  t = Clock::now();
  const decide::CircleState st = decide::Fold(b.events);
  const double fold_ms = Ms(Clock::now() - t);
  t = Clock::now();
  const decide::TallyResult r = decide::Tally(st, kDeadline + 10'000'000);
  const double tally_ms = Ms(Clock::now() - t);
  const bool final = !r.rounds.empty() && r.rounds[0].finality == decide::Finality::kFinal;
  const std::size_t counted = r.proposals.empty() ? 0 : r.proposals[0].explanation.votes.size();

  std::printf("seal_bench: %d members, %d seals of one round, %zu events\n", members, sealers,
              b.events.size());
  std::printf("machine: std::sort of 1,000,000 uint64      %8.1f ms\n", sort_ms);
  std::printf("seals with bases: %zu on a base, %zu entries, %.2f MB in all (%.0f B per seal)\n",
              with_base, entries, based_bytes / 1e6, static_cast<double>(based_bytes) / sealers);
  std::printf("every seal listing every author: %.2f MB each, %.1f MB in all (%.0f x)\n",
              full_seal_bytes / 1e6, static_cast<double>(full_seal_bytes) * sealers / 1e6,
              static_cast<double>(full_seal_bytes) * sealers / static_cast<double>(based_bytes));
  std::printf("plan one seal: median %.0f us, p99 %.0f us\n", plan_us[plan_us.size() / 2],
              plan_us[plan_us.size() * 99 / 100]);
  std::printf("fold (events -> state)                      %8.1f ms   (%.2f x sort)\n", fold_ms,
              fold_ms / sort_ms);
  std::printf("tally                                       %8.1f ms   (%.2f x sort)\n", tally_ms,
              tally_ms / sort_ms);
  std::printf("round final: %s; %zu votes counted of %d\n", final ? "yes" : "NO", counted, members);
  if (!r.rounds.empty()) {
    const auto& n = r.rounds[0].seals;
    std::printf("  seals: %u required, %zu counting, %zu missing, %zu undecided\n", n.required,
                n.counting.size(), n.missing.size(), n.undecided.size());
  }
  return final ? 0 : 1;
}
