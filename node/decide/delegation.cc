#include "node/decide/delegation.h"

#include <algorithm>
#include <set>

#include "node/decide/round_context.h"

namespace polder::decide {

const DelegationRecord* DelegationsInForce::For(int member, const std::string& topic,
                                                bool* is_topic) const {
  *is_topic = false;
  if (!topic.empty()) {
    if (auto it = topical.find({member, topic}); it != topical.end()) {
      *is_topic = true;
      return it->second;
    }
  }
  return general[static_cast<std::size_t>(member)];
}

DelegationsInForce DelegationsAt(const CircleState& st, const MemberIndex& index,
                                 std::int64_t cutoff, const View& view) {
  DelegationsInForce out;
  out.general.assign(st.members.size(), nullptr);
  std::set<int> with;
  // st.delegations is sorted by (delegator, topic), then in the delegator's order of acts: each
  // run is one (delegator, topic), its last one in force the latest.
  for (std::size_t j = 0; j < st.delegations.size();) {
    const auto& first = st.delegations[j];
    const int who = index.Of(first.delegator);
    const DelegationRecord* last = nullptr;
    std::size_t k = j;
    for (; k < st.delegations.size() && st.delegations[k].delegator == first.delegator &&
           st.delegations[k].topic == first.topic;
         ++k) {
      const auto& d = st.delegations[k];
      if (d.timestamp_ms <= cutoff && view.Covers(index.LogOf(who, d.device), d.seq)) last = &d;
    }
    j = k;
    if (!last || last->revoke || who < 0) continue;
    if (last->topic.empty()) {
      out.general[static_cast<std::size_t>(who)] = last;
    } else {
      out.topical[{who, last->topic}] = last;
    }
    with.insert(who);
  }
  out.delegators.assign(with.begin(), with.end());
  return out;
}

void FollowDelegations(const RoundContext& ctx, const ProposalRecord& proposal,
                       const std::vector<std::pair<int, const VoteRecord*>>& direct,
                       std::vector<CastVote>* cast, std::vector<DelegationNote>* notes) {
  auto direct_of = [&](int i) -> const VoteRecord* {
    auto it = std::lower_bound(direct.begin(), direct.end(), i,
                               [](const auto& d, int k) { return d.first < k; });
    return it != direct.end() && it->first == i ? it->second : nullptr;
  };
  for (int i : ctx.delegations.delegators) {
    if (!ctx.Eligible(i)) continue;
    bool topic = false;
    const DelegationRecord* d = ctx.delegations.For(i, proposal.topic, &topic);
    if (!d) continue;
    DelegationNote note;
    note.delegator = ctx.st.members[static_cast<std::size_t>(i)].key;
    note.topic = topic;
    if (ctx.Forked(i)) {
      note.end = DelegationEnd::kDelegatorForked;
      notes->push_back(std::move(note));
      continue;
    }
    if (direct_of(i)) {
      note.chain.push_back(d->delegate);
      note.end = DelegationEnd::kOverriddenByOwnVote;
      notes->push_back(std::move(note));
      continue;
    }
    std::vector<int> seen{i};  // chains are short
    std::vector<EventId> hops;
    for (;;) {
      hops.push_back(d->event);
      const int next = ctx.index.Of(d->delegate);
      if (std::find(seen.begin(), seen.end(), next) != seen.end()) {
        note.end = DelegationEnd::kCycle;
        break;
      }
      seen.push_back(next);
      note.chain.push_back(d->delegate);
      if (ctx.Forked(next)) {
        note.end = DelegationEnd::kEndsAtForked;
        break;
      }
      if (const VoteRecord* v = next >= 0 && ctx.Eligible(next) ? direct_of(next) : nullptr) {
        note.end = DelegationEnd::kUsed;
        cast->push_back({i, v, note.chain, std::move(hops)});
        break;
      }
      bool unused = false;
      d = next >= 0 ? ctx.delegations.For(next, proposal.topic, &unused) : nullptr;
      if (!d) {
        note.end = DelegationEnd::kEndsAtNonVoter;
        break;
      }
    }
    notes->push_back(std::move(note));
  }
}

}  // namespace polder::decide
