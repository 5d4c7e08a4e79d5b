// CatchUp: how a node that lacks many events gets them, and how it sends what a peer lacks.
//
// Receiving: catch-up comes from one peer at a time (the source), so a node that joins or
// returns does not receive the same events from every neighbour: only the source holds credit.
// When it has nothing more, the next peer that holds more gets our current vector and credit.
// Sending: once a peer's vector arrives, what it lacks is streamed in pages read from the store,
// within the credit the peer granted and while the peer's send queue has room.
//
// Thread-safety: none (the syncer's thread). Ownership: borrows the store, the peer table and
// the holdings from the Syncer that owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "node/sync/event_store.h"
#include "node/sync/holdings.h"
#include "node/sync/peers.h"
#include "node/sync/stats.h"

namespace polder::sync {

class CatchUp {
 public:
  // `clock` (monotonic; the Syncer's, never empty) times a source's silence (kSourceStall).
  CatchUp(EventStore& store, Peers& peers, const Holdings& holdings, SyncStats& stats,
          std::uint64_t initial_credit_bytes,
          std::function<std::chrono::steady_clock::time_point()> clock)
      : store_(store),
        peers_(peers),
        holdings_(holdings),
        stats_(stats),
        initial_credit_bytes_(initial_credit_bytes),
        clock_(std::move(clock)) {}

  // A new session: the credit to grant it in the greeting. The first peer becomes the source
  // and gets all of it; the others get none until they become the source.
  std::uint64_t Added(PeerId id, Peer& p);
  // A session ended: if it was the source, another is picked.
  void Removed(PeerId id);
  std::optional<PeerId> source() const { return source_; }

  // The peer's Hello granted us `bytes` of credit (at most kMaxHelloCreditBytes count).
  void GrantedInHello(Peer& p, std::uint64_t bytes);
  // The peer's Credit message granted us `bytes` more: its stream resumes.
  void OnCredit(Peer& p, std::uint64_t bytes);
  // The peer's vector arrived: streams what it lacks from the first page, if anything.
  void StreamFromStart(Peer& p);
  // Resumes every stream that waited for send-queue room.
  void Pump();

  // A catch-up batch of `event_bytes` arrived from `p`: false when that is beyond the credit
  // we granted (the caller cuts the peer off).
  bool Spend(Peer& p, std::uint64_t event_bytes);
  // Catch-up received from `p` was committed: it may send `bytes` more.
  void Return(Peer& p, std::uint64_t bytes);
  // `p` delivered events we lacked by catch-up: what it claims counts again.
  void Delivered(Peer& p) { p.catch_up.stalled = false; }
  // A source that claims more and sent nothing for kSourceStall is marked stalled and another
  // peer becomes the source (call on every tick).
  void CheckStall();

  // Keeps the source while it still has more for us and has not stalled; otherwise the peer that
  // holds most of what we lack becomes the source, with our current vector and fresh credit
  // (a stalled peer only when no other holds more).
  void PickSource();
  // Events connected peers hold that we lack, as far as we know (the most any one peer holds;
  // stalled peers' claims left out).
  std::uint64_t Expected() const;

 private:
  void Stream(Peer& p);
  // Events the peer holds that we lack, leaving out those only its Have notes announced.
  std::uint64_t Lead(const Peer& p) const;

  EventStore& store_;
  Peers& peers_;
  const Holdings& holdings_;
  SyncStats& stats_;
  void BecomeSource(PeerId id, Peer& p);

  const std::uint64_t initial_credit_bytes_;
  std::function<std::chrono::steady_clock::time_point()> clock_;
  std::optional<PeerId> source_;
};

}  // namespace polder::sync
