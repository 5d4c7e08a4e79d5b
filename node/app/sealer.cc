#include "node/app/sealer.h"

#include <algorithm>
#include <set>
#include <tuple>

#include <spdlog/spdlog.h>

#include "crypto/hash.h"
#include "node/app/circle_state.h"
#include "node/decide/tally.h"
#include "storage/rulebook/limits.h"

namespace polder::app {

SealPlan PlanSeal(const storage::VersionVector& held, const std::vector<decide::SealRecord>& seals,
                  std::int64_t deadline, const MemberKey& me) {
  std::vector<const decide::SealRecord*> candidates;
  for (const auto& s : seals) {
    if (s.deadline_ms == deadline && !s.device && !s.base && s.author != me) {
      candidates.push_back(&s);
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto* a, const auto* b) {
    return std::tie(b->timestamp_ms, b->event) < std::tie(a->timestamp_ms, a->event);
  });
  if (candidates.size() > kMaxSealBaseCandidates) candidates.resize(kMaxSealBaseCandidates);
  // Entries `held` needs on `base`; nothing when `held` lacks one of its authors.
  auto needs = [&](const decide::SealRecord& base) -> std::optional<std::size_t> {
    std::size_t n = 0;
    auto b = base.heads.begin();
    for (const auto& [author, head] : held.heads) {
      if (author == me) continue;
      while (b != base.heads.end() && b->author < author) {
        if (b->author != me) return std::nullopt;  // an author the base names and `held` lacks
        ++b;
      }
      const bool named = b != base.heads.end() && b->author == author;
      n += named && b->seq == head.seq && b->head == head.id && !head.forked ? 0 : 1;
      if (named) ++b;
    }
    for (; b != base.heads.end(); ++b) {
      if (b->author != me) return std::nullopt;
    }
    return n;
  };
  SealPlan plan;
  std::size_t best = held.heads.size();
  for (const auto* c : candidates) {
    auto n = needs(*c);
    if (n && (*n < best || (*n == best && plan.base && c->event < *plan.base))) {
      best = *n;
      plan.base = c->event;
    }
  }
  const decide::SealRecord* base = nullptr;
  for (const auto* c : candidates) {
    if (plan.base && c->event == *plan.base) base = c;
  }
  for (const auto& [author, head] : held.heads) {
    if (base) {
      if (author == me) continue;
      auto b = std::lower_bound(
          base->heads.begin(), base->heads.end(), author,
          [](const decide::SealHead& e, const MemberKey& k) { return e.author < k; });
      if (b != base->heads.end() && b->author == author && b->seq == head.seq &&
          b->head == head.id && !head.forked) {
        continue;
      }
    }
    plan.entries.emplace_back(author, head);
  }
  return plan;
}

std::size_t SealParts(const SealPlan& plan) {
  return std::max<std::size_t>(
      1, (plan.entries.size() + rulebook::kMaxSealEntries - 1) / rulebook::kMaxSealEntries);
}

void WriteSealPart(const SealPlan& plan, std::int64_t deadline, std::size_t part, v1::Seal& seal) {
  const std::size_t parts = SealParts(plan);
  seal.set_deadline_ms(deadline);
  if (plan.base) seal.set_base(plan.base->str());
  if (parts > 1) {
    seal.set_part(static_cast<std::uint32_t>(part));
    seal.set_parts(static_cast<std::uint32_t>(parts));
  }
  const std::size_t from = part * rulebook::kMaxSealEntries;
  const std::size_t to = std::min(plan.entries.size(), from + rulebook::kMaxSealEntries);
  for (std::size_t i = from; i < to; ++i) {
    const auto& [author, head] = plan.entries[i];
    auto* h = seal.add_heads();
    h->set_author(author.str());
    h->set_seq(head.seq);
    h->set_head(head.id.str());
    h->set_forked(head.forked);
  }
}

std::int64_t SealDelayMs(const MemberKey& me, std::int64_t deadline, std::size_t eligible,
                         std::int64_t spread_ms) {
  if (eligible <= kFirstSealers || spread_ms <= 0) return 0;
  Bytes input(me.view().begin(), me.view().end());
  for (int i = 0; i < 8; ++i) input.push_back(static_cast<std::uint8_t>(deadline >> (8 * i)));
  const Digest32 d = crypto::Blake2b256(input);
  std::uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x = x << 8 | d.view()[static_cast<std::size_t>(i)];
  const double h = static_cast<double>(x >> 11) / static_cast<double>(1ULL << 53);  // [0, 1)
  if (h * static_cast<double>(eligible) < static_cast<double>(kFirstSealers)) return 0;
  const std::int64_t after = std::min<std::int64_t>(1000, spread_ms / 2);
  return after + static_cast<std::int64_t>(h * static_cast<double>(spread_ms - after));
}

Result<int> Sealer::SealDue(std::int64_t now_ms, bool catching_up) {
  const std::int64_t wait = grace_.count() + (catching_up ? catch_up_wait_.count() : 0);
  auto& replica = session_.replica();
  const MemberKey me = session_.key().public_key();
  // A late flag may move a proposal to its deadline + the window: a round to seal too.
  auto stated = replica.state().LateFlagWindows();
  if (!stated) return MakeUnexpected(stated.error());
  std::set<std::int64_t> windows;
  for (auto w : *stated) windows.insert(w > 0 ? w : decide::kDefaultLateFlagWindowMs);
  auto due =
      replica.state().DeadlinesToSeal(me, now_ms - wait, 64, {windows.begin(), windows.end()});
  if (!due) return MakeUnexpected(due.error());
  std::vector<std::int64_t> todo;
  for (auto d : *due) {
    auto at = due_at_.find(d);
    if (!considered_.count(d) && (at == due_at_.end() || at->second <= now_ms)) todo.push_back(d);
  }
  if (todo.empty()) return 0;
  auto state = LoadCircleState(replica);
  if (!state) return MakeUnexpected(state.error());
  const decide::Member* self = state->FindMember(me);
  const auto tally = decide::Tally(*state, now_ms);
  int authored = 0;
  for (auto d : todo) {
    auto round = std::find_if(tally.rounds.begin(), tally.rounds.end(),
                              [d](const auto& r) { return r.deadline_ms == d; });
    if (round != tally.rounds.end() && !round->seals.sealed && !due_at_.count(d)) {
      due_at_[d] = d + wait + SealDelayMs(me, d, round->eligible.size(), spread_.count());
      if (due_at_[d] > now_ms) continue;  // later: by then others' seals may be its base
    }
    considered_.insert(d);
    due_at_.erase(d);
    if (!self || self->forked() || self->admitted_ms > d) continue;
    // No round (a late flag that did not move its proposal after all), a sealed one, or one this
    // member neither counts for nor is on the committee of (removed, or never eligible: their seal
    // would count for nothing).
    if (round == tally.rounds.end() || round->seals.sealed ||
        (!std::binary_search(round->eligible.begin(), round->eligible.end(), me) &&
         !std::binary_search(round->committee.begin(), round->committee.end(), me))) {
      continue;
    }
    auto vector = replica.events().VectorAt(d);
    if (!vector) return MakeUnexpected(vector.error());
    const SealPlan plan = PlanSeal(*vector, state->seals, d, me);
    const auto& held = plan.entries;
    // Parts at consecutive seqs (nothing else is authored on this thread in between).
    const std::size_t parts = SealParts(plan);
    if (parts > rulebook::kMaxSealParts) {
      spdlog::warn("cannot seal the round of {}: {} authors, a seal lists at most {}", d,
                   held.size(), rulebook::kMaxSealEntries * rulebook::kMaxSealParts);
      continue;
    }
    for (std::size_t part = 0; part < parts; ++part) {
      auto a = author_([&](v1::EventBody& b) { WriteSealPart(plan, d, part, *b.mutable_seal()); });
      if (!a) return MakeUnexpected(a.error());
    }
    spdlog::info("sealed the round of {} ({} authors{}{})", d, held.size(),
                 plan.base ? " on a base" : "",
                 parts > 1 ? ", " + std::to_string(parts) + " parts" : "");
    ++authored;
  }
  return authored;
}

}  // namespace polder::app
