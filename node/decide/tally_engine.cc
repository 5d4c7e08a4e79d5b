// Tally() and TallyEngine (tally.h): the circle's funding rounds decided in deadline order — each
// round's context and seals, its proposals' tallies, its allocation from what earlier rounds
// left, and the rule changes it adopts for later rounds — kept so that one new vote recomputes
// only what it can change.
#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <tuple>
#include <utility>

#include "node/decide/member_index.h"
#include "node/decide/proposal_tally.h"
#include "node/decide/risk_gate.h"
#include "node/decide/round_allocation.h"
#include "node/decide/round_context.h"
#include "node/decide/seals.h"
#include "node/decide/tally.h"

namespace polder::decide {
namespace {

// One round as last computed.
struct RoundCache {
  RoundSummary summary;
  std::vector<const ProposalRecord*> round;
  Rules rules;                       // in force (summary.rules, at a stable address)
  std::vector<std::uint64_t> heads;  // the sealed view, when sealed
  std::vector<char> forked;          // per member: forked in the round, when sealed
  // After the first round: per log, what the committee's seals count of admissions and removals,
  // and the logs where that is undecided.
  std::vector<std::uint64_t> member_heads;
  std::vector<MemberKey> members_undecided;
  std::vector<MemberKey> votes_undecided;  // undecided by the other seals' count (the rest)
  std::unique_ptr<RoundContext> ctx;       // what its proposals were tallied with
  std::vector<mpq_class> for_weight;       // per proposal, from the tally
  RoundRun run;                            // outcomes (allocated), left and org_spent after
  std::map<std::string, Money> org_spent_before;
};

}  // namespace

struct TallyEngine::Impl {
  CircleState owned;
  const CircleState* st = nullptr;
  std::int64_t as_of_ms = 0;
  IgnoredVotes ignored_votes;
  std::vector<RoundCache> rounds;
  std::map<EventId, std::pair<std::size_t, std::size_t>> where;  // proposal → (round, index)
  std::vector<IntegrityAlert> alerts;
  Rules rules_now;
  std::unique_ptr<MemberIndex> index;
  std::vector<std::vector<int>> voters;              // per proposal, each vote's voter index
  std::map<EventId, std::vector<SealHead*>> unheld;  // seal entries naming an event not held
  // Proposals moved by a late flag: their own deadline, the round's, and the flag.
  struct Move {
    std::int64_t from = 0;
    std::int64_t to = 0;
    EventId flag;
  };
  std::map<EventId, Move> moved;

  std::unique_ptr<RoundContext> Context(const Rules& rules, std::int64_t cutoff, bool closed,
                                        const std::vector<std::uint64_t>* sealed,
                                        const std::vector<char>* forked = nullptr,
                                        const std::vector<std::uint64_t>* membership = nullptr) {
    auto ctx = std::make_unique<RoundContext>(*st, *index, rules);
    ctx->voters = &voters;
    ctx->cutoff = cutoff;
    ctx->closed = closed;
    ctx->view.sealed = sealed;
    ctx->membership.sealed = membership;
    ctx->forked = forked;
    ctx->Prepare();
    return ctx;
  }

