// Delegation (tally.h: "A member's vote"): which delegations are in force at a round's cut-off,
// and how a member without a vote of their own votes through the chain of their delegates.
//
// Internal to node/decide: not included outside it (the public API is tally.h).
//
// Thread-safety: pure functions. The results point into the CircleState they were computed from.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "node/decide/fold.h"
#include "node/decide/tally.h"

namespace polder::decide {

class MemberIndex;
struct RoundContext;
struct View;

// Each member's delegations in force: per (delegator, topic), the latest record within the
// cut-off and the view, unless it is a revocation.
struct DelegationsInForce {
  std::vector<const DelegationRecord*> general;  // per member index; null: none
  std::map<std::pair<int, std::string>, const DelegationRecord*> topical;
  std::vector<int> delegators;  // member indexes with any delegation in force, sorted

  // The delegation `member` follows on `topic`: the topic's, or else the general one (nullptr
  // when neither). Sets *is_topic when it is the topic's.
  const DelegationRecord* For(int member, const std::string& topic, bool* is_topic) const;
};

DelegationsInForce DelegationsAt(const CircleState& st, const MemberIndex& index,
                                 std::int64_t cutoff, const View& view);

// A vote that counts for `member`: their own, or their last delegate's.
struct CastVote {
  int member = -1;
  const VoteRecord* vote = nullptr;
  std::vector<MemberKey> via;  // delegates followed; empty for a direct vote
  std::vector<EventId> hops;   // the delegation in force at each hop
};

// The members eligible in `ctx` who have a delegation in force for `proposal` but no vote of
// their own: appends to `cast` the vote each gets through their chain, and to `notes` how every
// delegation ended (by delegator). `direct` holds the eligible members' direct votes, sorted by
// member index.
void FollowDelegations(const RoundContext& ctx, const ProposalRecord& proposal,
                       const std::vector<std::pair<int, const VoteRecord*>>& direct,
                       std::vector<CastVote>* cast, std::vector<DelegationNote>* notes);

}  // namespace polder::decide
