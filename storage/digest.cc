#include "storage/digest.h"

#include "crypto/hash.h"

namespace polder::storage {
namespace {

// Hashes the rows of `sql` (every column, typed) into `h`.
void HashRows(Db& db, crypto::Hasher& h, const char* table, const char* sql) {
  h.Update(std::string_view(table));
  SQLite::Statement st(db.raw(), sql);
  std::uint64_t rows = 0;
  const int cols = st.getColumnCount();
  while (st.executeStep()) {
    ++rows;
    for (int i = 0; i < cols; ++i) {
      const auto c = st.getColumn(i);
      switch (c.getType()) {
        case SQLITE_INTEGER:
          h.Update(AsBytes("i")).UpdateU64(static_cast<std::uint64_t>(c.getInt64()));
          break;
        case SQLITE_NULL: h.Update(AsBytes("n")); break;
        case SQLITE_TEXT:
          h.Update(AsBytes("t")).Update(std::string_view(c.getText(), c.getBytes()));
          break;
        default: {
          h.Update(AsBytes("b"))
              .Update(std::string_view(static_cast<const char*>(c.getBlob()),
                                       static_cast<std::size_t>(c.getBytes())));
        }
      }
    }
  }
  h.UpdateU64(rows);
}

}  // namespace

Digest32 ComputeStateDigest(Db& db) {
  // One snapshot for all tables, even while another process commits.
  const bool own_tx = !db.in_transaction();
  if (own_tx) db.raw().exec("BEGIN");
  struct End {
    Db& db;
    bool active;
    ~End() {
      if (active) {
        try {
          db.raw().exec("COMMIT");
        } catch (const SQLite::Exception&) {
        }
      }
    }
  } end{db, own_tx};
  crypto::Hasher h(crypto::kDomainDigest);
  HashRows(db, h, "charter",
           "SELECT event, founder, name, purpose, pool_minor, unit, decimals, rules FROM charter");
  HashRows(db, h, "members",
           "SELECT key, name, organisation, role, formal_leader, admit_event, head_seq, head_id,"
           " head_ts FROM members ORDER BY key");
  HashRows(db, h, "admissions",
           "SELECT member, event, admitter FROM admissions ORDER BY member, event");
  // Which two versions prove a fork depends on arrival order; that there is one does not.
  HashRows(db, h, "forks", "SELECT author, seq FROM forks ORDER BY author");
  HashRows(db, h, "proposals",
           "SELECT id, author, title, body, amount_minor, purpose_fit, deadline_ms, topic,"
           " created_ms, withdrawn_event, withdraw_reason, rules FROM proposals ORDER BY id");
  HashRows(db, h, "votes",
           "SELECT proposal, voter, choice, event, ts FROM votes ORDER BY proposal, voter");
  HashRows(db, h, "flags",
           "SELECT id, proposal, flagger, severity, category, rationale, created_ms FROM flags"
           " ORDER BY id");
  HashRows(db, h, "resolutions",
           "SELECT id, flag, author, kind, mitigation, ts FROM resolutions ORDER BY id");
  HashRows(db, h, "endorsements",
           "SELECT proposal, member, event, note FROM endorsements ORDER BY proposal, member");
  HashRows(db, h, "comments", "SELECT id, author, target, text, ts FROM comments ORDER BY id");
  HashRows(db, h, "delegations",
           "SELECT delegator, topic, delegate, event FROM delegations WHERE delegate != X''"
           " ORDER BY delegator, topic");
  HashRows(db, h, "seals",
           "SELECT deadline_ms, author, event, ts FROM seals ORDER BY deadline_ms, author, event");
  // Devices (rules version 4) enter the digest when there are any, so that a circle without
  // devices keeps the digest it had.
  if (SQLite::Statement any(db.raw(), "SELECT 1 FROM device_links"); any.executeStep()) {
    HashRows(db, h, "devices",
             "SELECT key, member, claim_event, head_seq, head_id, head_ts FROM devices"
             " ORDER BY key");
    HashRows(db, h, "device_links",
             "SELECT member, device, event FROM device_links ORDER BY device, member, event");
  }
  // Removals (rules version 7) likewise enter only when there are any.
  if (SQLite::Statement any(db.raw(), "SELECT 1 FROM removals"); any.executeStep()) {
    HashRows(db, h, "removals",
             "SELECT event, member, remover, reason, ts FROM removals ORDER BY event");
  }
  if (SQLite::Statement any(db.raw(), "SELECT 1 FROM network_keys"); any.executeStep()) {
    HashRows(db, h, "network_keys",
             "SELECT event, author, key_id, ts FROM network_keys ORDER BY event");
  }
  return h.Final();
}

}  // namespace polder::storage
