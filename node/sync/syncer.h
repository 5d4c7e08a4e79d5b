// Syncer: the sync protocol of one node, without sockets (docs/protocol.md, section 12).
//
// The node tells it when a session with a peer is ready (AddPeer), hands it every message the
// peer sends (OnMessage) and every event authored here (OnLocalEvent); the syncer answers
// through each peer's Link. It keeps the local version vector up to date, streams to each peer
// what that peer lacks under the peer's credit, pushes new events eagerly, and ingests what peers
// send through the store's gate — nothing reaches the replica any other way.
//
// Thread-safety: none; the node calls it from one thread (the one that owns the store).
// Ownership: borrows the store, which must outlive the Syncer.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "node/sync/event_store.h"
#include "node/sync/limits.h"
#include "polder/v1/wire.pb.h"
#include "proto/bytes.h"
#include "storage/version_vector.h"

namespace polder::sync {

inline constexpr std::uint32_t kSyncVersion = 1;
inline constexpr std::string_view kAnnounceContext = "polder/v1/announce";

// How the syncer reaches one peer's session.
class Link {
 public:
  virtual ~Link() = default;
  // Queues one application message; false if the session is gone.
  virtual bool Send(Bytes message) = 0;
  // Bytes queued and not yet written.
  virtual std::size_t queued_bytes() const = 0;
  // Ends the session; `reason` is logged and counted.
  virtual void Close(std::string reason) = 0;
};

// Why a peer was cut off (a bounded set: metrics label them).
enum class CutOffReason {
  kMalformed,        // a message, vector entry, note or author that does not parse
  kUnknownMessage,   // a message type this version does not know
  kVersion,          // a Hello of another sync protocol version
  kTooMany,          // a batch, list or note set over its limit
  kBeyondCredit,     // catch-up beyond the credit granted
  kInvalidEvent,     // an event no honest node would pass on (bad signature, ...)
  kBadAnnouncement,  // an announcement whose signature or content does not hold
};
const char* ToString(CutOffReason reason);

struct SyncStats {
  std::uint64_t events_received = 0;  // events that arrived (any outcome)
  std::uint64_t events_stored = 0;    // new to this replica
  std::uint64_t duplicates = 0;
  std::uint64_t refused = 0;
  std::uint64_t events_sent = 0;  // in catch-up batches and pushes
  std::uint64_t pushes_sent = 0;
  std::uint64_t pushes_dropped = 0;  // queue full: anti-entropy repairs them
  std::uint64_t prunes_sent = 0;     // duplicates led us to ask a peer to stop pushing an author
  std::uint64_t batches_committed = 0;
  std::uint64_t batches_offloaded = 0;  // verified off the syncer's thread (catch-up pipeline)
  std::uint64_t peers_cut_off = 0;      // for invalid data
  std::uint64_t notes_ignored = 0;      // Have notes past the bound on authors tracked per peer
  std::uint64_t bytes_in = 0, bytes_out = 0;  // application messages (sync protocol)
  std::uint64_t events_authored = 0;          // authored here (OnLocalEvent)
  // Refused events by refusal code (storage::ToString(RefusalCode)) and peers cut off by
  // ToString(CutOffReason): both bounded by their enums.
  std::map<std::string, std::uint64_t> refused_by_reason;
  std::map<std::string, std::uint64_t> cut_off_by_reason;
  // Bytes of application messages sent, by message type (MessageName: a bounded set).
  std::map<std::string, std::uint64_t> bytes_out_by_message;
};

// The name of a sync message's type, for byte accounting: hello, vector, push (an EventBatch
// with push = true), batch (catch-up), credit, peers, prune, graft, have, want; "unknown"
// otherwise.
const char* MessageName(const v1::SyncMessage& m);

using PeerId = std::uint64_t;

class Syncer {
 public:
  struct Options {
    std::function<std::int64_t()> now_ms;          // the local clock (for the gate)
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
    std::function<void(std::function<void()> work, std::function<void()> then)> offload;
    // The clock for kHaveWait and the anti-entropy recheck; unset: std::chrono::steady_clock.
    std::function<std::chrono::steady_clock::time_point()> clock;
  };
  Syncer(EventStore& store, Options options);

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

  const storage::VersionVector& vector() const { return local_; }
  const SyncStats& stats() const { return stats_; }
  // Events connected peers hold that this replica lacks, as far as we know (for progress).
  std::uint64_t Expected() const;
  std::vector<PeerId> peers() const;
  std::optional<MemberKey> member_of(PeerId peer) const;
  // How many authors we track for a peer (what it holds, as far as we know); 0 if unknown.
  std::size_t known_authors(PeerId peer) const;
  // A new address list re-signs our announcement (with a new timestamp) on next use.
  void set_listen_addresses(std::vector<std::string> a);
  void set_schedule_flush(std::function<void()> f) { opt_.schedule_flush = std::move(f); }
  void set_offload(decltype(Options::offload) f) { opt_.offload = std::move(f); }
  // A batch is being verified off this thread (see Options::offload).
  bool verifying() const { return verifying_; }
  // Our own signed announcement, signed once and refreshed only when the address list changes:
  // a new timestamp makes every node store it and pass it on, across the whole network.
  Bytes Announcement();

