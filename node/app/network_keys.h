// The circle's network keys as this node holds them, and rotations (docs/protocol.md §11
// "Network key rotation"): the current key, which the node dials with, and up to kMaxRetiredKeys
// that rotations retired, which it still accepts from members for a grace period after it learned
// of their successor. A rotation seals a fresh key to every member and device that may connect
// (a NetworkKey event, or several for a large circle).
//
// Thread-safety: none.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "crypto/identity.h"
#include "node/app/home.h"
#include "polder/v1/event.pb.h"
#include "proto/bytes.h"
#include "proto/result.h"
#include "storage/replica.h"

namespace polder::app {

using NetworkKey = std::array<std::uint8_t, 32>;

inline constexpr std::string_view kRetiredKeysHeader = "polder-retired-network-keys-v1";
inline constexpr std::size_t kMaxRetiredKeys = 8;
// How long a retired key still opens sessions with members (the node's config may shorten it).
inline constexpr std::chrono::hours kRetiredKeyGrace{7 * 24};

// Names a key without revealing it (BLAKE2b-256, personalised "polder-netkey-id").
EventId NetworkKeyId(const NetworkKey& key);

class NetworkKeys {
 public:
  explicit NetworkKeys(const NetworkKey& current);
  // The home's network.key and network.retired (which may be missing); Adopt() writes both.
  static Result<NetworkKeys> Load(const Home& home);

  const NetworkKey& current() const { return current_; }
  const EventId& current_id() const { return current_id_; }
  // The retired keys still in their grace at `now_ms`, most recently retired first.
  std::vector<NetworkKey> Accepted(std::int64_t now_ms, std::chrono::milliseconds grace) const;
  // The key named `id`, if this node holds it (current or retired).
  std::optional<NetworkKey> Find(const EventId& id) const;
  // Makes `key` current; the current one retires at `now_ms` (the oldest retired key goes when
  // there are more than kMaxRetiredKeys). Writes the files first when loaded from a home: on
  // failure nothing changes.
  Status Adopt(const NetworkKey& key, std::int64_t now_ms);

 private:
  struct Retired {
    NetworkKey key{};
    std::int64_t retired_ms = 0;
  };
  NetworkKey current_{};
  EventId current_id_;
  std::vector<Retired> retired_;  // most recently retired first
  std::optional<Home> home_;
};

// The NetworkKey payloads sealing `key` to `recipients` (sorted and made distinct here),
// kMaxKeyBoxes to an event.
Result<std::vector<v1::NetworkKey>> SealNetworkKey(const NetworkKey& key,
                                                   std::vector<MemberKey> recipients);

// A fresh random key and its rotation's payloads, sealed to `recipients` and to `me` (the
// signer keeps a box of its own).
struct Rotation {
  NetworkKey key{};
  std::vector<v1::NetworkKey> payloads;
};
Result<Rotation> NewRotation(std::vector<MemberKey> recipients, const MemberKey& me);

// Opens the box sealed to `me` in the rotation events `events` (read from the replica) whose key
// is named `key_id`; nullopt when none is for `me` or none opens to a key with that id.
Result<std::optional<NetworkKey>> OpenNetworkKey(storage::Replica& replica,
                                                 const std::vector<EventId>& events,
                                                 const EventId& key_id,
                                                 const crypto::SigningKey& me);

}  // namespace polder::app
