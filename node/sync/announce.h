// Announcer: where members' nodes can be reached. Each node signs one announcement of its own
// addresses (re-signed only when they change: a new timestamp makes every node store it and pass
// it on, across the whole network), greets each new session with it and a random sample of the
// peer table, stores announcements of members that are newer than what it holds, and passes
// those on to its other peers — at most one per member per kAnnouncementInterval on average.
//
// Thread-safety: none (the syncer's thread). Ownership: borrows the store, the peer table, the
// identity and the hook from the Syncer that owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "crypto/identity.h"
#include "node/sync/event_store.h"
#include "node/sync/limits.h"
#include "node/sync/peers.h"
#include "node/sync/stats.h"
#include "polder/v1/wire.pb.h"

namespace polder::sync {

inline constexpr std::string_view kAnnounceContext = "polder/v1/announce";

// Verifies a signed announcement; returns its content when the signature and the bounds hold.
Result<v1::Announcement> OpenAnnouncement(const v1::SignedAnnouncement& signed_announcement);

class Announcer {
 public:
  struct Options {
    const crypto::SigningKey* identity = nullptr;  // unset: nothing of our own to announce
    std::vector<std::string> listen_addresses;
    std::function<std::int64_t()> now_ms;  // the announcement's timestamp; unset: 0
    std::uint64_t seed = 0;                // for the greeting's sample of the peer table
    // Local time for the per-member announcement rate (kAnnouncementInterval); unset: no limit.
    std::function<std::chrono::steady_clock::time_point()> clock;
  };
  using Hook = std::function<void(const PeerRecord&)>;
  // `on_announced` is called for each announcement stored (it may be set after construction).
  Announcer(EventStore& store, Peers& peers, SyncStats& stats, Options options,
            const Hook& on_announced);

  // Our own signed announcement; empty without an identity.
  Bytes Own();
  // A new address list re-signs our announcement (with a new timestamp) on next use.
  void set_listen_addresses(std::vector<std::string> addresses);

  // The greeting's PeerList for a new session: our announcement and a sample of the table.
  void Greet(Peer& p);
  // A PeerList from `p`: announcements of members newer than ours are stored and passed on.
  void OnPeers(Peer& p, const v1::PeerList& list);

 private:
  // Whether `member` may have one more announcement stored and passed on now (their rate).
  bool Spend(const MemberKey& member);

  EventStore& store_;
  Peers& peers_;
  SyncStats& stats_;
  Options opt_;
  const Hook& on_announced_;
  Bytes own_;  // empty until first needed
  std::mt19937 rng_;
  // The announced_ms of each member's stored announcement (loaded from the store once), so that
  // an announcement that is not newer costs no read of the peer table.
  std::optional<std::unordered_map<MemberKey, std::int64_t, Id32Hash>> held_;
  struct Allowance {
    double tokens = kAnnouncementBurst;
    std::chrono::steady_clock::time_point at;
  };
  std::unordered_map<MemberKey, Allowance, Id32Hash> allowance_;
};

}  // namespace polder::sync
