#include "storage/replica.h"

#include <limits>

#include "storage/db.h"
#include "storage/digest.h"
#include "storage/effects.h"
#include "storage/gate.h"
#include "storage/pending_set.h"
#include "storage/rulebook/judge.h"
#include "storage/rulebook/sign.h"
#include "storage/schema.h"
#include "storage/sql_state.h"

namespace polder::storage {
namespace {

// How long a write waits for another process's lock (a CLI command writing while no node runs).
constexpr int kBusyTimeoutMs = 5000;

}  // namespace

const char* ToString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied: return "applied";
    case Outcome::kAwaiting: return "awaiting";
    case Outcome::kPending: return "pending";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kEquivocation: return "equivocation";
    case Outcome::kVoid: return "void";
    case Outcome::kRefused: return "refused";
    case Outcome::kFrozen: return "frozen";
  }
  return "unknown";
}

// The replica's parts over one connection (declared here: SQLite stays out of replica.h).
struct Replica::Parts {
  explicit Parts(const std::filesystem::path& file)
      : db(file),
        sql_state(db),
        effects(db),
        pending(db),
        gate(db, sql_state, effects, pending),
        events(db),
        peers(db),
        state(db),
        views(db) {}

  Db db;
  SqlState sql_state;
  Effects effects;
  PendingSet pending;
  Gate gate;
  EventLog events;
  PeerTable peers;
  DerivedState state;
  Views views;
};

Replica::Replica(std::unique_ptr<Parts> parts)
    : parts_(std::move(parts)),
      events_(&parts_->events),
      peers_(&parts_->peers),
      state_(&parts_->state),
      views_(&parts_->views) {}

Replica::~Replica() = default;

Result<std::unique_ptr<Replica>> Replica::Open(const std::filesystem::path& file) {
  return Guard([&]() -> Result<std::unique_ptr<Replica>> {
    auto parts = std::make_unique<Parts>(file);
    auto& db = parts->db.raw();
    db.setBusyTimeout(kBusyTimeoutMs);
    db.exec("PRAGMA page_size = 16384");  // takes effect only when the file is created
    {
      SQLite::Statement wal(db, "PRAGMA journal_mode = WAL");
      wal.executeStep();
      // An in-memory replica (":memory:", for fuzzing) keeps SQLite's "memory" journal.
      if (wal.getColumn(0).getString() != "wal" && file != ":memory:") {
        return Fail(Errc::kIo, "replica: cannot switch " + file.string() + " to WAL mode");
      }
    }
    // FULL: a commit is on disk before Ingest() returns, so an acknowledged event survives a
    // power cut, not just a process crash.
    db.exec("PRAGMA synchronous = FULL");
    // Event ids are random, so their index pages are touched all over: keep them in memory.
    db.exec("PRAGMA cache_size = -65536");
    db.exec("PRAGMA wal_autocheckpoint = 16384");
    // A checkpoint rewinds the WAL but leaves the file at its largest size: the soak found nodes
    // whose WAL file had grown to 269 MB (a 4.5 MB replica) and stayed there. Truncated to 64 MiB
    // whenever it is rewound.
    db.exec("PRAGMA journal_size_limit = 67108864");
    db.exec("PRAGMA foreign_keys = ON");
    int version = db.execAndGet("PRAGMA user_version").getInt();
    const auto migrations = Migrations();
    if (version > static_cast<int>(migrations.size())) {
      return Fail(Errc::kCorruption, "replica " + file.string() + " has schema version " +
                                         std::to_string(version) +
                                         ", newer than this program knows; upgrade polder");
    }
    if (version < static_cast<int>(migrations.size())) {
      SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
      version = db.execAndGet("PRAGMA user_version").getInt();  // another process may have migrated
      for (auto i = static_cast<std::size_t>(version); i < migrations.size(); ++i) {
        db.exec(std::string(migrations[i]));
        db.exec("PRAGMA user_version = " + std::to_string(i + 1));
      }
      tx.commit();
    }
    std::unique_ptr<Replica> replica(new Replica(std::move(parts)));
    {
      ResetOnExit reset{replica->parts_->db};
      auto& q = replica->parts_->db.Q("SELECT value FROM meta WHERE key = 'circle_id'");
      if (q.executeStep()) replica->circle_ = CircleId::FromBytes(AsBytes(Blob(q.getColumn(0))));
    }
    // Derived state computed under other rules is recomputed from the events, once.
    const auto rules = [&] {
      ResetOnExit reset{replica->parts_->db};
      auto& q = replica->parts_->db.Q("SELECT value FROM meta WHERE key = 'rules_version'");
      return q.executeStep() ? q.getColumn(0).getInt64() : std::int64_t{1};
    }();
    if (rules < 3 && replica->circle_) {
      // Rules 3 name a circle by its charter's hash; before, by its founder and a salt. Such a
      // circle's charter is refused everywhere now, so its replica cannot be used.
      ResetOnExit reset{replica->parts_->db};
      auto& q = replica->parts_->db.Q("SELECT body FROM events WHERE kind = ? AND seq = 1 LIMIT 1");
      q.bind(1, static_cast<int>(v1::EventBody::kCharter));
      if (q.executeStep() &&
          !rulebook::CharterNamesItsCircle(Blob(q.getColumn(0)), replica->circle_->str())) {
        return Fail(Errc::kRefused,
                    "replica " + file.string() +
                        " holds a circle created by an older Polder, whose circle id does not name "
                        "its charter; this version cannot use it (create the circle again)");
      }
    }
    if (rules != rulebook::kRulesVersion) {
      if (Status s = replica->Rebuild(); !s) return Unexpected<Error>{s.error()};
    }
    return replica;
  });
}

