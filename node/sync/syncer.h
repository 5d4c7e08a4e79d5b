// Syncer: the sync protocol of one node, without sockets (docs/protocol.md, section 12).
//
// The node tells it when a session with a peer is ready (AddPeer), hands it every message the
// peer sends (OnMessage) and every event authored here (OnLocalEvent); the syncer answers
// through each peer's Link. It keeps the local version vector up to date, streams to each peer
// what that peer lacks under the peer's credit, pushes new events eagerly, and ingests what peers
// send through the store's gate — nothing reaches the replica any other way.
//
// This class is the core: the peers, message dispatch, Hello/Vector anti-entropy, cut-off and
// stats. Its parts each hold one job: Holdings (the local vector), CatchUp (credit, the source,
// streaming pages), PushTree (eager push, prune/graft, Have/Want), Pipeline (inbox, verify,
// commit) and Announcer (signed announcements, PeerList).
//
// Determinism: everything that varies comes in through Options (clocks, randomness), so syncers
// given the same options and the same messages send the same messages.
//
// Thread-safety: none; the node calls it from one thread (the one that owns the store).
// Ownership: borrows the store, which must outlive the Syncer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "node/sync/announce.h"
#include "node/sync/catch_up.h"
#include "node/sync/event_store.h"
#include "node/sync/holdings.h"
#include "node/sync/limits.h"
#include "node/sync/link.h"
#include "node/sync/messages.h"
#include "node/sync/peers.h"
#include "node/sync/pipeline.h"
#include "node/sync/push_tree.h"
#include "node/sync/stats.h"
#include "polder/v1/wire.pb.h"
#include "proto/bytes.h"
#include "storage/version_vector.h"

namespace polder::sync {

class Syncer {
 public:
  struct Options {
    // The local wall clock in Unix ms: the gate's future-timestamp rule and our announcement's
    // timestamp. Unset: 0.
    std::function<std::int64_t()> now_ms;
    const crypto::SigningKey* identity = nullptr;  // to sign our announcement
    std::vector<std::string> listen_addresses;     // what we announce
    std::uint64_t initial_credit = kInitialCreditBytes;
    // Asks the caller to call Flush() soon (e.g. asio::post): events that arrive together, from
    // any peer, are then committed in one transaction. Unset: every batch commits at once.
    std::function<void()> schedule_flush;
    // Runs `work` on another thread and then `then` on the syncer's thread (e.g. a one-thread
    // pool that posts back to the node's io_context). Set: a large received batch is verified
    // there, on every core, while this thread commits the batch before it (catch-up pipeline).
    // Unset: batches are verified and committed here, one after the other.
    Pipeline::Offload offload;
    // The monotonic clock for kHaveWait and the anti-entropy recheck. Unset: time stands still
    // (a node passes std::chrono::steady_clock::now).
    std::function<std::chrono::steady_clock::time_point()> clock;
    // Seeds the choice of the announcements a greeting samples from the peer table: the same
    // seed, the same choices. Syncers that share a network need different seeds, or their
    // greetings teach the same few members (a node passes a random seed).
    std::uint64_t seed = 0;
  };
  Syncer(EventStore& store, Options options);
  // Its parts hold references to each other: it stays where it was made.
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  // Reads the local vector from the store. Call once before anything else.
  Status Load();

  // A session is ready with `member`. The syncer greets it.
  PeerId AddPeer(const MemberKey& member, std::shared_ptr<Link> link);
  void RemovePeer(PeerId peer);
  // One application message from `peer`. A malformed or hostile message closes the link.
  void OnMessage(PeerId peer, ByteView message);
  // Anti-entropy: ask `peer` to compare vectors.
  void Probe(PeerId peer);
  // An event authored here (already in the store): pushed to every peer that lacks it.
  void OnLocalEvent(ByteView event, const MemberKey& author, std::uint64_t seq);
  // Resumes catch-up streams that were waiting for send-queue room.
  void Pump();
  // Ingests every event received since the last flush, in one transaction.
  void Flush();
  // Sends the Have notes collected since the last call (one message per peer), asks for events
  // that peers announced lazily (Have) and that did not arrive by push within kHaveWait, and
  // sends the anti-entropy rechecks that are due. Call often (the node does every 20 ms).
  void Tick();

  // Called when a peer's announcement (verified, of a member, newer than what was held) arrives.
  std::function<void(const PeerRecord&)> on_peer_announced;
  // Called after events were stored (new to this replica), e.g. to refresh views.
  std::function<void(std::size_t stored)> on_stored;
  // Called when what peers hold that this replica lacks (Expected()) may have changed: a peer's
  // vector arrived or received events were committed. For progress meters.
  std::function<void()> on_progress;
  // Called for each event received from a peer and stored (new to this replica).
  std::function<void(const EventId&, std::size_t bytes)> on_event_stored;

  const storage::VersionVector& vector() const { return holdings_.vector(); }
  const SyncStats& stats() const { return stats_; }
  // Events connected peers hold that this replica lacks, as far as we know (for progress).
  std::uint64_t Expected() const { return catch_up_.Expected(); }
  std::vector<PeerId> peers() const;
  std::optional<MemberKey> member_of(PeerId peer) const;
  // How many authors we track for a peer (what it holds, as far as we know); 0 if unknown.
  std::size_t known_authors(PeerId peer) const;
  // A new address list re-signs our announcement (with a new timestamp) on next use.
  void set_listen_addresses(std::vector<std::string> a) {
    announcer_.set_listen_addresses(std::move(a));
  }
  void set_schedule_flush(std::function<void()> f) { pipeline_.set_schedule_flush(std::move(f)); }
  void set_offload(Pipeline::Offload f) { pipeline_.set_offload(std::move(f)); }
  // A batch is being verified off this thread (see Options::offload).
  bool verifying() const { return pipeline_.verifying(); }
  // Bytes of received events waiting to be verified and committed (bounded: limits.h).
  std::size_t inbox_bytes() const { return pipeline_.inbox_bytes(); }
  // Our own signed announcement, signed once and refreshed only when the address list changes:
  // a new timestamp makes every node store it and pass it on, across the whole network.
  Bytes Announcement() { return announcer_.Own(); }

 private:
  std::chrono::steady_clock::time_point Now() const;
  void SendHello(Peer& p, bool reply, std::uint64_t credit);
  void OnHello(Peer& p, const v1::Hello& h);
  void OnVector(Peer& p, const v1::Vector& v);
  // Events that prove a fork `p` does not know of, each in a push of its own.
  void SendForkProofs(Peer& p);

  EventStore& store_;
  std::function<std::chrono::steady_clock::time_point()> clock_;
  SyncStats stats_;
  Peers peers_{stats_};
  Holdings holdings_;
  CatchUp catch_up_;
  PushTree push_;
  Announcer announcer_;
  Pipeline pipeline_;
};

}  // namespace polder::sync
