// OwnLog: the local member's own signed events, appended and fsynced *before* the replica commits
// them. It is how authoring stays crash-safe and never reuses a sequence number:
//   sign -> ingest in an open transaction -> append here + fsync -> commit -> report success.
// A crash after the append replays the very same event on the next start (no new event at that
// seq is ever signed); a crash before it leaves nothing anywhere. Restoring an older replica
// backup is repaired the same way, since the replay brings back every event the member signed.
//
// Record: length u32 BE | SignedEvent | first 4 bytes of BLAKE2b-256("polder-ownlog-v1", event).
// A torn last record (crash mid-append, never committed) is ignored and cut off on the next append;
// a damaged record with others after it is reported, and nothing is appended past it.
#pragma once

#include <filesystem>
#include <vector>

#include "proto/bytes.h"

namespace polder::storage {

class OwnLog {
 public:
  explicit OwnLog(std::filesystem::path path) : path_(std::move(path)) {}

  // Every complete record, in append order. A missing file is an empty log.
  Result<std::vector<Bytes>> ReadAll();
  // Appends one record and fsyncs the file (and, when it is new, its directory).
  Status Append(ByteView event);

 private:
  std::filesystem::path path_;
  std::uint64_t valid_bytes_ = 0;  // length of the complete records found by ReadAll
  bool read_ = false;
  bool damaged_ = false;
};

}  // namespace polder::storage
