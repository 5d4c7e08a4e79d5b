// Session: what one CLI command works with — the home, the identity, the replica and the own log —
// and Author(), the only way this node creates events.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "node/app/home.h"
#include "storage/own_log.h"
#include "storage/replica.h"

namespace polder::api {
class ApiClient;
}

namespace polder::app {

// The local clock. POLDER_FAKE_NOW_MS (tests only) pins it.
std::int64_t NowMs();

struct SessionOptions {
  bool need_identity = true;
  bool write = true;  // take the home's exclusive lock
  // When a node runs for this home (it holds the lock), write through its local API instead.
  bool allow_remote = true;
};

class Session {
 public:
  static Result<Session> Open(const Home& home, const SessionOptions& opt);

  const Home& home() const { return home_; }
  const crypto::SigningKey& key() const { return *key_; }
  bool has_identity() const { return key_.has_value(); }
  storage::Replica& replica() { return *replica_; }
  // Messages about what opening found (e.g. own events replayed after a crash).
  const std::vector<std::string>& notes() const { return notes_; }

  struct Authored {
    EventId id;
    std::uint64_t seq = 0;
    std::string kind;
    // Events written just before this one, on the way (a device's claim): (id, seq), in order.
    std::vector<std::pair<EventId, std::uint64_t>> before;
  };
  // Creates, signs and applies one event of this member. Succeeds only once the event is durable
  // in both the own log and the replica. A refused event changes nothing and uses no sequence
  // number. On a device's home whose log has not begun, once a member's link to it is held, the
  // device's claim (docs/protocol.md §5a) is written first.
  Result<Authored> Author(const std::function<void(v1::EventBody&)>& fill);

  // The running node this session writes through, if any.
  const api::ApiClient* remote() const { return remote_.get(); }

  // Warnings for `status`: the member's log is behind what is held, forked, not a member, events
  // of the member's key that this home did not write, ...
  std::vector<std::string> Warnings();

  // The home was restored from a backup, and no other machine has the member's key: the events of
  // theirs that this replica holds beyond the own log (brought back by peers or an import) become
  // the own log's, so Author() continues after them. Returns how many. Refused while a node runs.
  Result<std::uint64_t> AdoptHeldOwnEvents();

  // For tests: runs after each own-log append, before the replica commits the event; an error
  // stops the commit, as a failing disk would (the event is then in the own log only).
  void set_after_own_log_append(std::function<Status()> hook) {
    after_own_log_append_ = std::move(hook);
  }

 private:
  Session(Home home) : home_(std::move(home)), own_log_(home_.own_log_file()) {}
  Status ReplayOwnLog();
  Result<Authored> AuthorHere(const std::function<void(v1::EventBody&)>& fill);

  Home home_;
  std::optional<HomeLock> lock_;
  std::shared_ptr<api::ApiClient> remote_;
  std::optional<crypto::SigningKey> key_;
  std::unique_ptr<storage::Replica> replica_;
  storage::OwnLog own_log_;
  std::vector<std::string> notes_;
  // Highest seq in the own log: read when opening to write, raised by every append (also one
  // whose commit then failed).
  std::uint64_t own_log_max_seq_ = 0;
  std::function<Status()> after_own_log_append_;
};

}  // namespace polder::app