  void Compute() {
    const CircleState& s = *st;
    index = std::make_unique<MemberIndex>(s);
    voters.assign(s.proposals.size(), {});
    for (std::size_t i = 0; i < s.proposals.size(); ++i) {
      auto& v = voters[i];
      v.reserve(s.proposals[i].votes.size());
      for (const auto& vote : s.proposals[i].votes) v.push_back(index->Of(vote.voter));
    }
    ignored_votes = IgnoredVotesOf(s);
    unheld.clear();
    if (st == &owned) {
      for (auto& seal : owned.seals) {
        for (auto& h : seal.heads) {
          if (!h.held) unheld[h.head].push_back(&h);
        }
      }
    }
    rounds.clear();
    where.clear();
    alerts.clear();
    // Rounds by deadline, each's proposals by id; a late flag may move a proposal to a later one.
    std::map<std::int64_t, std::vector<const ProposalRecord*>> by_deadline;
    for (const auto& p : s.proposals) by_deadline[p.deadline_ms].push_back(&p);
    moved.clear();
    // Contexts refer to their RoundCache's rules: no reallocation (each move adds a round at most).
    rounds.reserve(by_deadline.size() + s.proposals.size());

    // The first round's committee: the members the charter names, when it names partners besides
    // the founder (rules version 10); a circle founded alone has none (tally.h "Who counts").
    std::unique_ptr<RoundContext> genesis;
    if (std::any_of(s.members.begin(), s.members.end(),
                    [](const Member& m) { return m.partner; })) {
      genesis = std::make_unique<RoundContext>(s, *index, s.rules);
      genesis->eligible.assign(s.members.size(), 0);
      for (std::size_t i = 0; i < s.members.size(); ++i) {
        if (s.members[i].founder || s.members[i].partner) {
          genesis->eligible[i] = 1;
          ++genesis->n_eligible;
        }
      }
    }

    Rules rules = s.rules;
    Money left = s.pool_minor;
    std::map<std::string, Money> org_spent;
    bool earlier_final = true;
    for (auto& [deadline, round] : by_deadline) {
      rounds.emplace_back();
      RoundCache& rc = rounds.back();
      rc.round = std::move(round);
      rc.rules = rules;
      RoundSummary& summary = rc.summary;
      summary.deadline_ms = deadline;
      summary.rules = rules;
      summary.pool_left_before = left;
      // Every event held, up to the cut-off; once the round is sealed, only its sealed view.
      auto full =
          Context(rc.rules, std::min(as_of_ms, deadline), as_of_ms > deadline, /*sealed=*/nullptr);
      const RoundContext* committee =
          rounds.size() > 1 ? rounds[rounds.size() - 2].ctx.get() : genesis.get();
      if (full->closed && committee) {
        CountSealsWithCommittee(rc, *committee, *full);
      } else if (full->closed) {
        summary.seals = CountSeals(*full, deadline, &rc.heads, &rc.forked);
        rc.votes_undecided = summary.seals.undecided;
      }
      if (summary.seals.sealed) {
        full->forked = &rc.forked;  // the alert compares views, not fork rules
        auto sealed = Context(rc.rules, deadline, /*closed=*/true, &rc.heads, &rc.forked,
                              committee ? &rc.member_heads : nullptr);
        if (auto alert =
                CheckSealedView(*sealed, *full, rc.round, left, org_spent, ignored_votes)) {
          alerts.push_back(std::move(*alert));
        }
        rc.ctx = std::move(sealed);
      } else {
        rc.ctx = std::move(full);
      }
      MoveLateFlagged(rc, by_deadline);
      for (std::size_t i = 0; i < rc.round.size(); ++i) {
        summary.proposals.push_back(rc.round[i]->event);
        where[rc.round[i]->event] = {rounds.size() - 1, i};
      }
      summary.finality = RoundFinality(rc.ctx->closed, summary.seals.sealed, earlier_final);
      earlier_final = summary.finality == Finality::kFinal;
      for (std::size_t i = 0; i < s.members.size(); ++i) {
        if (rc.ctx->eligible[i]) summary.eligible.push_back(s.members[i].key);
      }
      rc.for_weight.resize(rc.round.size());
      rc.run.outcomes.reserve(rc.round.size());
      const SharedSealNote shared_seals(summary.seals);
      for (std::size_t i = 0; i < rc.round.size(); ++i) {
        rc.run.outcomes.push_back(
            TallyProposal(*rc.ctx, *rc.round[i], ignored_votes, &rc.for_weight[i]));
        auto& o = rc.run.outcomes.back();
        NoteMove(o);
        o.finality = summary.finality;
        o.explanation.seals = shared_seals;
        o.explanation.earlier_round_provisional =
            summary.seals.sealed && summary.finality != Finality::kFinal;
      }
      rc.org_spent_before = org_spent;
      AllocateRound(rc, left, org_spent);
      left = rc.run.left;
      org_spent = rc.run.org_spent;
      for (const auto& o : rc.run.outcomes) {
        if (o.status == Status::kAdopted) {
          // By id: the last adopted one stands, except that organisations only ever add up.
          const auto before = std::move(rules.organisations);
          rules = *s.FindProposal(o.proposal)->rule_change;
          AddOrganisations(rules, before);
        }
      }
    }
    rules_now = rules;
  }

