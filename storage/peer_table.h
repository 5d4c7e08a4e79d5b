// PeerTable: the newest signed announcement of each member's node addresses (node/sync keeps
// the format and checks the signature; this only stores it). An older announcement never
// replaces a newer one.
//
// Thread-safety: not thread-safe; belongs to its Replica.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/bytes.h"

namespace polder::storage {

class Db;

struct StoredPeer {
  MemberKey member{};
  std::int64_t announced_ms = 0;
  std::string addresses;  // newline-separated host:port
  Bytes announcement;     // the signed bytes, to pass on to other peers
};

class PeerTable {
 public:
  explicit PeerTable(Db& db) : db_(db) {}

  // Stores `peer` unless an announcement of that member at least as new is held.
  Status Put(const StoredPeer& peer);
  // Every member's newest announcement, by member key.
  Result<std::vector<StoredPeer>> All();

 private:
  Db& db_;
};

}  // namespace polder::storage