Status Replica::SetCircle(const CircleId& circle) {
  if (circle_ && *circle_ == circle) return {};
  if (circle_)
    return Fail(Errc::kInvalidArgument, "this replica already belongs to another circle");
  return Guard([&]() -> Status {
    ResetOnExit reset{parts_->db};
    auto& st = parts_->db.Q("INSERT INTO meta(key, value) VALUES ('circle_id', ?)");
    Bind(st, 1, circle.view());
    st.exec();
    circle_ = circle;
    return {};
  });
}

template <class F>
auto Replica::InTransaction(F&& batch) -> decltype(batch()) {
  return Guard([&]() -> decltype(batch()) {
    try {
      parts_->db.Begin();
      parts_->gate.Begin();
      return batch();
    } catch (...) {
      parts_->db.Rollback();
      parts_->gate.Forget();
      throw;
    }
  });
}

Result<std::vector<IngestResult>> Replica::Ingest(std::span<const Bytes> batch,
                                                  const IngestOptions& opt) {
  return IngestDecoded(rulebook::DecodeBatch(batch, opt.now_ms, 1), opt);
}

Result<std::vector<IngestResult>> Replica::IngestDecoded(
    std::vector<Result<rulebook::DecodedEvent, rulebook::Refusal>> batch,
    const IngestOptions& opt) {
  return InTransaction([&]() -> Result<std::vector<IngestResult>> {
    std::vector<IngestResult> results;
    results.reserve(batch.size());
    std::optional<CircleId> circle = circle_;
    for (auto& ev : batch) results.push_back(parts_->gate.Ingest(std::move(ev), opt, circle));
    parts_->gate.Finish();
    parts_->db.Commit();
    circle_ = circle;
    return results;
  });
}

Result<IngestResult> Replica::IngestOne(ByteView event, const IngestOptions& opt) {
  Bytes copy(event.begin(), event.end());
  auto r = Ingest(std::span<const Bytes>(&copy, 1), opt);
  if (!r) return Unexpected<Error>{r.error()};
  return std::move(r->front());
}

Result<IngestResult> Replica::IngestAuthored(ByteView event, const IngestOptions& opt,
                                             const std::function<Status()>& before_commit) {
  return InTransaction([&]() -> Result<IngestResult> {
    std::optional<CircleId> circle = circle_;
    IngestResult r = parts_->gate.Ingest(rulebook::Decode(event, opt.now_ms), opt, circle);
    // An awaiting event is placed in its author's log like an applied one: it is written.
    if (r.outcome != Outcome::kApplied && r.outcome != Outcome::kAwaiting) {
      parts_->db.Rollback();
      parts_->gate.Forget();
      return r;
    }
    if (Status s = before_commit(); !s) {
      parts_->db.Rollback();
      parts_->gate.Forget();
      return Unexpected<Error>{s.error()};
    }
    parts_->gate.Finish();
    parts_->db.Commit();
    circle_ = circle;
    return r;
  });
}