 private:
  struct Peer {
    MemberKey member{};
    std::shared_ptr<Link> link;
    storage::VersionVector known;  // what the peer holds, as far as we know
    bool have_vector = false;
    std::uint64_t credit_out = 0;  // bytes of catch-up we may still send
    std::uint64_t credit_in = 0;   // bytes of catch-up the peer may still send us
    bool streaming = false;
    CatchUpCursor cursor;
    std::set<MemberKey> lazy;  // authors the peer asked us not to push (it gets them elsewhere)
    bool lazy_all = false;     // the peer asked us to push nothing
    // The link carries only notes, both ways: either side sent Prune{} and neither grafted since.
    bool pruned = false;
    // Lazy push: the newest seq per author to announce in the next Have (sent on Tick).
    std::map<MemberKey, std::uint64_t> have_out;
    // Authors whose seq in `known` only Have notes raised, with the seq before the first note:
    // events announced that way come by Want, not from a catch-up source.
    std::map<MemberKey, std::uint64_t> noted_base;
    bool greeted = false;  // its greeting Hello arrived: later Hellos are anti-entropy
    // When an anti-entropy exchange last found the digests different (vectors not yet sent),
    // and, if we probed, when to probe again.
    std::optional<std::chrono::steady_clock::time_point> mismatch_at, recheck_at;
  };

  std::chrono::steady_clock::time_point Now() const {
    return opt_.clock ? opt_.clock() : std::chrono::steady_clock::now();
  }
  void Send(Peer& p, const v1::SyncMessage& m);
  void SendHello(Peer& p, bool reply, std::uint64_t credit);
  void SendVector(Peer& p);
  void OnHello(Peer& p, const v1::Hello& h);
  void OnVector(Peer& p, const v1::Vector& v);
  void OnEvents(PeerId id, Peer& p, const v1::EventBatch& b);
  // One received EventBatch, waiting to be verified and committed.
  struct Inbound {
    PeerId from;
    bool push;
    std::vector<Bytes> events;
    std::uint64_t credit = 0;  // catch-up bytes to grant again once committed
  };
  struct CreditDue {
    PeerId to;
    std::uint64_t bytes;
  };
  // Events received together: verified (possibly on another thread), then committed here.
  struct Job {
    std::vector<PeerId> from;
    std::vector<bool> push;
    std::vector<Bytes> events;
    std::vector<CreditDue> credits;
    std::int64_t now_ms = 0;
    std::vector<Result<storage::DecodedEvent, storage::Refusal>> decoded;
  };
  std::shared_ptr<Job> TakeInbox();
  bool Offloadable(const Job& job) const;
  void VerifyHere(Job& job);
  void Offload(std::shared_ptr<Job> job);
  void Commit(Job& job);
  void OnAuthors(Peer& p, const v1::Authors& a, bool prune);
  void OnHave(PeerId id, Peer& p, const v1::Notes& n);
  void OnWant(Peer& p, const v1::Notes& n);
  void SendHaves(Peer& p);
  struct Missing {
    std::uint64_t seq;
    PeerId from;
    std::chrono::steady_clock::time_point deadline;
  };
  std::map<MemberKey, Missing> missing_;  // announced by Have, not yet here
  void SendAuthors(PeerId to, const std::set<MemberKey>& authors, bool prune);
  // Peers other than `except` that push to us eagerly (we have not pruned them).
  std::size_t EagerLinks(std::optional<PeerId> except) const;
  void OnPeers(Peer& p, const v1::PeerList& l);
  void Stream(Peer& p);
  void CutOff(Peer& p, CutOffReason why, const std::string& detail);
  // Catch-up comes from one peer at a time (the source), so a node that joins or returns does
  // not receive the same events from every neighbour: only the source holds catch-up credit.
  // When it has nothing more, the next peer that holds more gets our current vector and credit.
  void PickSource();
  // Events the peer holds that we lack, leaving out those only its Have notes announced.
  std::uint64_t Lead(const Peer& p) const;
  // Records that a holder of the vector `v` now also holds (author, seq).
  void Advance(storage::VersionVector& v, const MemberKey& author, std::uint64_t seq,
               const EventId& id);
  void Push(std::optional<PeerId> from, ByteView event, const MemberKey& author, std::uint64_t seq,
            const EventId& id);

  EventStore& store_;
  Options opt_;
  storage::VersionVector local_;
  // Sequence numbers held beyond a gap, per author: they join the run when the gap fills.
  std::map<MemberKey, std::map<std::uint64_t, EventId>> beyond_gap_;
  std::uint64_t held_ = 0;
  std::map<PeerId, Peer> peers_;
  PeerId next_id_ = 1;
  SyncStats stats_;
  std::deque<Inbound> inbox_;
  std::size_t inbox_events_ = 0;
  bool flush_scheduled_ = false;
  bool verifying_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // offloaded work checks it
  std::optional<PeerId> source_;
  Bytes own_announcement_;                    // empty until first needed
  std::mt19937 rng_{std::random_device{}()};  // samples the peer table for greetings
};

// Verifies a signed announcement; returns its content when the signature holds.
Result<v1::Announcement> OpenAnnouncement(const v1::SignedAnnouncement& signed_announcement);

}  // namespace polder::sync
