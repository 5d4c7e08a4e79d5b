#include "node/decide/seals.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_map>

#include "node/decide/round_allocation.h"
#include "node/decide/round_context.h"

namespace polder::decide {
namespace {

// Events timestamped by a sealed round's deadline that its sealed view leaves out: what decides
// the round's proposals (the proposals, votes, endorsements, flags and resolutions) and who may
// vote (delegations, admissions, removals).
std::vector<EventId> Unsealed(const RoundContext& sealed,
                              const std::vector<const ProposalRecord*>& round) {
  const CircleState& st = sealed.st;
  const std::int64_t d = sealed.cutoff;
  std::vector<EventId> out;
  auto check = [&](const MemberKey& who, const std::optional<MemberKey>& device, std::uint64_t seq,
                   std::int64_t ts, const EventId& id, const View& view) {
    const int log = device ? sealed.index.LogOf(*device) : sealed.index.Of(who);
    if (ts <= d && !view.Covers(log, seq)) out.push_back(id);
  };
  for (const auto* p : round) {
    check(p->author, p->device, p->seq, p->created_ms, p->event, sealed.view);
    for (std::size_t j = 0; j < p->votes.size(); ++j) {
      const auto& v = p->votes[j];
      if (v.timestamp_ms <= d &&
          !sealed.view.Covers(sealed.index.LogOf(sealed.VoterOf(*p, j), v.device), v.seq)) {
        out.push_back(v.event);
      }
    }
    for (const auto& en : p->endorsements) {
      check(en.member, en.device, en.seq, en.timestamp_ms, en.event, sealed.view);
    }
    for (const auto& f : p->flags) {
      check(f.flagger, f.device, f.seq, f.timestamp_ms, f.event, sealed.view);
      for (const auto& r : f.resolutions) {
        check(r.author, r.device, r.seq, r.timestamp_ms, r.event, sealed.view);
      }
    }
  }
  for (const auto& dl : st.delegations) {
    check(dl.delegator, dl.device, dl.seq, dl.timestamp_ms, dl.event, sealed.view);
  }
  for (const auto& m : st.members) {
    for (const auto& a : m.admissions) {
      check(a.admitter, a.device, a.seq, a.timestamp_ms, a.event, sealed.MembershipView());
    }
  }
  for (const auto& r : st.removals) {
    check(r.remover, r.device, r.seq, r.timestamp_ms, r.event, sealed.MembershipView());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// One round decided under `ctx`, from `left` of the pool and the organisations' spending.
RoundRun RunRound(const RoundContext& ctx, const std::vector<const ProposalRecord*>& round,
                  Money left, std::map<std::string, Money> org_spent,
                  const IgnoredVotes& ignored_votes) {
  RoundRun run;
  run.left = left;
  run.org_spent = std::move(org_spent);
  std::vector<mpq_class> for_weight(round.size());
  for (std::size_t i = 0; i < round.size(); ++i) {
    run.outcomes.push_back(TallyProposal(ctx, *round[i], ignored_votes, &for_weight[i]));
  }
  if (ctx.closed) Allocate(ctx, for_weight, run);
  return run;
}

bool SameDecisions(const RoundRun& a, const RoundRun& b) {
  if (a.outcomes.size() != b.outcomes.size()) return false;
  for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
    if (a.outcomes[i].status != b.outcomes[i].status ||
        a.outcomes[i].reason != b.outcomes[i].reason) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<const SealRecord*> FirstOwnSeals(const std::vector<SealRecord>& seals,
                                             std::int64_t deadline) {
  // Sorted by (deadline, member), then ActBefore, which within one log is the seq order.
  auto it = std::lower_bound(seals.begin(), seals.end(), deadline,
                             [](const SealRecord& s, std::int64_t d) { return s.deadline_ms < d; });
  std::vector<const SealRecord*> out;
  for (; it != seals.end() && it->deadline_ms == deadline; ++it) {
    if (it->device || (!out.empty() && out.back()->author == it->author)) continue;
    out.push_back(&*it);
  }
  return out;
}

SealNote CountSeals(const RoundContext& ctx, std::int64_t deadline,
                    std::vector<std::uint64_t>* heads, std::vector<char>* forked) {
  const CircleState& st = ctx.st;
  const MemberIndex& index = ctx.index;
  SealNote note;
  const std::uint32_t n = ctx.n_eligible;
  note.required = ctx.rules.seals_required > 0 ? std::min(ctx.rules.seals_required, n) : n / 2 + 1;
  note.required = std::max(note.required, 1u);
  const std::size_t k = note.required;

  // Each eligible member's seal: their first for the deadline in their own key's log.
  std::vector<char> sealed_by(st.members.size(), 0);
  std::vector<const SealRecord*> counting;
  for (const SealRecord* s : FirstOwnSeals(st.seals, deadline)) {
    const int i = index.Of(s->author);
    if (!ctx.Eligible(i)) continue;
    sealed_by[static_cast<std::size_t>(i)] = 1;
    counting.push_back(s);
    note.counting.push_back(s->author);
  }
  for (std::size_t i = 0; i < st.members.size(); ++i) {
    if (ctx.Eligible(static_cast<int>(i)) && !sealed_by[i])
      note.missing.push_back(st.members[i].key);
  }
  const std::size_t out = note.missing.size();

  // Per log, what the counting seals cover: known (the entry's event is held here, or the
  // sealer's own log up to the seal), or at most the entry's seq (its event is not held here), each
  // with the number of seals covering that much. A seal's base lends its entries to every seal
  // based on it that does not list the author itself: counted once per base, with a multiplicity,
  // so that a round of n seals on a few bases costs what its entries cost, not n per log.
  // A log frozen from z (a fork, a revocation) is placed up to z - 1 at most, and every version of
  // it shares that prefix: an entry at or beyond z covers the prefix, whichever version it names.
  struct Cover {
    std::uint64_t seq;
    std::uint32_t seals;
  };
  const std::size_t logs = index.logs();
  std::vector<std::vector<Cover>> known(logs), unknown(logs);
  std::vector<std::uint32_t> fork_reports(st.members.size(), 0);
  auto frozen_from = [&](std::size_t m) -> std::optional<std::uint64_t> {
    if (m < st.members.size()) return st.members[m].fork_seq;
    return st.devices[m - st.members.size()].frozen_from;
  };
  auto cover = [&](std::size_t m, const SealHead& h, std::uint32_t seals) {
    if (const auto z = frozen_from(m); z && h.seq >= *z) {
      const LogRecord* held = st.FindLog(h.author);
      const std::uint64_t placed = held ? held->timestamps.size() : 0;
      known[m].push_back({std::min(*z - 1, placed), seals});
      if (placed < *z - 1) unknown[m].push_back({*z - 1, seals});
      return;
    }
    (h.held ? known : unknown)[m].push_back({h.seq, seals});
  };
  // Bases: seals of this deadline by their id. `lent[b]` counts the seals based on base b;
  // `taken[b]`, per seal based on it, the logs it does not take from b (listed, or its own).
  std::unordered_map<EventId, const SealRecord*, Id32Hash> by_id;
  for (auto it =
           std::lower_bound(st.seals.begin(), st.seals.end(), deadline,
                            [](const SealRecord&s, std::int64_t d) { return s.deadline_ms < d; });
       it != st.seals.end() && it->deadline_ms == deadline; ++it) {
    by_id.emplace(it->event, &*it);
  }
  std::vector<const SealRecord*> bases;
  std::unordered_map<const SealRecord*, std::size_t> base_ix;
  std::vector<std::uint32_t> lent;
  std::vector<std::vector<int>> taken;
  // Seals whose base is not held here: every log they do not list is unknown, to any seq.
  std::uint32_t blind = 0;
  std::vector<std::uint32_t> blind_listed(logs, 0);
  for (const SealRecord* s : counting) {
    const int own = index.Of(s->author);
    const SealRecord* base = nullptr;
    bool unresolved = false;
    if (s->base) {
      auto b = by_id.find(*s->base);
      if (b == by_id.end()) {
        unresolved = true;
      } else if (!b->second->device && !b->second->base && b->second != s) {
        base = b->second;
      }  // else a base that cannot be one: the seal covers what it lists
    }
    std::vector<int>* skip = nullptr;
    if (base) {
      auto [at, added] = base_ix.emplace(base, bases.size());
      if (added) {
        bases.push_back(base);
        lent.push_back(0);
        taken.emplace_back();
      }
      ++lent[at->second];
      skip = &taken[at->second];
      skip->push_back(own);
    }
    if (unresolved) {
      ++blind;
      ++blind_listed[static_cast<std::size_t>(own)];
    }
    for (const auto& h : s->heads) {
      const int log = index.LogOf(h.author);
      if (log < 0 || log == own) continue;
      const auto m = static_cast<std::size_t>(log);
      if (skip) skip->push_back(log);
      if (unresolved) ++blind_listed[m];
      if (h.forked && m < st.members.size()) ++fork_reports[m];
      cover(m, h, 1);
    }
    if (s->seq > 1) known[static_cast<std::size_t>(own)].push_back({s->seq - 1, 1});
  }
  for (std::size_t b = 0; b < bases.size(); ++b) {
    auto& skip = taken[b];
    std::sort(skip.begin(), skip.end());
    for (const auto& h : bases[b]->heads) {
      const int log = index.LogOf(h.author);
      if (log < 0) continue;
      const auto [lo, hi] = std::equal_range(skip.begin(), skip.end(), log);
      const auto seals = lent[b] - static_cast<std::uint32_t>(hi - lo);
      if (seals > 0) cover(static_cast<std::size_t>(log), h, seals);
    }
  }

  if (heads) heads->assign(logs, 0);
  for (std::size_t m = 0; m < logs; ++m) {
    // The counted prefix: what at least k seals are known to cover.
    auto& kv = known[m];
    std::sort(kv.begin(), kv.end(), [](const Cover& a, const Cover& b) { return a.seq > b.seq; });
    std::uint64_t head = 0;
    std::size_t seen = 0;
    for (const auto& c : kv) {
      seen += c.seals;
      if (seen >= k) {
        head = c.seq;
        break;
      }
    }
    if (heads) (*heads)[m] = head;
    // The first event past it: can seals still to come make it count?
    const std::uint64_t next = head + 1;
    const MemberKey& key = index.LogKey(static_cast<int>(m));
    const auto frozen = frozen_from(m);  // nothing from here on is placed, ever
    if (frozen && next >= *frozen) continue;
    const LogRecord* log = st.FindLog(key);
    if (log && next <= log->timestamps.size() && log->timestamps[next - 1] > deadline) continue;
    std::size_t may = out + (blind - blind_listed[m]);
    for (const auto& c : kv) may += c.seq >= next ? c.seals : 0;
    for (const auto& c : unknown[m]) may += c.seq >= next ? c.seals : 0;
    if (may >= k) note.undecided.push_back(key);
  }
  // A member counts as forked in the round when at least k seals say their sealer held proof
  // of it (a fork signed after the round was sealed changes nothing in it); undecided while the
  // missing members could still make it k.
  if (forked) forked->assign(st.members.size(), 0);
  for (std::size_t m = 0; m < st.members.size(); ++m) {
    const std::size_t r = fork_reports[m];
    if (r >= k) {
      if (forked) (*forked)[m] = 1;
      note.forked.push_back(st.members[m].key);
    } else if (r + out >= k) {
      note.undecided.push_back(st.members[m].key);
    }
  }
  std::sort(note.undecided.begin(), note.undecided.end());
  note.undecided.erase(std::unique(note.undecided.begin(), note.undecided.end()),
                       note.undecided.end());
  note.sealed = note.undecided.empty();
  return note;
}

std::optional<IntegrityAlert> CheckSealedView(const RoundContext& sealed, const RoundContext& full,
                                              const std::vector<const ProposalRecord*>& round,
                                              Money left,
                                              const std::map<std::string, Money>& org_spent,
                                              const IgnoredVotes& ignored_votes) {
  std::vector<EventId> late = Unsealed(sealed, round);
  if (late.empty()) return std::nullopt;
  const RoundRun run = RunRound(sealed, round, left, org_spent, ignored_votes);
  const RoundRun would = RunRound(full, round, left, org_spent, ignored_votes);
  if (SameDecisions(run, would)) return std::nullopt;
  IntegrityAlert alert;
  alert.deadline_ms = sealed.cutoff;
  alert.events = std::move(late);
  for (std::size_t i = 0; i < run.outcomes.size(); ++i) {
    if (run.outcomes[i].status != would.outcomes[i].status ||
        run.outcomes[i].reason != would.outcomes[i].reason) {
      alert.proposals.push_back(run.outcomes[i].proposal);
    }
  }
  return alert;
}

}  // namespace polder::decide
