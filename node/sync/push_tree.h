// PushTree: how a new event reaches every node quickly without each receiving it from every
// neighbour (Plumtree / Scuttlebutt's epidemic broadcast trees).
//
// A new event is pushed eagerly to each peer that lacks it, except over links that were pruned:
// a node that receives a pushed duplicate asks the sender to stop (Prune{}), both ways, so the
// links that push form a tree; over pruned links only notes travel (Have: the newest seq per
// author, once per Tick). A node told of an event that does not arrive by push within kHaveWait
// asks for it (Want) and grafts the link (Graft{}), which pushes again, both ways. The last link
// that pushes to a node is never pruned, and when it goes a pruned one is grafted.
//
// Thread-safety: none (the syncer's thread). Ownership: borrows the store, the peer table and
// the holdings from the Syncer that owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "node/sync/event_store.h"
#include "node/sync/holdings.h"
#include "node/sync/peers.h"
#include "node/sync/stats.h"
#include "polder/v1/wire.pb.h"

namespace polder::sync {

class PushTree {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  PushTree(EventStore& store, Peers& peers, const Holdings& holdings, SyncStats& stats, Clock clock)
      : store_(store),
        peers_(peers),
        holdings_(holdings),
        stats_(stats),
        clock_(std::move(clock)) {}

  // An event new here, received from `from` or (unset) authored here: pushed to every other
  // peer that lacks it as far as we know, eagerly or, over a pruned link, as a note.
  void Push(std::optional<PeerId> from, ByteView event, const MemberKey& author, std::uint64_t seq,
            const EventId& id);

  // Prune or Graft from the peer: an empty list means the whole link.
  void OnAuthors(Peer& p, const v1::Authors& a, bool prune);
  // Have: the peer holds these events; those still missing here after kHaveWait are asked for.
  void OnHave(PeerId id, Peer& p, const v1::Notes& n);
  // Want: the peer asks for an author's events from a seq on (one batch).
  void OnWant(Peer& p, const v1::Notes& n);

  // Sends the notes collected for `p` since the last call, in one Have message.
  void SendNotes(Peer& p);
  // Asks each peer for what its notes announced and the push tree did not bring by `now`.
  void AskForMissing(std::chrono::steady_clock::time_point now);

  // A pushed duplicate came from `id`: another link delivers first, so this one turns lazy,
  // unless it is the last link that pushes to us.
  void PruneAfterDuplicate(PeerId id);
  // Events of `authors` came from `id` by repair, not by push: it pushes them again.
  void Graft(PeerId id, const std::set<MemberKey>& authors);
  // A session ended; `was_eager` if its link still pushed. When no link pushes any more, one is
  // grafted: `preferred` (the catch-up source) if it is still there, else the oldest.
  void Removed(bool was_eager, std::optional<PeerId> preferred);

 private:
  void SendAuthors(PeerId to, const std::set<MemberKey>& authors, bool prune);
  // Peers other than `except` that push to us eagerly (we have not pruned them).
  std::size_t EagerLinks(std::optional<PeerId> except) const;

  struct Missing {
    std::uint64_t seq;
    PeerId from;
    std::chrono::steady_clock::time_point deadline;
  };

  EventStore& store_;
  Peers& peers_;
  const Holdings& holdings_;
  SyncStats& stats_;
  Clock clock_;
  std::map<MemberKey, Missing> missing_;  // announced by Have, not yet here
};

}  // namespace polder::sync
