// SyncStats: the syncer's plain counters (node/app copies them into /metrics). Every map is keyed
// by a bounded set of words, so labels never grow with what peers send.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace polder::sync {

struct SyncStats {
  std::uint64_t events_received = 0;  // events that arrived (any outcome)
  std::uint64_t events_stored = 0;    // new to this replica
  std::uint64_t duplicates = 0;
  std::uint64_t refused = 0;
  std::uint64_t pushes_refused = 0;  // events pushed while the inbox was full (kMaxInboxBytes)
  std::uint64_t events_sent = 0;     // in catch-up batches and pushes
  std::uint64_t pushes_sent = 0;
  std::uint64_t pushes_dropped = 0;  // queue full: anti-entropy repairs them
  std::uint64_t prunes_sent = 0;     // duplicates led us to ask a peer to stop pushing an author
  std::uint64_t batches_committed = 0;
  std::uint64_t batches_offloaded = 0;      // verified off the syncer's thread (catch-up pipeline)
  std::uint64_t peers_cut_off = 0;          // for invalid data
  std::uint64_t sources_stalled = 0;        // catch-up sources that sent nothing (kSourceStall)
  std::uint64_t messages_ignored = 0;       // of a type this version does not know
  std::uint64_t notes_ignored = 0;          // Have notes past the bound on authors tracked per peer
  std::uint64_t announcements_limited = 0;  // newer announcements over a member's rate, dropped
  std::uint64_t bytes_in = 0, bytes_out = 0;  // application messages (sync protocol)
  std::uint64_t events_authored = 0;          // authored here (OnLocalEvent)
  // Refused events by refusal code (storage::ToString(RefusalCode)) and peers cut off by
  // ToString(CutOffReason): both bounded by their enums.
  std::map<std::string, std::uint64_t> refused_by_reason;
  std::map<std::string, std::uint64_t> cut_off_by_reason;
  // Bytes of application messages sent, by message type (MessageName: a bounded set).
  std::map<std::string, std::uint64_t> bytes_out_by_message;
};

}  // namespace polder::sync
