#include "node/app/sealer.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "node/app/circle_state.h"
#include "node/decide/tally.h"
#include "storage/rulebook/limits.h"

namespace polder::app {

Result<int> Sealer::SealDue(std::int64_t now_ms, bool catching_up) {
  if (catching_up) return 0;
  auto& replica = session_.replica();
  const MemberKey me = session_.key().public_key();
  // A late flag may move a proposal to its deadline + the window: a round to seal too.
  auto stated = replica.state().LateFlagWindows();
  if (!stated) return MakeUnexpected(stated.error());
  std::set<std::int64_t> windows;
  for (auto w : *stated) windows.insert(w > 0 ? w : decide::kDefaultLateFlagWindowMs);
  auto due = replica.state().DeadlinesToSeal(me, now_ms - grace_.count(), 64,
                                             {windows.begin(), windows.end()});
  if (!due) return MakeUnexpected(due.error());
  std::vector<std::int64_t> todo;
  for (auto d : *due) {
    if (!considered_.count(d)) todo.push_back(d);
  }
  if (todo.empty()) return 0;
  auto state = LoadCircleState(replica);
  if (!state) return MakeUnexpected(state.error());
  const decide::Member* self = state->FindMember(me);
  const auto tally = decide::Tally(*state, now_ms);
  int authored = 0;
  for (auto d : todo) {
    considered_.insert(d);
    if (!self || self->forked() || self->admitted_ms > d) continue;
    auto round = std::find_if(tally.rounds.begin(), tally.rounds.end(),
                              [d](const auto& r) { return r.deadline_ms == d; });
    // No round (a late flag that did not move its proposal after all), a sealed one, or one this
    // member neither counts for nor is on the committee of (removed, or never eligible: their seal
    // would count for nothing).
    if (round == tally.rounds.end() || round->seals.sealed ||
        (!std::binary_search(round->eligible.begin(), round->eligible.end(), me) &&
         !std::binary_search(round->committee.begin(), round->committee.end(), me))) {
      continue;
    }
    auto vector = replica.events().Vector();
    if (!vector) return MakeUnexpected(vector.error());
    std::vector<const std::pair<const MemberKey, storage::AuthorHead>*> held;
    for (const auto& entry : vector->heads) {
      if (entry.second.seq > 0) held.push_back(&entry);
    }
    // Paged past kMaxSealEntries authors: parts at consecutive seqs (nothing else is authored on
    // this thread in between), in author order.
    const std::size_t parts = std::max<std::size_t>(
        1, (held.size() + rulebook::kMaxSealEntries - 1) / rulebook::kMaxSealEntries);
    if (parts > rulebook::kMaxSealParts) {
      spdlog::warn("cannot seal the round of {}: {} authors, a seal lists at most {}", d,
                   held.size(), rulebook::kMaxSealEntries * rulebook::kMaxSealParts);
      continue;
    }
    for (std::size_t part = 0; part < parts; ++part) {
      auto a = author_([&](v1::EventBody& b) {
        auto* seal = b.mutable_seal();
        seal->set_deadline_ms(d);
        if (parts > 1) {
          seal->set_part(static_cast<std::uint32_t>(part));
          seal->set_parts(static_cast<std::uint32_t>(parts));
        }
        const std::size_t from = part * rulebook::kMaxSealEntries;
        const std::size_t to = std::min(held.size(), from + rulebook::kMaxSealEntries);
        for (std::size_t i = from; i < to; ++i) {
          const auto& [author, head] = *held[i];
          auto* h = seal->add_heads();
          h->set_author(author.str());
          h->set_seq(head.seq);
          h->set_head(head.id.str());
          h->set_forked(head.forked);
        }
      });
      if (!a) return MakeUnexpected(a.error());
    }
    spdlog::info("sealed the round of {} ({} authors{})", d, held.size(),
                 parts > 1 ? ", " + std::to_string(parts) + " parts" : "");
    ++authored;
  }
  return authored;
}

}  // namespace polder::app