  // The seals of a closed round after the first (tally.h "Seals and finality"): its committee —
  // the members eligible in the round before it, as that round was decided — decides which
  // admissions and removals count (those at least k of the committee's seals cover, k a majority
  // of the committee), and so who is eligible at the deadline; those members' seals then decide
  // which other events count. Sealed when both are.
  // While the committee has not decided yet, the note counts seals as a round decided on every
  // event held would (`full`), so that it shows who is still to seal.
  void CountSealsWithCommittee(RoundCache& rc, const RoundContext& committee,
                               const RoundContext& full) {
    const std::int64_t deadline = rc.summary.deadline_ms;
    RoundContext members(*st, *index, rc.rules);
    members.cutoff = deadline;
    members.closed = true;
    members.eligible = committee.eligible;
    members.n_eligible = committee.n_eligible;
    const SealNote acts = CountSeals(members, deadline, &rc.member_heads);
    SealNote& note = rc.summary.seals;
    if (acts.undecided.empty()) {
      const auto sealing =
          Context(rc.rules, deadline, /*closed=*/true, nullptr, nullptr, &rc.member_heads);
      note = CountSeals(*sealing, deadline, &rc.heads, &rc.forked);
    } else {
      note = CountSeals(full, deadline, &rc.heads, &rc.forked);
    }
    rc.members_undecided = acts.undecided;
    rc.votes_undecided = note.undecided;
    note.undecided.insert(note.undecided.end(), acts.undecided.begin(), acts.undecided.end());
    std::sort(note.undecided.begin(), note.undecided.end());
    note.undecided.erase(std::unique(note.undecided.begin(), note.undecided.end()),
                         note.undecided.end());
    note.sealed = note.undecided.empty();
    note.committee_required = acts.required;
    for (std::size_t i = 0; i < st->members.size(); ++i) {
      if (committee.eligible[i]) rc.summary.committee.push_back(st->members[i].key);
    }
  }

  // A closed round's proposals that a late flag moves (tally.h "Risk gating") leave it for the
  // round at their deadline + the window, once: a moved proposal's deadline is not the round's.
  void MoveLateFlagged(RoundCache& rc,
                       std::map<std::int64_t, std::vector<const ProposalRecord*>>& by_deadline) {
    const std::int64_t deadline = rc.summary.deadline_ms;
    const std::int64_t window = rc.rules.late_flag_window_ms;
    if (!rc.ctx->closed || deadline > std::numeric_limits<std::int64_t>::max() - window) return;
    std::vector<const ProposalRecord*> stay;
    for (const ProposalRecord* p : rc.round) {
      const FlagRecord* flag = LateBlockingFlag(*rc.ctx, *p);
      if (!flag) {
        stay.push_back(p);
        continue;
      }
      moved[p->event] = {deadline, deadline + window, flag->event};
      auto& later = by_deadline[deadline + window];
      later.insert(std::upper_bound(later.begin(), later.end(), p,
                                    [](const ProposalRecord* a, const ProposalRecord* b) {
                                      return a->event < b->event;
                                    }),
                   p);
    }
    rc.round = std::move(stay);
  }

  // Marks a moved proposal's explanation: its round's deadline, and where it moved from.
  void NoteMove(ProposalOutcome& o) const {
    auto m = moved.find(o.proposal);
    if (m == moved.end()) return;
    o.explanation.moved_from_ms = m->second.from;
    o.explanation.deadline_ms = m->second.to;
    o.explanation.late_flag = m->second.flag;
  }

  void AllocateRound(RoundCache& rc, Money left, const std::map<std::string, Money>& org_spent) {
    rc.summary.pool_left_before = left;
    rc.run.left = left;
    rc.run.org_spent = org_spent;
    rc.run.allocation_error.clear();
    ResetAllocation(rc.run.outcomes);
    if (rc.ctx->closed) Allocate(*rc.ctx, rc.for_weight, rc.run);
    rc.summary.allocated_minor = left - rc.run.left;
  }

  // How many of the round's counting seals say their sealer held proof that `who` forked.
  std::size_t ForkReports(const RoundSummary& round, const MemberKey& who) const {
    const auto& counting = round.seals.counting;
    std::size_t reports = 0;
    for (const SealRecord* s : FirstOwnSeals(owned.seals, round.deadline_ms)) {
      if (!std::binary_search(counting.begin(), counting.end(), s->author)) continue;
      auto h = std::lower_bound(s->heads.begin(), s->heads.end(), who,
                                [](const SealHead& e, const MemberKey& k) { return e.author < k; });
      reports += h != s->heads.end() && h->author == who && h->forked;
    }
    return reports;
  }

