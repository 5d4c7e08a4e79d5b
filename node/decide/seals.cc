#include "node/decide/seals.h"

#include <algorithm>
#include <functional>

#include "node/decide/round_allocation.h"
#include "node/decide/round_context.h"

namespace polder::decide {
namespace {

// Events timestamped by a sealed round's deadline that its sealed view leaves out: what decides
// the round's proposals (the proposals, votes, endorsements, flags and resolutions) and who may
// vote (delegations, admissions).
std::vector<EventId> Unsealed(const RoundContext& sealed,
                              const std::vector<const ProposalRecord*>& round) {
  const CircleState& st = sealed.st;
  const std::int64_t d = sealed.cutoff;
  std::vector<EventId> out;
  auto check = [&](const MemberKey& who, const std::optional<MemberKey>& device, std::uint64_t seq,
                   std::int64_t ts, const EventId& id) {
    const int log = device ? sealed.index.LogOf(*device) : sealed.index.Of(who);
    if (ts <= d && !sealed.view.Covers(log, seq)) out.push_back(id);
  };
  for (const auto* p : round) {
    check(p->author, p->device, p->seq, p->created_ms, p->event);
    for (std::size_t j = 0; j < p->votes.size(); ++j) {
      const auto& v = p->votes[j];
      if (v.timestamp_ms <= d &&
          !sealed.view.Covers(sealed.index.LogOf(sealed.VoterOf(*p, j), v.device), v.seq)) {
        out.push_back(v.event);
      }
    }
    for (const auto& en : p->endorsements) {
      check(en.member, en.device, en.seq, en.timestamp_ms, en.event);
    }
    for (const auto& f : p->flags) {
      check(f.flagger, f.device, f.seq, f.timestamp_ms, f.event);
      for (const auto& r : f.resolutions) check(r.author, r.device, r.seq, r.timestamp_ms, r.event);
    }
  }
  for (const auto& dl : st.delegations) {
    check(dl.delegator, dl.device, dl.seq, dl.timestamp_ms, dl.event);
  }
  for (const auto& m : st.members) {
    for (const auto& a : m.admissions) check(a.admitter, a.device, a.seq, a.timestamp_ms, a.event);
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

SealNote CountSeals(const RoundContext& ctx, std::int64_t deadline,
                    std::vector<std::uint64_t>* heads) {
  const CircleState& st = ctx.st;
  SealNote note;
  const std::uint32_t n = ctx.n_eligible;
  note.required = ctx.rules.seals_required > 0 ? std::min(ctx.rules.seals_required, n) : n / 2 + 1;
  note.required = std::max(note.required, 1u);
  auto lo = std::lower_bound(st.seals.begin(), st.seals.end(), deadline,
                             [](const SealRecord& s, std::int64_t d) { return s.deadline_ms < d; });
  std::vector<std::pair<int, const SealRecord*>> cands;  // first seal per eligible, unforked member
  for (auto it = lo; it != st.seals.end() && it->deadline_ms == deadline; ++it) {
    const int i = ctx.index.Of(it->author);
    if (!ctx.Eligible(i) || ctx.Forked(i)) continue;
    if (!cands.empty() && cands.back().first == i) continue;  // sorted by (author, seq)
    cands.emplace_back(i, &*it);
  }
  // How much of a log seal `s` covers (the log that signed it: up to the seal itself).
  auto coverage = [&](const SealRecord& s, int log) -> std::uint64_t {
    if (log < 0) return 0;
    const MemberKey& k = ctx.index.LogKey(log);
    auto h = std::lower_bound(s.heads.begin(), s.heads.end(), k,
                              [](const auto& e, const MemberKey& key) { return e.first < key; });
    std::uint64_t c = h != s.heads.end() && h->first == k ? h->second : 0;
    if (k == SignerOf(s.author, s)) c = std::max(c, s.seq - 1);
    return c;
  };
  // A seal that covers `required` other candidate seals was made after the round was sealed.
  std::vector<const SealRecord*> counting;
  for (const auto& [i, s] : cands) {
    std::uint32_t covers = 0;
    for (const auto& [j, t] : cands) {
      if (j != i && coverage(*s, ctx.index.LogOf(j, t->device)) >= t->seq) ++covers;
    }
    if (covers >= note.required) {
      note.late.push_back(s->author);
    } else {
      note.counting.push_back(s->author);
      counting.push_back(s);
    }
  }
  note.sealed = counting.size() >= note.required;
  if (note.sealed && heads) {
    // The sealed view: an event is in it when at least `required` counting seals cover it.
    heads->assign(ctx.index.logs(), 0);
    std::vector<std::uint64_t> values;
    for (std::size_t m = 0; m < ctx.index.logs(); ++m) {
      values.clear();
      for (const auto* s : counting) values.push_back(coverage(*s, static_cast<int>(m)));
      std::nth_element(values.begin(), values.begin() + (note.required - 1), values.end(),
                       std::greater<>());
      (*heads)[m] = values[note.required - 1];
    }
  }
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
