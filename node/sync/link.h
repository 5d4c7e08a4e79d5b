// Link: how the syncer reaches one peer's session. The node implements it over a net::Session;
// tests implement it in memory.
//
// Thread-safety: called from the syncer's thread only.
#pragma once

#include <cstddef>
#include <string>

#include "proto/bytes.h"

namespace polder::sync {

class Link {
 public:
  virtual ~Link() = default;
  // Queues one application message; false if the session is gone.
  virtual bool Send(Bytes message) = 0;
  // Bytes queued and not yet written.
  virtual std::size_t queued_bytes() const = 0;
  // Ends the session; `reason` is logged and counted. The syncer keeps the peer until the
  // owner calls Syncer::RemovePeer, so an implementation may close later (deferred).
  virtual void Close(std::string reason) = 0;
};

}  // namespace polder::sync