  bool AddVote(const EventId& proposal, const VoteRecord& vote) {
    auto w = where.find(proposal);
    if (w == where.end()) return false;
    auto* p = const_cast<ProposalRecord*>(owned.FindProposal(proposal));
    if (!p || st != &owned) return false;
    auto at = std::upper_bound(p->votes.begin(), p->votes.end(), vote, VoteBefore);
    auto& vix = voters[static_cast<std::size_t>(p - owned.proposals.data())];
    vix.insert(vix.begin() + (at - p->votes.begin()), index->Of(vote.voter));
    p->votes.insert(at, vote);
    // The vote is the next placed event of its log.
    const MemberKey& signer = SignerOf(vote.voter, vote);
    auto log = std::lower_bound(owned.logs.begin(), owned.logs.end(), signer,
                                [](const LogRecord& l, const MemberKey& k) { return l.key < k; });
    if (log == owned.logs.end() || log->key != signer) log = owned.logs.insert(log, {signer, {}});
    log->timestamps.push_back(vote.timestamp_ms);
    // A seal that named it knows now what it covers of the log.
    bool named = false;
    if (auto u = unheld.find(vote.event); u != unheld.end()) {
      for (SealHead* h : u->second) {
        if (h->author == signer && h->seq == vote.seq) named = h->held = true;
      }
    }
    const auto [r, i] = w->second;
    RoundCache& rc = rounds[r];
    if (p->rule_change || rc.summary.seals.sealed || named) {
      Compute();  // a rule change reaches later rounds' rules; a sealed round may raise an alert
      return true;
    }
    // A closed round's seals look at each log's first event past what they count. When that is
    // this vote, timestamped after the deadline, the log is decided now (nothing later in it
    // can count); timestamped by the deadline, it is as undecided as before it was held.
    const int log_ix = index->LogOf(signer);
    const auto erase = [&](std::vector<MemberKey>& keys) {
      auto u = std::lower_bound(keys.begin(), keys.end(), signer);
      if (u == keys.end() || *u != signer) return false;
      keys.erase(u);
      return true;
    };
    for (auto& c : rounds) {
      if (!c.ctx->closed || log_ix < 0 || vote.timestamp_ms <= c.summary.deadline_ms) continue;
      const auto log = static_cast<std::size_t>(log_ix);
      bool changed = false;
      // Listed by the other seals' count also when seals still to come could make them forked in
      // the round: then it stays.
      if (c.heads[log] + 1 == vote.seq &&
          std::binary_search(c.votes_undecided.begin(), c.votes_undecided.end(), signer) &&
          c.summary.seals.missing.size() + ForkReports(c.summary, signer) <
              c.summary.seals.required) {
        changed = erase(c.votes_undecided);
      }
      if (!c.member_heads.empty() && c.member_heads[log] + 1 == vote.seq &&
          erase(c.members_undecided)) {
        if (c.members_undecided.empty()) {  // the committee decided: who counts is known now
          Compute();
          return true;
        }
        changed = true;
      }
      if (!changed ||
          std::binary_search(c.votes_undecided.begin(), c.votes_undecided.end(), signer) ||
          std::binary_search(c.members_undecided.begin(), c.members_undecided.end(), signer)) {
        continue;
      }
      auto& undecided = c.summary.seals.undecided;
      erase(undecided);
      if (undecided.empty()) {  // the round is sealed now
        Compute();
        return true;
      }
      const SharedSealNote shared(c.summary.seals);
      for (auto& o : c.run.outcomes) o.explanation.seals = shared;
    }
    // Only this proposal's figures change; then its round's allocation, and later rounds' as long
    // as what a round leaves differs from before.
    const ProposalOutcome before = rc.run.outcomes[i];
    rc.run.outcomes[i] = TallyProposal(*rc.ctx, *p, ignored_votes, &rc.for_weight[i]);
    auto& o = rc.run.outcomes[i];
    NoteMove(o);
    o.finality = before.finality;
    o.explanation.seals = before.explanation.seals;
    o.explanation.earlier_round_provisional = before.explanation.earlier_round_provisional;
    if (!rc.ctx->closed) return true;
    for (std::size_t k = r; k < rounds.size(); ++k) {
      RoundCache& cur = rounds[k];
      const Money old_left = cur.run.left;
      const auto old_spent = cur.run.org_spent;
      const Money left = k == r ? cur.summary.pool_left_before : rounds[k - 1].run.left;
      const auto& spent = k == r ? cur.org_spent_before : rounds[k - 1].run.org_spent;
      if (k > r) cur.org_spent_before = spent;
      AllocateRound(cur, left, spent);
      if (cur.run.left == old_left && cur.run.org_spent == old_spent) break;
    }
    return true;
  }

