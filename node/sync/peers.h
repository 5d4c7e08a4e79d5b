// The peers a syncer has sessions with: what it knows of each (struct Peer, one part per job of
// the syncer) and the table that sends to them with byte accounting and cuts them off.
//
// Thread-safety: none (the syncer's thread). Ownership: Peers owns the Peer records; a Peer
// shares its Link with the session that made it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "node/sync/event_store.h"
#include "node/sync/link.h"
#include "node/sync/stats.h"
#include "polder/v1/wire.pb.h"
#include "storage/version_vector.h"

namespace polder::sync {

using PeerId = std::uint64_t;

// Why a peer was cut off (a bounded set: metrics label them).
enum class CutOffReason {
  kMalformed,        // a message, vector entry, note or author that does not parse
  kVersion,          // a Hello of another sync protocol version
  kTooMany,          // a batch, list or note set over its limit
  kBeyondCredit,     // catch-up beyond the credit granted
  kInvalidEvent,     // an event no honest node would pass on (bad signature, ...)
  kBadAnnouncement,  // an announcement whose signature or content does not hold
  kInboxFull,        // more uncredited events waiting in the inbox than kMaxInboxBytesPerPeer
  kDuplicates,       // events already held, beyond the allowance (kDuplicateAllowanceBytes)
};
const char* ToString(CutOffReason reason);

struct Peer {
  MemberKey member{};
  std::shared_ptr<Link> link;
  bool cut_off = false;  // its link was closed for what it sent (counted once)

  // What the peer holds, as far as we know (its vector, then what it sent us and we sent it).
  storage::VersionVector known;
  bool have_vector = false;
  // Authors whose seq in `known` only Have notes raised, with the seq before the first note:
  // events announced that way come by Want, not from a catch-up source.
  std::map<MemberKey, std::uint64_t> noted_base;

  // Anti-entropy (syncer.cc).
  bool greeted = false;  // its greeting Hello arrived: later Hellos are anti-entropy
  // When an anti-entropy exchange last found the digests different (vectors not yet sent), and,
  // if we probed, when to probe again.
  std::optional<std::chrono::steady_clock::time_point> mismatch_at, recheck_at;

  // Catch-up (catch_up.cc).
  struct CatchUpState {
    std::uint64_t credit_out = 0;  // bytes of catch-up we may still send
    std::uint64_t credit_in = 0;   // bytes of catch-up the peer may still send us
    bool streaming = false;        // we are sending it what it lacks, page by page
    CatchUpCursor cursor;          // the next page
    // As our source: when it last sent catch-up, or we granted it credit (kSourceStall).
    std::chrono::steady_clock::time_point since{};
    // It stalled as our source: its vector's claims do not count in Expected() until it
    // delivers an event we lacked, and it is picked as source only when no other peer will do.
    bool stalled = false;
  } catch_up;

  // Inbox (pipeline.cc).
  struct InboxState {
    std::size_t uncredited = 0;  // bytes of its events waiting that no credit covers
    // What is left of its allowance for duplicates, as of `allowance_at` (unset: untouched).
    std::int64_t allowance = 0;
    std::optional<std::chrono::steady_clock::time_point> allowance_at;
  } inbox;

  // Push tree (push_tree.cc).
  struct PushState {
    std::set<MemberKey> lazy;  // authors the peer asked us not to push (it gets them elsewhere)
    bool lazy_all = false;     // the peer asked us to push nothing
    // The link carries only notes, both ways: either side sent Prune{} and neither grafted since.
    bool pruned = false;
    // Lazy push: the newest seq per author to announce in the next Have (sent on Tick).
    std::map<MemberKey, std::uint64_t> have_out;
  } push;
};

// Records that a holder of the vector `v` now also holds (author, seq): its run grows when `seq`
// is the next one.
void Advance(storage::VersionVector& v, const MemberKey& author, std::uint64_t seq,
             const EventId& id);

class Peers {
 public:
  explicit Peers(SyncStats& stats) : stats_(stats) {}

  // A new peer, with ids counting up from 1 (never reused).
  PeerId Add(const MemberKey& member, std::shared_ptr<Link> link);
  void Remove(PeerId id) { peers_.erase(id); }
  Peer* Find(PeerId id);
  const Peer* Find(PeerId id) const;
  bool empty() const { return peers_.empty(); }

  // In id order (the order in which the sessions were added).
  auto begin() { return peers_.begin(); }
  auto end() { return peers_.end(); }
  auto begin() const { return peers_.begin(); }
  auto end() const { return peers_.end(); }

  // Serializes `m` onto the peer's link, counting its bytes by message type.
  void Send(Peer& p, const v1::SyncMessage& m);
  // Closes the peer's link for sending what no honest peer sends; counted by reason, once per
  // peer (what it sent before the close took effect may give more reasons).
  void CutOff(Peer& p, CutOffReason why, const std::string& detail);

 private:
  SyncStats& stats_;
  std::map<PeerId, Peer> peers_;
  PeerId next_id_ = 1;
};

}  // namespace polder::sync
