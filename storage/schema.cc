#include "storage/schema.h"

#include <array>

namespace polder::storage {
namespace {

// Version 1. `events` holds every stored event with the exact bytes that were signed; everything
// else is derived state, rebuildable from `events` alone (Replica::Rebuild).
constexpr std::string_view kV1 = R"sql(
CREATE TABLE meta(
  key TEXT PRIMARY KEY,
  value ANY NOT NULL
) STRICT;

-- state: 0 = not applied (pending, or frozen when waiting_for = X'46'), 1 = applied (placed in
-- its author's log; from version 5, its effect still awaits what it refers to when waiting_for
-- is set).
-- idp is the first 8 bytes of id (big-endian, as a signed integer): lookups by id go through
-- this short-key index, which is a third the size of an index on the 32-byte id itself.
CREATE TABLE events(
  rowid INTEGER PRIMARY KEY,
  id BLOB NOT NULL,
  idp INTEGER NOT NULL,
  author BLOB NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  body BLOB NOT NULL,
  sig BLOB NOT NULL,
  state INTEGER NOT NULL,
  waiting_for BLOB,
  apply_order INTEGER,
  void_code INTEGER  -- applied but without effect: the RefusalCode of the rule it broke
) STRICT;
-- Unique on id as well: an id fixes author and seq, so this is "an event is stored at most once".
CREATE UNIQUE INDEX events_by_author_seq ON events(author, seq, id);
CREATE INDEX events_by_idp ON events(idp);
CREATE INDEX events_waiting ON events(waiting_for) WHERE state = 0;

CREATE TABLE charter(
  one INTEGER PRIMARY KEY CHECK (one = 1),
  event BLOB NOT NULL,
  founder BLOB NOT NULL,
  name TEXT NOT NULL,
  purpose TEXT NOT NULL,
  pool_minor INTEGER NOT NULL,
  unit TEXT NOT NULL,
  decimals INTEGER NOT NULL,
  rules BLOB NOT NULL
) STRICT;

CREATE TABLE members(
  key BLOB PRIMARY KEY,
  name TEXT NOT NULL,
  organisation TEXT NOT NULL,
  role TEXT NOT NULL,
  formal_leader INTEGER NOT NULL,
  admit_event BLOB NOT NULL,
  head_seq INTEGER NOT NULL,
  head_id BLOB,
  head_ts INTEGER NOT NULL
) STRICT;

CREATE TABLE admissions(
  member BLOB NOT NULL,
  event BLOB NOT NULL,
  admitter BLOB NOT NULL,
  PRIMARY KEY (member, event)
) STRICT, WITHOUT ROWID;

CREATE TABLE forks(
  author BLOB PRIMARY KEY,
  seq INTEGER NOT NULL,
  event_a BLOB NOT NULL,
  event_b BLOB NOT NULL
) STRICT;

CREATE TABLE proposals(
  id BLOB PRIMARY KEY,
  author BLOB NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  amount_minor INTEGER NOT NULL,
  purpose_fit TEXT NOT NULL,
  deadline_ms INTEGER NOT NULL,
  topic TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  withdrawn_event BLOB,
  withdraw_reason TEXT
) STRICT;

CREATE TABLE votes(
  proposal BLOB NOT NULL,
  voter BLOB NOT NULL,
  choice INTEGER NOT NULL,
  event BLOB NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (proposal, voter)
) STRICT, WITHOUT ROWID;

CREATE TABLE flags(
  id BLOB PRIMARY KEY,
  proposal BLOB NOT NULL,
  flagger BLOB NOT NULL,
  severity INTEGER NOT NULL,
  category TEXT NOT NULL,
  rationale TEXT NOT NULL,
  created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX flags_by_proposal ON flags(proposal);

CREATE TABLE resolutions(
  id BLOB PRIMARY KEY,
  flag BLOB NOT NULL,
  author BLOB NOT NULL,
  kind INTEGER NOT NULL,
  mitigation TEXT NOT NULL,
  ts INTEGER NOT NULL
) STRICT;
CREATE INDEX resolutions_by_flag ON resolutions(flag);

CREATE TABLE endorsements(
  proposal BLOB NOT NULL,
  member BLOB NOT NULL,
  event BLOB NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (proposal, member)
) STRICT, WITHOUT ROWID;

-- Clustered by target (X'' for comments on the circle): one tree serves both "comments on this
-- proposal" and inserts, where a rowid table needed two random-key indexes.
CREATE TABLE comments(
  target BLOB NOT NULL,
  id BLOB NOT NULL,
  author BLOB NOT NULL,
  text TEXT NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (target, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE delegations(
  delegator BLOB NOT NULL,
  topic TEXT NOT NULL,
  delegate BLOB NOT NULL,
  event BLOB NOT NULL,
  PRIMARY KEY (delegator, topic)
) STRICT, WITHOUT ROWID;
)sql";

// Version 2: sync reads events in apply order; the peer table.
constexpr std::string_view kV2 = R"sql(
CREATE INDEX events_by_apply_order ON events(apply_order) WHERE state = 1;

-- The newest signed announcement of each member's node addresses (node/sync).
CREATE TABLE peers(
  member BLOB PRIMARY KEY,
  announced_ms INTEGER NOT NULL,
  addresses TEXT NOT NULL,
  announcement BLOB NOT NULL
) STRICT;
)sql";

// Version 3: seals (funding-round finality) and rule-change proposals.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE seals(
  deadline_ms INTEGER NOT NULL,
  author BLOB NOT NULL,
  event BLOB NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (deadline_ms, author, event)
) STRICT, WITHOUT ROWID;

-- The serialized DecisionRules of a rule-change proposal; NULL for a funding proposal.
ALTER TABLE proposals ADD COLUMN rules BLOB;
)sql";

// Version 4: the pending set's bounds evict an author's oldest pending events first; this finds
// them (and counts an author's pending events) without reading the author's whole log.
constexpr std::string_view kV4 = R"sql(
CREATE INDEX events_pending_by_author ON events(author, rowid) WHERE state = 0;
)sql";

