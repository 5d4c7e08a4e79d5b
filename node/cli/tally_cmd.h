// `polder tally [--as-of T] [--explain PROPOSAL]` and `polder audit PROPOSAL [--as-of T]`: the
// replica's events folded and tallied (node/decide), as tables, plain words or JSON documents.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "node/app/session.h"
#include "node/decide/audit.h"
#include "node/decide/fold.h"
#include "proto/result.h"

namespace polder::cli {

// The circle state folded from every event the replica holds, and what names that event set.
struct FoldedReplica {
  decide::CircleState state;
  decide::Provenance provenance;  // as_of left empty
};

// Reads and folds every stored event. A running node may add events meanwhile (the replica is in
// WAL mode): the read is repeated until the version vector is the same before and after it, so
// the digests name exactly the events folded.
[[nodiscard]] Result<FoldedReplica> FoldReplica(storage::Replica& replica);

struct TallyArgs {
  std::string as_of;    // RFC 3339 or Unix ms; empty: now
  std::string explain;  // proposal id prefix; empty: all proposals
};

struct AuditArgs {
  std::string proposal;  // id prefix
  std::string as_of;
};

// What a command prints: the JSON view, or the text for people.
struct Output {
  std::unique_ptr<google::protobuf::Message> view;
  std::string text;
};

[[nodiscard]] Result<Output> RunTally(app::Session& session, const TallyArgs& args);
[[nodiscard]] Result<Output> RunAudit(app::Session& session, const AuditArgs& args);

// The text forms (exposed for tests and other front ends).
std::string TallyText(const v1::TallyView& view);
std::string AuditText(const v1::AuditView& audit);

}  // namespace polder::cli