  TallyResult Result(bool move) {
    TallyResult out;
    out.as_of_ms = as_of_ms;
    out.pool_minor = st->pool_minor;
    out.alerts = alerts;
    out.rules_now = rules_now;
    std::size_t n = 0;
    for (const auto& rc : rounds) n += rc.run.outcomes.size();
    out.proposals.reserve(n);
    for (auto& rc : rounds) {
      if (out.allocation_error.empty()) out.allocation_error = rc.run.allocation_error;
      out.allocated_minor += rc.summary.allocated_minor;
      for (auto& o : rc.run.outcomes) {
        if (move) {
          out.proposals.push_back(std::move(o));
        } else {
          out.proposals.push_back(o);
        }
      }
      out.rounds.push_back(move ? std::move(rc.summary) : rc.summary);
    }
    std::sort(out.proposals.begin(), out.proposals.end(),
              [](const auto& a, const auto& b) { return a.proposal < b.proposal; });
    return out;
  }
};

TallyEngine::TallyEngine(CircleState state, std::int64_t as_of_ms)
    : impl_(std::make_unique<Impl>()) {
  impl_->owned = std::move(state);
  impl_->st = &impl_->owned;
  impl_->as_of_ms = as_of_ms;
  impl_->Compute();
}
TallyEngine::~TallyEngine() = default;

bool TallyEngine::AddVote(const EventId& proposal, const VoteRecord& vote) {
  return impl_->AddVote(proposal, vote);
}

const ProposalOutcome* TallyEngine::Find(const EventId& proposal) const {
  auto w = impl_->where.find(proposal);
  if (w == impl_->where.end()) return nullptr;
  return &impl_->rounds[w->second.first].run.outcomes[w->second.second];
}

Money TallyEngine::allocated_minor() const {
  Money total;
  for (const auto& rc : impl_->rounds) total += rc.summary.allocated_minor;
  return total;
}

TallyResult TallyEngine::Result() const { return impl_->Result(false); }
const CircleState& TallyEngine::state() const { return impl_->owned; }

SharedSealNote::SharedSealNote() {
  static const auto empty = std::make_shared<const SealNote>();
  p_ = empty;
}
SharedSealNote::SharedSealNote(SealNote note)
    : p_(std::make_shared<const SealNote>(std::move(note))) {}

TallyResult Tally(const CircleState& st, std::int64_t as_of_ms) {
  TallyEngine::Impl impl;
  impl.st = &st;
  impl.as_of_ms = as_of_ms;
  impl.Compute();
  return impl.Result(true);
}

std::vector<MemberStanding> Standings(const CircleState& st, const Rules& rules,
                                      std::int64_t as_of_ms) {
  const MemberIndex index(st);
  RoundContext ctx(st, index, rules);
  ctx.cutoff = as_of_ms;
  std::vector<std::string> why_not;
  ctx.Prepare(&why_not);
  std::map<MemberKey, std::vector<MemberKey>> removers;  // in removal order, each once
  for (const auto& r : st.removals) {
    auto& who = removers[r.member];
    if (std::find(who.begin(), who.end(), r.remover) == who.end()) who.push_back(r.remover);
  }
  std::vector<MemberStanding> out;
  out.reserve(st.members.size());
  for (std::size_t i = 0; i < st.members.size(); ++i) {
    const Member& m = st.members[i];
    MemberStanding s;
    s.key = m.key;
    s.eligible = ctx.eligible[i] != 0;
    for (const auto& a : m.admissions) {
      if (std::find(s.admitted_by.begin(), s.admitted_by.end(), a.admitter) == s.admitted_by.end())
        s.admitted_by.push_back(a.admitter);
    }
    s.removed = ctx.removed[i] != 0;
    s.removed_ms = ctx.removed_at[i];
    if (auto it = removers.find(m.key); it != removers.end()) s.removed_by = std::move(it->second);
    s.why_not = std::move(why_not[i]);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace polder::decide