// Version 5: a placed event may await its effect (state 1 with waiting_for set), so the index of
// what waits covers both states.
constexpr std::string_view kV5 = R"sql(
DROP INDEX events_waiting;
CREATE INDEX events_waiting ON events(waiting_for) WHERE waiting_for IS NOT NULL;
)sql";

// Version 6: several devices, one member (docs/protocol.md §5a). A device's log head lives in
// `devices`; `device_links` holds the members' links that took effect; `device_acts` the claims
// and revocations stored, placed or not (a revocation freezes its device's log whatever its own
// state, as a fork does). What a member does from several logs keeps their latest act by `ord`
// (timestamp, signing key, seq as one comparable blob), so the derived tables do not depend on
// which log's events arrived first; a revoked delegation is a row with an empty delegate.
constexpr std::string_view kV6 = R"sql(
CREATE TABLE devices(
  key BLOB PRIMARY KEY,
  member BLOB NOT NULL,
  claim_event BLOB NOT NULL,
  head_seq INTEGER NOT NULL,
  head_id BLOB,
  head_ts INTEGER NOT NULL
) STRICT;
CREATE INDEX devices_by_member ON devices(member);

CREATE TABLE device_links(
  member BLOB NOT NULL,
  device BLOB NOT NULL,
  event BLOB NOT NULL,
  PRIMARY KEY (device, member, event)
) STRICT, WITHOUT ROWID;

-- Every claim and revocation stored, whatever its state, like the forks: a revocation freezes
-- its device's log as a fork does. last_seq is NULL for a claim (signer = device, member = the
-- member it names) and set for a revocation (signer = member). When one is deleted (an evicted
-- pending event), its device is noted in device_acts_gone for the gate to look at again.
CREATE TABLE device_acts(
  event BLOB PRIMARY KEY,
  signer BLOB NOT NULL,
  seq INTEGER NOT NULL,
  device BLOB NOT NULL,
  member BLOB NOT NULL,
  last_seq INTEGER
) STRICT;
CREATE INDEX device_acts_by_device ON device_acts(device);
CREATE INDEX device_acts_by_signer ON device_acts(signer);
CREATE TABLE device_acts_gone(device BLOB NOT NULL) STRICT;
CREATE TRIGGER device_acts_deleted AFTER DELETE ON events WHEN old.kind IN (21, 22)
BEGIN
  INSERT INTO device_acts_gone(device) SELECT device FROM device_acts WHERE event = old.id;
  DELETE FROM device_acts WHERE event = old.id;
END;

ALTER TABLE votes ADD COLUMN ord BLOB NOT NULL DEFAULT X'';
ALTER TABLE endorsements ADD COLUMN ord BLOB NOT NULL DEFAULT X'';
ALTER TABLE delegations ADD COLUMN ord BLOB NOT NULL DEFAULT X'';
ALTER TABLE proposals ADD COLUMN withdrawn_ord BLOB;
)sql";

// Version 7: removals (docs/protocol.md §15 "Removal"): every applied Removal, whoever it names;
// and network key rotations (§11).
// Who is removed is the decision layer's to say (it depends on who was eligible when each was
// signed); the replica keeps the acts so that a change in them is seen at once.
constexpr std::string_view kV7 = R"sql(
CREATE TABLE removals(
  event BLOB PRIMARY KEY,
  member BLOB NOT NULL,
  remover BLOB NOT NULL,
  reason TEXT NOT NULL,
  ts INTEGER NOT NULL
) STRICT;
CREATE INDEX removals_by_member ON removals(member);
-- Network key rotations (§11): which key each names; the node decides which is the circle's.
CREATE TABLE network_keys(
  event BLOB PRIMARY KEY,
  author BLOB NOT NULL,
  key_id BLOB NOT NULL,
  ts INTEGER NOT NULL
) STRICT;
)sql";

constexpr std::array<std::string_view, 7> kMigrations = {kV1, kV2, kV3, kV4, kV5, kV6, kV7};

}  // namespace

std::span<const std::string_view> Migrations() { return kMigrations; }

}  // namespace polder::storage
