// Announcer: where members' nodes can be reached. Each node signs one announcement of its own
// addresses (re-signed only when they change: a new timestamp makes every node store it and pass
// it on, across the whole network), greets each new session with it and a random sample of the
// peer table, stores announcements of members that are newer than what it holds, and passes
// those on to its other peers.
//
// Thread-safety: none (the syncer's thread). Ownership: borrows the store, the peer table, the
// identity and the hook from the Syncer that owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/identity.h"
#include "node/sync/event_store.h"
#include "node/sync/peers.h"
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
  };
  using Hook = std::function<void(const PeerRecord&)>;
  // `on_announced` is called for each announcement stored (it may be set after construction).
  Announcer(EventStore& store, Peers& peers, Options options, const Hook& on_announced);

  // Our own signed announcement; empty without an identity.
  Bytes Own();
  // A new address list re-signs our announcement (with a new timestamp) on next use.
  void set_listen_addresses(std::vector<std::string> addresses);

  // The greeting's PeerList for a new session: our announcement and a sample of the table.
  void Greet(Peer& p);
  // A PeerList from `p`: announcements of members newer than ours are stored and passed on.
  void OnPeers(Peer& p, const v1::PeerList& list);

 private:
  EventStore& store_;
  Peers& peers_;
  Options opt_;
  const Hook& on_announced_;
  Bytes own_;  // empty until first needed
  std::mt19937 rng_;
};

}  // namespace polder::sync