Status Replica::Rebuild() {
  return InTransaction([&]() -> Status {
    parts_->gate.Rebuild();
    parts_->gate.Finish();
    auto& v = parts_->db.Q("INSERT OR REPLACE INTO meta(key, value) VALUES ('rules_version', ?)");
    v.bind(1, rulebook::kRulesVersion);
    v.exec();
    parts_->db.Commit();
    return {};
  });
}

Result<bool> Replica::Checkpoint() {
  return Guard([&]() -> Result<bool> {
    if (parts_->db.in_transaction()) return false;
    auto& raw = parts_->db.raw();
    raw.setBusyTimeout(0);
    int busy = 1;
    try {
      SQLite::Statement st(raw, "PRAGMA wal_checkpoint(TRUNCATE)");
      if (st.executeStep()) busy = st.getColumn(0).getInt();
    } catch (const SQLite::Exception&) {
      busy = 1;  // SQLITE_BUSY or LOCKED: a reader is in the way; next time
    }
    raw.setBusyTimeout(kBusyTimeoutMs);
    return busy == 0;
  });
}

Result<std::int64_t> Replica::JournalSizeLimit() {
  return Guard([&]() -> Result<std::int64_t> {
    return parts_->db.raw().execAndGet("PRAGMA journal_size_limit").getInt64();
  });
}

Result<Digest32> Replica::StateDigest() {
  return Guard([&]() -> Result<Digest32> {
    ResetOnExit reset{parts_->db};
    if (parts_->db.in_transaction()) parts_->sql_state.FlushHeads();
    return ComputeStateDigest(parts_->db);
  });
}

Result<VerifyReport> Replica::Verify() {
  return Guard([&]() -> Result<VerifyReport> {
    VerifyReport report;
    SQLite::Statement st(parts_->db.raw(),
                         "SELECT id, author, seq, body, sig FROM events ORDER BY rowid");
    const std::int64_t far_future = std::numeric_limits<std::int64_t>::max() / 2;
    while (st.executeStep()) {
      ++report.events_checked;
      const std::string id = Blob(st.getColumn(0));
      const Bytes envelope = rulebook::Envelope(Blob(st.getColumn(3)), Blob(st.getColumn(4)));
      auto decoded = rulebook::Decode(envelope, far_future);
      std::string problem;
      if (!decoded) {
        problem = std::string(ToString(decoded.error().code)) + ": " + decoded.error().message;
      } else if (decoded->id.str() != id) {
        problem = "stored id does not match the hash of the stored body";
      } else if (decoded->author.str() != Blob(st.getColumn(1)) ||
                 static_cast<std::int64_t>(decoded->body.seq()) != st.getColumn(2).getInt64()) {
        problem = "stored author or sequence does not match the body";
      }
      if (!problem.empty()) report.problems.push_back({ToId<EventId>(id), std::move(problem)});
    }
    // Derived state: recompute it from the events in a transaction that is rolled back.
    const Digest32 before = ComputeStateDigest(parts_->db);
    auto after = InTransaction([&]() -> Result<Digest32> {
      parts_->gate.Rebuild();
      parts_->sql_state.FlushHeads();
      const Digest32 d = ComputeStateDigest(parts_->db);
      parts_->db.Rollback();
      parts_->gate.Forget();
      return d;
    });
    if (!after) return Unexpected<Error>{after.error()};
    report.derived_state_matches = before == *after;
    report.digest = before;
    return report;
  });
}

Result<PendingStats> Replica::Pending() {
  return Guard([&]() -> Result<PendingStats> {
    PendingStats p;
    SQLite::Statement st(parts_->db.raw(),
                         "SELECT count(*), coalesce(sum(length(body) + length(sig)), 0) FROM events"
                         " WHERE state = 0 AND waiting_for <> X'46'");
    st.executeStep();
    p.events = static_cast<std::uint64_t>(st.getColumn(0).getInt64());
    p.bytes = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
    p.evicted = parts_->pending.evicted_total();
    return p;
  });
}

std::map<MemberKey, std::uint64_t> Replica::TakeEvicted() { return parts_->pending.TakeEvicted(); }

}  // namespace polder::storage
