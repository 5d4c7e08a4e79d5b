// Sealer: when this member's node seals a funding round, and the seal it signs (docs/protocol.md
// §15). A round is due once its deadline is `grace` past; the node seals it unless it is catching
// up (what it holds is not what it will hold), the member was not admitted by the deadline or is
// forked, or the round is sealed already. The seal names, for every author held, the contiguous
// prefix of their log. Each round is considered once per run.
//
// Thread-safety: not thread-safe; the node calls it on its thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>

#include "node/app/session.h"
#include "polder/v1/event.pb.h"

namespace polder::app {

class Sealer {
 public:
  // Authors one event of this member (the node's Author, which also pushes it to the peers).
  using AuthorFn =
      std::function<Result<Session::Authored>(const std::function<void(v1::EventBody&)>&)>;

  Sealer(Session& session, std::chrono::milliseconds grace, AuthorFn author)
      : session_(session), grace_(grace), author_(std::move(author)) {}

  // Seals every round due at `now_ms`; nothing while `catching_up`. Returns how many seals it
  // authored.
  Result<int> SealDue(std::int64_t now_ms, bool catching_up);

 private:
  Session& session_;
  std::chrono::milliseconds grace_;
  AuthorFn author_;
  std::set<std::int64_t> considered_;  // deadlines already looked at
};

}  // namespace polder::app
