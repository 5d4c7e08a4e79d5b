#include "storage/replica.h"

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_map>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include "crypto/hash.h"
#include "crypto/member_id.h"
#include "proto/words.h"
#include "storage/limits.h"
#include "storage/schema.h"

namespace polder::storage {
namespace {

using v1::EventBody;

// waiting_for value of events that can never be applied: equivocation proofs and the frozen part
// of a forked author's log.
const std::string kFrozen = "F";

// Bindings do not copy: every caller executes the statement while the bound value is alive, and
// Q() clears bindings before a statement is used again. (Copying cost a malloc per column.)
void Bind(SQLite::Statement& st, int i, const std::string& blob) {
  st.bindNoCopy(i, blob.data(), static_cast<int>(blob.size()));
}
void Bind(SQLite::Statement& st, int i, ByteView blob) {
  st.bindNoCopy(i, blob.data(), static_cast<int>(blob.size()));
}
void BindText(SQLite::Statement& st, int i, const std::string& text) { st.bindNoCopy(i, text); }
// Temporaries would dangle before the statement runs.
void Bind(SQLite::Statement&, int, std::string&&) = delete;
void BindText(SQLite::Statement&, int, std::string&&) = delete;

std::string Blob(const SQLite::Column& c) {
  if (c.isNull()) return {};
  return std::string(static_cast<const char*>(c.getBlob()), static_cast<std::size_t>(c.getBytes()));
}

// The short key of an event id (events.idp).
std::int64_t IdPrefix(ByteView id) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < id.size(); ++i) v = v << 8 | id[i];
  return static_cast<std::int64_t>(v);
}

template <class IdT>
IdT ToId(const std::string& s) {
  auto id = IdT::FromBytes(AsBytes(s));
  return id ? *id : IdT{};
}

// Runs `fn`, turning SQLite exceptions into errors at the module boundary.
template <class F>
auto Guard(F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    const int code = e.getErrorCode();
    const Errc errc = code == SQLITE_BUSY || code == SQLITE_LOCKED      ? Errc::kUnavailable
                      : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? Errc::kCorruption
                                                                        : Errc::kIo;
    return Fail(errc, std::string("replica: ") + e.what());
  }
}

}  // namespace

const char* ToString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied: return "applied";
    case Outcome::kPending: return "pending";
    case Outcome::kDuplicate: return "duplicate";
    case Outcome::kEquivocation: return "equivocation";
    case Outcome::kVoid: return "void";
    case Outcome::kRefused: return "refused";
  }
  return "unknown";
}

// An event loaded back from the table.
struct StoredEvent {
  std::int64_t rowid = 0;
  EventId id;
  MemberKey author;
  EventBody body;
  std::int64_t bytes = 0;  // body + signature, as counted against the pending set's bounds
};

// AppliedKind() of a void event: it exists, but refers to nothing a reference may rely on.
constexpr int kVoidKind = -1;

// What trying to apply an event found.
struct ApplyResult {
  // kVoid: the event takes its place in the author's log (the log stays linear and a second,
  // different event at that seq is still an equivocation) but breaks a rule that depends on other
  // events, so it has no effect on the derived state. kInvalid: refused outright (not stored).
  enum Kind { kApplied, kWaiting, kVoid, kInvalid } kind = kApplied;
  std::string waiting_key;  // kWaiting: event id or member key (raw bytes), or kFrozen
  std::string waiting_text;
  std::optional<Refusal> refusal;  // kVoid, kInvalid
  std::vector<std::string> wakes;  // kApplied: keys other events may be waiting for
};

struct Replica::Impl {
  explicit Impl(const std::filesystem::path& file)
      : db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX) {}

  SQLite::Database db;
  bool in_tx = false;
  std::int64_t next_apply_order = 1;
  // The pending set (state 0, not frozen): in total and per author, counted in events and in
  // bytes (body + signature). Recounted when a write transaction begins; kept up to date by every
  // change inside it.
  std::int64_t pending_count = 0;
  std::int64_t pending_bytes = 0;
  struct PendingTally {
    std::int64_t count = 0;
    std::int64_t bytes = 0;
  };
  std::map<std::string, PendingTally> pending_by_author;
  // Evictions since the replica was opened (a rolled-back batch's count too), and per author
  // since the last TakeEvicted().
  std::uint64_t evicted_total = 0;
  std::map<std::string, std::uint64_t> evicted_authors;

  void CountPending(const std::string& author, std::int64_t bytes, int delta) {
    pending_count += delta;
    pending_bytes += delta * bytes;
    auto& t = pending_by_author[author];
    t.count += delta;
    t.bytes += delta * bytes;
    if (t.count <= 0) pending_by_author.erase(author);
  }
  // Keyed by the address of the SQL string literal: no string is built on the hot path.
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> cache;
  // Forked authors → fork seq, loaded when a write transaction begins (the ingest path's copy).
  std::map<std::string, std::uint64_t> forks;

  // Prepared statements are cached by their SQL text: the ingest path prepares nothing twice.
  SQLite::Statement& Q(const char* sql) {
    auto it = cache.find(sql);
    if (it == cache.end()) {
      it = cache.emplace(sql, std::make_unique<SQLite::Statement>(db, sql)).first;
    }
    auto& st = *it->second;
    st.reset();
    st.clearBindings();
    return st;
  }

  // Cached statements keep a read snapshot open until reset; release them whenever a public
  // operation ends, so this connection never pins an old snapshot (which would make its next write
  // fail with SQLITE_BUSY_SNAPSHOT and keep the WAL from being checkpointed).
  void ResetAll() {
    for (auto& [sql, st] : cache) st->reset();
  }
  struct Release {
    Impl* impl;
    ~Release() { impl->ResetAll(); }
  };

  void LoadCounters() {
    // Kept in meta so a write transaction does not start with a scan of every event.
    auto& a = Q("SELECT value FROM meta WHERE key = 'next_apply_order'");
    next_apply_order = a.executeStep() ? a.getColumn(0).getInt64() : 1;
    RecountPending();
  }

  std::optional<std::uint64_t> CachedForkSeq(const std::string& author) const {
    auto it = forks.find(author);
    if (it == forks.end()) return std::nullopt;
    return it->second;
  }

  void LoadForks() {
    forks.clear();
    auto& st = Q("SELECT author, seq FROM forks");
    while (st.executeStep()) {
      forks[Blob(st.getColumn(0))] = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
    }
  }

  std::optional<std::uint64_t> ForkSeq(const std::string& author) {
    auto& st = Q("SELECT seq FROM forks WHERE author = ?");
    Bind(st, 1, author);
    if (!st.executeStep()) return std::nullopt;
    return static_cast<std::uint64_t>(st.getColumn(0).getInt64());
  }

  std::optional<StoredEvent> Load(std::int64_t rowid) {
    auto& st =
        Q("SELECT id, author, body, state, length(body) + length(sig) FROM events WHERE rowid = ?");
    st.bind(1, rowid);
    if (!st.executeStep() || st.getColumn(3).getInt() != 0) return std::nullopt;
    StoredEvent ev;
    ev.rowid = rowid;
    ev.bytes = st.getColumn(4).getInt64();
    ev.id = ToId<EventId>(Blob(st.getColumn(0)));
    ev.author = ToId<MemberKey>(Blob(st.getColumn(1)));
    const std::string body = Blob(st.getColumn(2));
    if (!ev.body.ParseFromString(body)) return std::nullopt;  // validated on the way in
    return ev;
  }

  // Kind of an applied event, if it is applied.
  // Kinds of applied events looked up during the open transaction. Applied events stay applied
  // until a rebuild (which clears this), so a hit is always current. Proposals are referenced by
  // every vote, flag and comment on them: this saves an index probe per such event.
  std::unordered_map<std::string, int> applied_kinds;

  std::optional<int> AppliedKind(const std::string& id) {
    if (auto it = applied_kinds.find(id); it != applied_kinds.end()) return it->second;
    auto& st =
        Q("SELECT kind, void_code IS NULL FROM events WHERE idp = ? AND id = ? AND state = 1");
    st.bind(1, IdPrefix(AsBytes(id)));
    Bind(st, 2, id);
    if (!st.executeStep()) return std::nullopt;
    const int kind = st.getColumn(1).getInt() ? st.getColumn(0).getInt() : kVoidKind;
    applied_kinds.emplace(id, kind);
    return kind;
  }

  // For references: applied event of the wanted kind → nullopt (fine); otherwise why not.
  std::optional<ApplyResult> NeedApplied(const std::string& id, int kind, const char* what) {
    auto k = AppliedKind(id);
    if (k && *k == kind) return std::nullopt;
    ApplyResult r;
    if (k) {
      r.kind = ApplyResult::kInvalid;
      r.refusal = Refusal{RefusalCode::kBadReference,
                          std::string("refers to an event that is not a ") + what};
    } else {
      r.kind = ApplyResult::kWaiting;
      r.waiting_key = id;
      r.waiting_text = std::string(what) + " " + ToHex(AsBytes(id)).substr(0, 12) + " not yet held";
    }
    return r;
  }

  // Members' log heads, cached for the open transaction and written back before it commits, so
  // applying an event costs no members-table round trip.
  struct Head {
    std::uint64_t seq = 0;
    std::string id;
    std::int64_t ts = 0;
    bool dirty = false;
  };
  std::unordered_map<std::string, Head> heads;

  const Head* GetHead(const std::string& author) {
    if (auto it = heads.find(author); it != heads.end()) return &it->second;
    auto& st = Q("SELECT head_seq, head_id, head_ts FROM members WHERE key = ?");
    Bind(st, 1, author);
    if (!st.executeStep()) return nullptr;  // not a member (yet): not cached
    Head h;
    h.seq = static_cast<std::uint64_t>(st.getColumn(0).getInt64());
    h.id = Blob(st.getColumn(1));
    h.ts = st.getColumn(2).getInt64();
    return &heads.emplace(author, std::move(h)).first->second;
  }

  void SetHead(const std::string& author, std::uint64_t seq, std::string id, std::int64_t ts) {
    Head& h = heads[author];
    h.seq = seq;
    h.id = std::move(id);
    h.ts = ts;
    h.dirty = true;
  }

  void FlushHeads() {
    for (auto& [author, h] : heads) {
      if (!h.dirty) continue;
      auto& up = Q("UPDATE members SET head_seq = ?, head_id = ?, head_ts = ? WHERE key = ?");
      up.bind(1, static_cast<std::int64_t>(h.seq));
      Bind(up, 2, h.id);
      up.bind(3, h.ts);
      Bind(up, 4, author);
      up.exec();
      h.dirty = false;
    }
  }

  ApplyResult Waiting(std::string key, std::string text) {
    ApplyResult r;
    r.kind = ApplyResult::kWaiting;
    r.waiting_key = std::move(key);
    r.waiting_text = std::move(text);
    return r;
  }
  ApplyResult Invalid(RefusalCode code, std::string text) {
    ApplyResult r;
    r.kind = ApplyResult::kInvalid;
    r.refusal = Refusal{code, std::move(text)};
    return r;
  }

  // The heart of the gate's second half: can `ev` be applied now, and if so, apply it.
  ApplyResult TryApply(const StoredEvent& ev) { return TryApply(ev.id, ev.author, ev.body); }

  ApplyResult TryApply(const EventId& id, const MemberKey& author_key, const EventBody& b) {
    const std::string& author = b.author();
    if (auto fork = CachedForkSeq(author); fork && b.seq() >= *fork) {
      return Waiting(kFrozen, "author's log is frozen at its fork");
    }
    if (b.payload_case() == EventBody::kCharter) return ApplyCharter(id, b);

    const Head* head = GetHead(author);
    if (!head) {
      return Waiting(author, "author " + crypto::Fingerprint(author_key) + " not yet admitted");
    }
    const std::uint64_t head_seq = head->seq;
    const std::string& head_id = head->id;
    const std::int64_t head_ts = head->ts;
    if (b.seq() <= head_seq) {
      // Only reachable for an event at an applied position with no equivocation record, which
      // the gate prevents; refuse rather than apply twice.
      return Invalid(RefusalCode::kMalformed, "sequence number already used");
    }
    if (b.seq() != head_seq + 1 || b.prev() != head_id) {
      return Waiting(b.prev(), "previous event " + ToHex(AsBytes(b.prev())).substr(0, 12) +
                                   " (seq " + std::to_string(b.seq() - 1) + ") not yet held");
    }
    ApplyResult r;
    if (b.timestamp_ms() < head_ts) {
      r = Invalid(RefusalCode::kTimestampRegression,
                  "timestamp is earlier than the author's previous event");
    } else {
      r = ApplyPayload(id, b);
    }
    switch (r.kind) {
      case ApplyResult::kWaiting: return r;
      case ApplyResult::kInvalid: r.kind = ApplyResult::kVoid; break;
      case ApplyResult::kApplied:
      case ApplyResult::kVoid: break;
    }
    SetHead(author, b.seq(), id.str(), b.timestamp_ms());
    r.wakes.push_back(id.str());
    return r;
  }

  // The payload's effect on the derived state, once the author and the chain are in order.
  ApplyResult ApplyPayload(const EventId& id, const EventBody& b) {
    const std::string& author = b.author();
    ApplyResult r;
    switch (b.payload_case()) {
      case EventBody::kAdmit: {
        const auto& a = b.admit();
        const auto& info = a.info();
        auto& existing = Q("SELECT admit_event FROM members WHERE key = ?");
        Bind(existing, 1, a.member());
        if (existing.executeStep()) {
          // Admitted more than once: the record from the smallest admitting event id stands, so
          // every replica shows the same name whatever the arrival order. The founder's record
          // is the charter's and no admission changes it.
          const std::string current = Blob(existing.getColumn(0));
          auto& founder = Q("SELECT 1 FROM charter WHERE founder = ?");
          Bind(founder, 1, a.member());
          const bool is_founder = founder.executeStep();
          if (!is_founder && id.str() < current) {
            auto& up =
                Q("UPDATE members SET name = ?, organisation = ?, role = ?, formal_leader = ?, "
                  "admit_event = ? WHERE key = ?");
            BindText(up, 1, info.name());
            BindText(up, 2, info.organisation());
            BindText(up, 3, info.role());
            up.bind(4, info.formal_leader() ? 1 : 0);
            Bind(up, 5, id.view());
            Bind(up, 6, a.member());
            up.exec();
          }
        } else {
          InsertMember(a.member(), info, id.str());
        }
        auto& adm = Q("INSERT OR IGNORE INTO admissions(member, event, admitter) VALUES (?, ?, ?)");
        Bind(adm, 1, a.member());
        Bind(adm, 2, id.view());
        Bind(adm, 3, author);
        adm.exec();
        r.wakes.push_back(a.member());
        break;
      }
      case EventBody::kProposal: {
        const auto& p = b.proposal();
        auto& st = Q(
            "INSERT INTO proposals(id, author, title, body, amount_minor, purpose_fit, deadline_ms,"
            " topic, created_ms, rules) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        Bind(st, 1, id.view());
        Bind(st, 2, author);
        BindText(st, 3, p.title());
        BindText(st, 4, p.body());
        st.bind(5, static_cast<std::int64_t>(p.amount_minor()));
        BindText(st, 6, p.purpose_fit());
        st.bind(7, static_cast<std::int64_t>(p.deadline_ms()));
        BindText(st, 8, p.topic());
        st.bind(9, static_cast<std::int64_t>(b.timestamp_ms()));
        const std::string rules = p.has_rules() ? p.rules().SerializeAsString() : std::string();
        if (p.has_rules()) {
          Bind(st, 10, rules);
        } else {
          st.bind(10);
        }
        st.exec();
        break;
      }
      case EventBody::kVote: {
        if (auto w = NeedApplied(b.vote().proposal(), EventBody::kProposal, "proposal")) return *w;
        auto& st =
            Q("INSERT OR REPLACE INTO votes(proposal, voter, choice, event, ts) VALUES (?, ?, ?, "
              "?, ?)");
        Bind(st, 1, b.vote().proposal());
        Bind(st, 2, author);
        st.bind(3, static_cast<int>(b.vote().choice()));
        Bind(st, 4, id.view());
        st.bind(5, static_cast<std::int64_t>(b.timestamp_ms()));
        st.exec();
        break;
      }
      case EventBody::kRiskFlag: {
        const auto& f = b.risk_flag();
        if (auto w = NeedApplied(f.proposal(), EventBody::kProposal, "proposal")) return *w;
        auto& st =
            Q("INSERT INTO flags(id, proposal, flagger, severity, category, rationale, created_ms)"
              " VALUES (?, ?, ?, ?, ?, ?, ?)");
        Bind(st, 1, id.view());
        Bind(st, 2, f.proposal());
        Bind(st, 3, author);
        st.bind(4, static_cast<int>(f.severity()));
        BindText(st, 5, f.category());
        BindText(st, 6, f.rationale());
        st.bind(7, static_cast<std::int64_t>(b.timestamp_ms()));
        st.exec();
        break;
      }
      case EventBody::kFlagResolution: {
        const auto& res = b.flag_resolution();
        if (auto w = NeedApplied(res.flag(), EventBody::kRiskFlag, "risk flag")) return *w;
        auto& who =
            Q("SELECT f.flagger, p.author FROM flags f JOIN proposals p ON p.id = f.proposal "
              "WHERE f.id = ?");
        Bind(who, 1, res.flag());
        if (!who.executeStep()) return Invalid(RefusalCode::kBadReference, "flag has no proposal");
        const std::string flagger = Blob(who.getColumn(0));
        const std::string proposer = Blob(who.getColumn(1));
        if (res.kind() == v1::FlagResolution::WITHDRAW && author != flagger) {
          return Invalid(RefusalCode::kNotAllowed,
                         "only the member who raised a flag can withdraw it");
        }
        if (res.kind() == v1::FlagResolution::ANSWER && author != proposer) {
          return Invalid(RefusalCode::kNotAllowed,
                         "only the proposer can answer a flag with a mitigation");
        }
        auto& st =
            Q("INSERT INTO resolutions(id, flag, author, kind, mitigation, ts) VALUES (?, ?, ?, ?, "
              "?, ?)");
        Bind(st, 1, id.view());
        Bind(st, 2, res.flag());
        Bind(st, 3, author);
        st.bind(4, static_cast<int>(res.kind()));
        BindText(st, 5, res.mitigation());
        st.bind(6, static_cast<std::int64_t>(b.timestamp_ms()));
        st.exec();
        break;
      }
      case EventBody::kEndorsement: {
        const auto& e = b.endorsement();
        if (auto w = NeedApplied(e.proposal(), EventBody::kProposal, "proposal")) return *w;
        auto& st =
            Q("INSERT OR REPLACE INTO endorsements(proposal, member, event, note) VALUES (?, ?, ?, "
              "?)");
        Bind(st, 1, e.proposal());
        Bind(st, 2, author);
        Bind(st, 3, id.view());
        BindText(st, 4, e.note());
        st.exec();
        break;
      }
      case EventBody::kComment: {
        const auto& c = b.comment();
        if (!c.target().empty() && !AppliedKind(c.target())) {
          return Waiting(c.target(), "commented event " + ToHex(AsBytes(c.target())).substr(0, 12) +
                                         " not yet held");
        }
        auto& st = Q("INSERT INTO comments(id, author, target, text, ts) VALUES (?, ?, ?, ?, ?)");
        Bind(st, 1, id.view());
        Bind(st, 2, author);
        Bind(st, 3, c.target());  // X'' when the comment is about the circle as a whole
        BindText(st, 4, c.text());
        st.bind(5, static_cast<std::int64_t>(b.timestamp_ms()));
        st.exec();
        break;
      }
      case EventBody::kDelegation: {
        const auto& d = b.delegation();
        if (d.revoke()) {
          auto& st = Q("DELETE FROM delegations WHERE delegator = ? AND topic = ?");
          Bind(st, 1, author);
          BindText(st, 2, d.topic());
          st.exec();
          break;
        }
        auto& m = Q("SELECT 1 FROM members WHERE key = ?");
        Bind(m, 1, d.delegate());
        if (!m.executeStep()) {
          return Waiting(d.delegate(), "delegate not yet admitted");
        }
        auto& st =
            Q("INSERT OR REPLACE INTO delegations(delegator, topic, delegate, event) VALUES (?, ?, "
              "?, ?)");
        Bind(st, 1, author);
        BindText(st, 2, d.topic());
        Bind(st, 3, d.delegate());
        Bind(st, 4, id.view());
        st.exec();
        break;
      }
      case EventBody::kWithdraw: {
        const auto& w = b.withdraw();
        if (auto need = NeedApplied(w.proposal(), EventBody::kProposal, "proposal")) return *need;
        auto& owner = Q("SELECT author FROM proposals WHERE id = ?");
        Bind(owner, 1, w.proposal());
        if (!owner.executeStep() || Blob(owner.getColumn(0)) != author) {
          return Invalid(RefusalCode::kNotAllowed, "only its author can withdraw a proposal");
        }
        auto& st =
            Q("UPDATE proposals SET withdrawn_event = ?, withdraw_reason = ? "
              "WHERE id = ? AND withdrawn_event IS NULL");
        Bind(st, 1, id.view());
        BindText(st, 2, w.reason());
        Bind(st, 3, w.proposal());
        st.exec();
        break;
      }
      case EventBody::kSeal: {
        auto& st = Q("INSERT INTO seals(deadline_ms, author, event, ts) VALUES (?, ?, ?, ?)");
        st.bind(1, static_cast<std::int64_t>(b.seal().deadline_ms()));
        Bind(st, 2, author);
        Bind(st, 3, id.view());
        st.bind(4, static_cast<std::int64_t>(b.timestamp_ms()));
        st.exec();
        break;
      }
      case EventBody::kCharter:
        return Invalid(RefusalCode::kBadCharter, "a charter must be the founder's first event");
      case EventBody::PAYLOAD_NOT_SET:
        return Invalid(RefusalCode::kMalformed, "unexpected payload");
    }
    return r;
  }

  ApplyResult ApplyCharter(const EventId& id, const EventBody& b) {
    const auto& c = b.charter();
    auto& exists = Q("SELECT 1 FROM charter");
    if (exists.executeStep()) {
      // A second charter for this circle id can only come from the same founder at seq 1, which
      // the equivocation check catches first.
      return Invalid(RefusalCode::kBadCharter, "the circle already has a charter");
    }
    std::string rules;
    c.rules().SerializeToString(&rules);
    auto& st = Q(
        "INSERT INTO charter(one, event, founder, name, purpose, pool_minor, unit, decimals, rules)"
        " VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)");
    Bind(st, 1, id.view());
    Bind(st, 2, b.author());
    BindText(st, 3, c.name());
    BindText(st, 4, c.purpose());
    st.bind(5, static_cast<std::int64_t>(c.pool_minor()));
    BindText(st, 6, c.unit());
    st.bind(7, static_cast<int>(c.decimals()));
    Bind(st, 8, rules);
    st.exec();
    InsertMember(b.author(), c.founder(), id.str());
    SetHead(b.author(), 1, id.str(), b.timestamp_ms());
    auto& adm = Q("INSERT OR IGNORE INTO admissions(member, event, admitter) VALUES (?, ?, ?)");
    Bind(adm, 1, b.author());
    Bind(adm, 2, id.view());
    Bind(adm, 3, b.author());
    adm.exec();
    ApplyResult r;
    r.wakes = {id.str(), b.author()};
    return r;
  }

  void InsertMember(const std::string& key, const v1::MemberInfo& info, const std::string& event) {
    auto& st =
        Q("INSERT INTO members(key, name, organisation, role, formal_leader, admit_event, head_seq,"
          " head_id, head_ts) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, 0)");
    Bind(st, 1, key);
    BindText(st, 2, info.name());
    BindText(st, 3, info.organisation());
    BindText(st, 4, info.role());
    st.bind(5, info.formal_leader() ? 1 : 0);
    Bind(st, 6, event);
    st.exec();
  }

  // `void_code` >= 0 marks the event void (RefusalCode); -1 means it took effect.
  void MarkApplied(std::int64_t rowid, int void_code) {
    auto& st =
        Q("UPDATE events SET state = 1, waiting_for = NULL, apply_order = ?, void_code = ?"
          " WHERE rowid = ?");
    st.bind(1, next_apply_order++);
    if (void_code >= 0) {
      st.bind(2, void_code);
    } else {
      st.bind(2);
    }
    st.bind(3, rowid);
    st.exec();
  }

  void SetWaiting(std::int64_t rowid, const std::string& key) {
    auto& st = Q("UPDATE events SET waiting_for = ? WHERE rowid = ?");
    Bind(st, 1, key);
    st.bind(2, rowid);
    st.exec();
  }

  void Delete(std::int64_t rowid) {
    auto& st = Q("DELETE FROM events WHERE rowid = ?");
    st.bind(1, rowid);
    st.exec();
  }

  // Applies everything that was waiting for one of `keys`, transitively.
  void Wake(std::vector<std::string> keys) {
    while (!keys.empty()) {
      const std::string key = std::move(keys.back());
      keys.pop_back();
      std::vector<std::int64_t> rows;
      {
        auto& st = Q("SELECT rowid FROM events WHERE state = 0 AND waiting_for = ? ORDER BY rowid");
        Bind(st, 1, key);
        while (st.executeStep()) rows.push_back(st.getColumn(0).getInt64());
      }
      for (auto rowid : rows) {
        auto ev = Load(rowid);
        if (!ev) continue;
        auto r = TryApply(*ev);
        Settle(*ev, r, /*was_pending=*/true);
        if (r.kind == ApplyResult::kApplied || r.kind == ApplyResult::kVoid) {
          keys.insert(keys.end(), r.wakes.begin(), r.wakes.end());
        }
      }
    }
  }

  // Records what TryApply found for a stored event.
  void Settle(const StoredEvent& ev, const ApplyResult& r, bool was_pending) {
    const std::int64_t rowid = ev.rowid;
    const std::string author = ev.author.str();
    switch (r.kind) {
      case ApplyResult::kApplied:
      case ApplyResult::kVoid:
        MarkApplied(rowid, r.kind == ApplyResult::kVoid ? static_cast<int>(r.refusal->code) : -1);
        if (was_pending) CountPending(author, ev.bytes, -1);
        break;
      case ApplyResult::kWaiting:
        SetWaiting(rowid, r.waiting_key);
        if (r.waiting_key == kFrozen && was_pending) CountPending(author, ev.bytes, -1);
        if (r.waiting_key != kFrozen && !was_pending) CountPending(author, ev.bytes, +1);
        break;
      case ApplyResult::kInvalid:
        Delete(rowid);
        if (was_pending) CountPending(author, ev.bytes, -1);
        break;
    }
  }

  // Stores a new event: applied (with the next apply order) or not (waiting for `waiting`).
  std::int64_t Insert(const DecodedEvent& ev, bool applied, const std::string& waiting,
                      int void_code = -1) {
    auto& st = Q(
        "INSERT INTO events(id, author, seq, ts, kind, body, sig, state, waiting_for, apply_order,"
        " idp, void_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Bind(st, 1, ev.id.view());
    Bind(st, 2, ev.author.view());
    st.bind(3, static_cast<std::int64_t>(ev.body.seq()));
    st.bind(4, static_cast<std::int64_t>(ev.body.timestamp_ms()));
    st.bind(5, static_cast<int>(ev.body.payload_case()));
    Bind(st, 6, ev.body_bytes);
    Bind(st, 7, ev.signature);
    st.bind(8, applied ? 1 : 0);
    if (applied) {
      st.bind(9);
      st.bind(10, next_apply_order++);
    } else {
      Bind(st, 9, waiting);
      st.bind(10);
    }
    st.bind(11, IdPrefix(ev.id.view()));
    if (void_code >= 0) {
      st.bind(12, void_code);
    } else {
      st.bind(12);
    }
    st.exec();
    return db.getLastInsertRowid();
  }

  // Recomputes derived state from the events table. Runs inside the caller's transaction.
  void RebuildLocked() {
    heads.clear();
    applied_kinds.clear();
    db.exec(
        "DELETE FROM charter; DELETE FROM members; DELETE FROM admissions; DELETE FROM proposals;"
        "DELETE FROM votes; DELETE FROM flags; DELETE FROM resolutions; DELETE FROM endorsements;"
        "DELETE FROM comments; DELETE FROM delegations; DELETE FROM seals;"
        "UPDATE events SET state = 0, waiting_for = NULL, apply_order = NULL, void_code = NULL;");
    next_apply_order = 1;
    pending_count = 0;
    pending_bytes = 0;
    pending_by_author.clear();
    std::vector<std::int64_t> rows;
    {
      auto& st = Q("SELECT rowid FROM events ORDER BY rowid");
      while (st.executeStep()) rows.push_back(st.getColumn(0).getInt64());
    }
    for (auto rowid : rows) {
      auto& check = Q("SELECT waiting_for IS NULL FROM events WHERE rowid = ? AND state = 0");
      check.bind(1, rowid);
      if (!check.executeStep() || check.getColumn(0).getInt() == 0) continue;  // already settled
      auto ev = Load(rowid);
      if (!ev) {
        SetWaiting(rowid, kFrozen);  // damaged body (verify reports it): never applied, counted
        continue;
      }
      auto r = TryApply(*ev);
      Settle(*ev, r, /*was_pending=*/false);
      if (r.kind == ApplyResult::kApplied || r.kind == ApplyResult::kVoid) Wake(r.wakes);
    }
    rebuild_needed = false;
  }

  // Set when an equivocation unapplies events; the rebuild runs once, before the batch commits.
  bool rebuild_needed = false;

  void RecountPending() {
    pending_count = 0;
    pending_bytes = 0;
    pending_by_author.clear();
    auto& p =
        Q("SELECT author, count(*), sum(length(body) + length(sig)) FROM events"
          " WHERE state = 0 AND waiting_for <> X'46' GROUP BY author");
    while (p.executeStep()) {
      PendingTally t{p.getColumn(1).getInt64(), p.getColumn(2).getInt64()};
      pending_count += t.count;
      pending_bytes += t.bytes;
      pending_by_author.emplace(Blob(p.getColumn(0)), t);
    }
  }

  // Deletes `author`'s oldest pending event (by arrival). False if they have none.
  bool EvictOldest(const std::string& author) {
    std::int64_t rowid = 0, bytes = 0;
    {
      auto& st =
          Q("SELECT rowid, length(body) + length(sig) FROM events"
            " WHERE author = ? AND state = 0 AND waiting_for <> X'46' ORDER BY rowid LIMIT 1");
      Bind(st, 1, author);
      if (!st.executeStep()) {
        pending_by_author.erase(author);  // the tally was stale; nothing to evict
        return false;
      }
      rowid = st.getColumn(0).getInt64();
      bytes = st.getColumn(1).getInt64();
    }
    Delete(rowid);
    CountPending(author, bytes, -1);
    ++evicted_total;
    ++evicted_authors[author];
    return true;
  }

  // Makes room in the pending set for one more event of `author`, `bytes` long. First the
  // author's own share: while it is full, the author's oldest pending event goes. Then the whole
  // set: while it is full, the oldest pending event of the author who holds the most goes (so a
  // member who floods it with events beyond a gap evicts their own, not the few events another
  // member's honest gap holds). Evicted events are deleted: they are not part of any version
  // vector's run while pending past a gap, and a peer or a file can bring them again. Every loop
  // evicts one event per turn, so each ends within the pending set's size. False when the event
  // cannot fit even in an empty set.
  bool MakeRoom(const std::string& author, std::int64_t bytes, const IngestOptions& opt) {
    if (opt.max_pending <= 0 || opt.max_pending_per_author <= 0 || bytes > opt.max_pending_bytes ||
        bytes > opt.max_pending_bytes_per_author) {
      return false;
    }
    for (;;) {
      auto it = pending_by_author.find(author);
      if (it == pending_by_author.end() ||
          (it->second.count < opt.max_pending_per_author &&
           it->second.bytes + bytes <= opt.max_pending_bytes_per_author)) {
        break;
      }
      if (!EvictOldest(author)) break;
    }
    while (pending_count >= opt.max_pending || pending_bytes + bytes > opt.max_pending_bytes) {
      auto most = pending_by_author.end();
      for (auto it = pending_by_author.begin(); it != pending_by_author.end(); ++it) {
        if (most == pending_by_author.end() || it->second.count > most->second.count ||
            (it->second.count == most->second.count && it->second.bytes > most->second.bytes)) {
          most = it;
        }
      }
      if (most == pending_by_author.end()) return false;
      const std::string victim = most->first;  // EvictOldest may erase the entry
      (void)EvictOldest(victim);
    }
    return true;
  }

  IngestResult IngestLocked(ByteView bytes, const IngestOptions& opt,
                            std::optional<CircleId>& circle) {
    return IngestDecoded(Decode(bytes, opt.now_ms), opt, circle);
  }

  IngestResult IngestDecoded(Result<DecodedEvent, Refusal> decoded, const IngestOptions& opt,
                             std::optional<CircleId>& circle) {
    IngestResult out;
    if (!decoded) {
      out.refusal = decoded.error();
      return out;
    }
    DecodedEvent& ev = *decoded;
    out.id = ev.id;
    out.author = ev.author;
    out.seq = ev.body.seq();
    // A replica that belongs to no circle yet joins the one it is told to (founding, or a first
    // import) with the first event it stores, in the same transaction: if nothing is stored,
    // nothing changes.
    std::optional<CircleId> effective = circle;
    const bool adopting =
        !circle && opt.adopt_circle && ev.body.circle_id() == opt.adopt_circle->str();
    if (adopting) effective = opt.adopt_circle;
    if (!effective) {
      out.refusal =
          Refusal{RefusalCode::kWrongCircle,
                  "this replica belongs to no circle yet (create one or import a bundle)"};
      return out;
    }
    if (ev.body.circle_id() != effective->str()) {
      out.refusal = Refusal{RefusalCode::kWrongCircle, "event belongs to another circle"};
      return out;
    }
    auto stored = [&] {
      if (!adopting || circle) return;
      auto& st = Q("INSERT INTO meta(key, value) VALUES ('circle_id', ?)");
      Bind(st, 1, effective->view());
      st.exec();
      circle = effective;
    };
    // One probe of (author, seq) finds both a duplicate (same id) and an equivocation (another id):
    // an event id is the hash of a body that contains the author and the sequence number.
    const std::string author = ev.author.str();
    std::optional<std::string> other;
    // Fast path: with nothing pending or frozen for this author, every stored event of theirs is
    // applied, so a seq beyond their applied head cannot be held yet.
    const Head* head = pending_count == 0 ? GetHead(author) : nullptr;
    const bool beyond_head = head && ev.body.seq() > head->seq && !CachedForkSeq(author);
    if (!beyond_head) {
      auto& same = Q("SELECT id FROM events WHERE author = ? AND seq = ?");
      Bind(same, 1, author);
      same.bind(2, static_cast<std::int64_t>(ev.body.seq()));
      while (same.executeStep()) {
        std::string id = Blob(same.getColumn(0));
        if (id == ev.id.str()) {
          out.outcome = Outcome::kDuplicate;
          return out;
        }
        other = std::move(id);
      }
    }
    const auto fork = CachedForkSeq(author);
    if (fork && ev.body.seq() >= *fork) {
      // Also a third version at the fork: the fork is known, and the digest records only
      // (author, fork seq), so keeping it would change nothing but the disk.
      out.refusal = Refusal{RefusalCode::kForkedAuthor,
                            "author " + crypto::Fingerprint(ev.author) + " equivocated at seq " +
                                std::to_string(*fork) + "; their log is frozen there"};
      return out;
    }
    if (other) {
      if (!GetHead(author) && StrangerQuotaFull(author)) {
        out.refusal = Refusal{RefusalCode::kPendingFull,
                              "this not-yet-admitted author already has " +
                                  std::to_string(kMaxPendingPerStranger) + " events held"};
        return out;
      }
      // Equivocation: two different signed events at one (author, seq). Keep both as proof and
      // freeze the author's log from there on, on every replica alike.
      Insert(ev, false, kFrozen);
      stored();
      auto& f =
          Q("INSERT OR REPLACE INTO forks(author, seq, event_a, event_b) VALUES (?, ?, ?, ?)");
      Bind(f, 1, author);
      f.bind(2, static_cast<std::int64_t>(ev.body.seq()));
      const std::string mine = ev.id.str();
      Bind(f, 3, std::min(mine, *other));
      Bind(f, 4, std::max(mine, *other));
      f.exec();
      forks[author] = ev.body.seq();
      auto& freeze =
          Q("UPDATE events SET waiting_for = X'46' WHERE author = ? AND seq >= ? AND state = 0");
      Bind(freeze, 1, author);
      freeze.bind(2, static_cast<std::int64_t>(ev.body.seq()));
      freeze.exec();
      RecountPending();
      auto& applied = Q("SELECT 1 FROM events WHERE author = ? AND seq >= ? AND state = 1 LIMIT 1");
      Bind(applied, 1, author);
      applied.bind(2, static_cast<std::int64_t>(ev.body.seq()));
      // Derived state must not keep anything from the frozen part: rebuild it, once per batch.
      if (applied.executeStep()) rebuild_needed = true;
      out.outcome = Outcome::kEquivocation;
      return out;
    }

    // Decide first, then store once with the final state: no insert-then-update on the hot path.
    auto r = TryApply(ev.id, ev.author, ev.body);
    switch (r.kind) {
      case ApplyResult::kApplied:
      case ApplyResult::kVoid: {
        const bool is_void = r.kind == ApplyResult::kVoid;
        Insert(ev, true, "", is_void ? static_cast<int>(r.refusal->code) : -1);
        stored();
        out.outcome = is_void ? Outcome::kVoid : Outcome::kApplied;
        if (is_void) out.refusal = r.refusal;
        if (pending_count > 0) Wake(std::move(r.wakes));
        break;
      }
      case ApplyResult::kWaiting: {
        if (r.waiting_key == author && StrangerQuotaFull(author)) {
          out.refusal = Refusal{RefusalCode::kPendingFull,
                                "this not-yet-admitted author already has " +
                                    std::to_string(kMaxPendingPerStranger) + " events held"};
          break;
        }
        const auto bytes = static_cast<std::int64_t>(ev.body_bytes.size() + ev.signature.size());
        if (r.waiting_key != kFrozen && !MakeRoom(author, bytes, opt)) {
          out.refusal = Refusal{RefusalCode::kPendingFull,
                                "the pending set has no room for this event (" +
                                    std::to_string(opt.max_pending) + " events at most)"};
          break;
        }
        Insert(ev, false, r.waiting_key);
        stored();
        if (r.waiting_key != kFrozen) CountPending(author, bytes, +1);
        out.outcome = Outcome::kPending;
        out.waiting_for = r.waiting_text;
        break;
      }
      case ApplyResult::kInvalid: out.refusal = r.refusal; break;
    }
    return out;
  }

  // A stranger's events (pending or frozen) wait for their admission; one stranger gets a small
  // share of the pending set. (Limits are local: only under abuse can they make replicas hold
  // different events.)
  bool StrangerQuotaFull(const std::string& author) {
    auto& n = Q("SELECT count(*) FROM events WHERE author = ? AND state = 0");
    Bind(n, 1, author);
    n.executeStep();
    return n.getColumn(0).getInt64() >= kMaxPendingPerStranger;
  }

  // Ends a batch: the deferred rebuild, if an equivocation asked for one.
  void FinishBatch() {
    if (rebuild_needed) RebuildLocked();
  }

  void Begin() {
    heads.clear();
    applied_kinds.clear();
    rebuild_needed = false;
    ResetAll();
    db.exec("BEGIN IMMEDIATE");
    in_tx = true;
    LoadCounters();
    LoadForks();
  }
  void Commit() {
    FlushHeads();
    auto& order = Q("INSERT OR REPLACE INTO meta(key, value) VALUES ('next_apply_order', ?)");
    order.bind(1, next_apply_order);
    order.exec();
    ResetAll();
    db.exec("COMMIT");
    in_tx = false;
  }
  void Rollback() {
    if (!in_tx) return;
    in_tx = false;
    heads.clear();
    applied_kinds.clear();
    ResetAll();
    try {
      db.exec("ROLLBACK");
    } catch (const SQLite::Exception&) {
      // The transaction is gone already (SQLite rolls back on some errors by itself).
    }
  }

  // Hashes the rows of `sql` (every column, typed) into `h`.
  void HashRows(crypto::Hasher& h, const char* table, const char* sql) {
    h.Update(std::string_view(table));
    SQLite::Statement st(db, sql);
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

  Digest32 ComputeDigest() {
    FlushHeads();
    // One snapshot for all tables, even while another process commits.
    const bool own_tx = !in_tx;
    if (own_tx) db.exec("BEGIN");
    struct End {
      SQLite::Database& db;
      bool active;
      ~End() {
        if (active) {
          try {
            db.exec("COMMIT");
          } catch (const SQLite::Exception&) {
          }
        }
      }
    } end{db, own_tx};
    crypto::Hasher h(crypto::kDomainDigest);
    HashRows(
        h, "charter",
        "SELECT event, founder, name, purpose, pool_minor, unit, decimals, rules FROM charter");
    HashRows(h, "members",
             "SELECT key, name, organisation, role, formal_leader, admit_event, head_seq, head_id,"
             " head_ts FROM members ORDER BY key");
    HashRows(h, "admissions",
             "SELECT member, event, admitter FROM admissions ORDER BY member, event");
    // Which two versions prove a fork depends on arrival order; that there is one does not.
    HashRows(h, "forks", "SELECT author, seq FROM forks ORDER BY author");
    HashRows(h, "proposals",
             "SELECT id, author, title, body, amount_minor, purpose_fit, deadline_ms, topic,"
             " created_ms, withdrawn_event, withdraw_reason, rules FROM proposals ORDER BY id");
    HashRows(h, "votes",
             "SELECT proposal, voter, choice, event, ts FROM votes ORDER BY proposal, voter");
    HashRows(h, "flags",
             "SELECT id, proposal, flagger, severity, category, rationale, created_ms FROM flags"
             " ORDER BY id");
    HashRows(h, "resolutions",
             "SELECT id, flag, author, kind, mitigation, ts FROM resolutions ORDER BY id");
    HashRows(h, "endorsements",
             "SELECT proposal, member, event, note FROM endorsements ORDER BY proposal, member");
    HashRows(h, "comments", "SELECT id, author, target, text, ts FROM comments ORDER BY id");
    HashRows(h, "delegations",
             "SELECT delegator, topic, delegate, event FROM delegations ORDER BY delegator, topic");
    HashRows(
        h, "seals",
        "SELECT deadline_ms, author, event, ts FROM seals ORDER BY deadline_ms, author, event");
    return h.Final();
  }
};

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Replica::~Replica() = default;

Result<std::unique_ptr<Replica>> Replica::Open(const std::filesystem::path& file) {
  return Guard([&]() -> Result<std::unique_ptr<Replica>> {
    auto impl = std::make_unique<Impl>(file);
    auto& db = impl->db;
    db.setBusyTimeout(5000);
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
    std::unique_ptr<Replica> replica(new Replica(std::move(impl)));
    Impl::Release release{replica->impl_.get()};
    auto& q = replica->impl_->Q("SELECT value FROM meta WHERE key = 'circle_id'");
    if (q.executeStep()) replica->circle_ = CircleId::FromBytes(AsBytes(Blob(q.getColumn(0))));
    return replica;
  });
}

Status Replica::SetCircle(const CircleId& circle) {
  if (circle_ && *circle_ == circle) return {};
  if (circle_)
    return Fail(Errc::kInvalidArgument, "this replica already belongs to another circle");
  return Guard([&]() -> Status {
    Impl::Release release{impl_.get()};
    auto& st = impl_->Q("INSERT INTO meta(key, value) VALUES ('circle_id', ?)");
    Bind(st, 1, circle.view());
    st.exec();
    circle_ = circle;
    return {};
  });
}

Result<std::vector<IngestResult>> Replica::Ingest(std::span<const Bytes> batch,
                                                  const IngestOptions& opt) {
  return IngestDecoded(DecodeBatch(batch, opt.now_ms, 1), opt);
}

Result<std::vector<IngestResult>> Replica::IngestDecoded(
    std::vector<Result<DecodedEvent, Refusal>> batch, const IngestOptions& opt) {
  return Guard([&]() -> Result<std::vector<IngestResult>> {
    std::vector<IngestResult> results;
    results.reserve(batch.size());
    try {
      impl_->Begin();
      std::optional<CircleId> circle = circle_;
      for (auto& ev : batch) results.push_back(impl_->IngestDecoded(std::move(ev), opt, circle));
      impl_->FinishBatch();
      impl_->Commit();
      circle_ = circle;
    } catch (...) {
      impl_->Rollback();
      throw;
    }
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
  return Guard([&]() -> Result<IngestResult> {
    try {
      impl_->Begin();
      std::optional<CircleId> circle = circle_;
      IngestResult r = impl_->IngestLocked(event, opt, circle);
      if (r.outcome != Outcome::kApplied) {
        impl_->Rollback();
        return r;
      }
      if (Status s = before_commit(); !s) {
        impl_->Rollback();
        return Unexpected<Error>{s.error()};
      }
      impl_->Commit();
      circle_ = circle;
      return r;
    } catch (...) {
      impl_->Rollback();
      throw;
    }
  });
}

Status Replica::Rebuild() {
  return Guard([&]() -> Status {
    try {
      impl_->Begin();
      impl_->RebuildLocked();
      impl_->Commit();
    } catch (...) {
      impl_->Rollback();
      throw;
    }
    return {};
  });
}

Result<Digest32> Replica::StateDigest() {
  return Guard([&]() -> Result<Digest32> { return impl_->ComputeDigest(); });
}

Result<v1::VerifyReport> Replica::Verify() {
  return Guard([&]() -> Result<v1::VerifyReport> {
    v1::VerifyReport report;
    SQLite::Statement st(impl_->db, "SELECT id, author, seq, body, sig FROM events ORDER BY rowid");
    const IngestOptions far_future{std::numeric_limits<std::int64_t>::max() / 2};
    while (st.executeStep()) {
      report.set_events_checked(report.events_checked() + 1);
      const std::string id = Blob(st.getColumn(0));
      const Bytes envelope = Envelope(Blob(st.getColumn(3)), Blob(st.getColumn(4)));
      auto decoded = Decode(envelope, far_future.now_ms);
      std::string problem;
      if (!decoded) {
        problem = std::string(ToString(decoded.error().code)) + ": " + decoded.error().message;
      } else if (decoded->id.str() != id) {
        problem = "stored id does not match the hash of the stored body";
      } else if (decoded->author.str() != Blob(st.getColumn(1)) ||
                 static_cast<std::int64_t>(decoded->body.seq()) != st.getColumn(2).getInt64()) {
        problem = "stored author or sequence does not match the body";
      }
      if (!problem.empty()) {
        report.set_bad(report.bad() + 1);
        auto* p = report.add_problems();
        p->set_event_id(ToHex(AsBytes(id)));
        p->set_code("corruption");
        p->set_message(problem);
      }
    }
    // Derived state: recompute it from the events in a transaction that is rolled back.
    const Digest32 before = impl_->ComputeDigest();
    try {
      impl_->Begin();
      impl_->RebuildLocked();
      const Digest32 after = impl_->ComputeDigest();
      impl_->Rollback();
      report.set_derived_state_matches(before == after);
    } catch (...) {
      impl_->Rollback();
      throw;
    }
    impl_->LoadCounters();
    report.set_digest(before.hex());
    return report;
  });
}

Result<ReplicaCounts> Replica::Counts() {
  return Guard([&]() -> Result<ReplicaCounts> {
    ReplicaCounts c;
    SQLite::Statement st(impl_->db,
                         "SELECT count(*), coalesce(sum(state = 1), 0),"
                         " coalesce(sum(state = 0 AND waiting_for = X'46'), 0) FROM events");
    st.executeStep();
    c.events = static_cast<std::uint64_t>(st.getColumn(0).getInt64());
    c.applied = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
    c.frozen = static_cast<std::uint64_t>(st.getColumn(2).getInt64());
    c.pending = c.events - c.applied - c.frozen;
    c.forked_authors =
        static_cast<std::uint64_t>(impl_->db.execAndGet("SELECT count(*) FROM forks").getInt64());
    return c;
  });
}

Result<PendingStats> Replica::Pending() {
  return Guard([&]() -> Result<PendingStats> {
    PendingStats p;
    SQLite::Statement st(impl_->db,
                         "SELECT count(*), coalesce(sum(length(body) + length(sig)), 0) FROM events"
                         " WHERE state = 0 AND waiting_for <> X'46'");
    st.executeStep();
    p.events = static_cast<std::uint64_t>(st.getColumn(0).getInt64());
    p.bytes = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
    p.evicted = impl_->evicted_total;
    return p;
  });
}

std::map<MemberKey, std::uint64_t> Replica::TakeEvicted() {
  std::map<MemberKey, std::uint64_t> out;
  for (const auto& [author, n] : impl_->evicted_authors) out[ToId<MemberKey>(author)] = n;
  impl_->evicted_authors.clear();
  return out;
}

Result<AuthorHead> Replica::VectorOf(const MemberKey& author,
                                     std::map<std::uint64_t, EventId>* beyond) {
  return Guard([&]() -> Result<AuthorHead> {
    AuthorHead head;
    SQLite::Statement st(impl_->db,
                         "SELECT seq, min(id) FROM events WHERE author = ? GROUP BY seq"
                         " ORDER BY seq");
    Bind(st, 1, author.view());
    bool gap = false;
    while (st.executeStep()) {
      const auto seq = static_cast<std::uint64_t>(st.getColumn(0).getInt64());
      if (gap || seq != head.seq + 1) {
        gap = true;  // held beyond a gap: not part of the run 1..seq
        if (beyond) (*beyond)[seq] = ToId<EventId>(Blob(st.getColumn(1)));
        continue;
      }
      head.seq = seq;
      head.id = ToId<EventId>(Blob(st.getColumn(1)));
    }
    SQLite::Statement f(impl_->db, "SELECT 1 FROM forks WHERE author = ?");
    Bind(f, 1, author.view());
    head.forked = f.executeStep();
    return head;
  });
}

Result<OwnLogState> Replica::OwnLog(const MemberKey& author) {
  return Guard([&]() -> Result<OwnLogState> {
    OwnLogState s;
    Impl::Release release{impl_.get()};
    auto& m = impl_->Q("SELECT head_seq, head_id, head_ts FROM members WHERE key = ?");
    Bind(m, 1, author.view());
    if (m.executeStep()) {
      s.head_seq = static_cast<std::uint64_t>(m.getColumn(0).getInt64());
      if (!m.getColumn(1).isNull()) s.head_id = ToId<EventId>(Blob(m.getColumn(1)));
      s.head_ts = m.getColumn(2).getInt64();
    }
    auto& mx = impl_->Q("SELECT coalesce(max(seq), 0) FROM events WHERE author = ?");
    Bind(mx, 1, author.view());
    mx.executeStep();
    s.max_seen_seq = static_cast<std::uint64_t>(mx.getColumn(0).getInt64());
    s.forked = impl_->ForkSeq(author.str()).has_value();
    return s;
  });
}

Status Replica::ForEachEvent(const std::function<Status(ByteView)>& sink) {
  return Guard([&]() -> Status {
    SQLite::Statement st(impl_->db,
                         "SELECT body, sig FROM events ORDER BY state DESC, apply_order, rowid");
    while (st.executeStep()) {
      const Bytes env = Envelope(Blob(st.getColumn(0)), Blob(st.getColumn(1)));
      if (Status s = sink(env); !s) return s;
    }
    return {};
  });
}

Status Replica::ForEachBody(const std::function<Status(const EventId&, ByteView)>& sink) {
  return Guard([&]() -> Status {
    SQLite::Statement st(impl_->db, "SELECT id, body FROM events ORDER BY rowid");
    while (st.executeStep()) {
      const auto id = ToId<EventId>(Blob(st.getColumn(0)));
      const auto body = st.getColumn(1);
      const ByteView view(static_cast<const std::uint8_t*>(body.getBlob()),
                          static_cast<std::size_t>(body.getBytes()));
      if (Status s = sink(id, view); !s) return s;
    }
    return {};
  });
}

Result<VersionVector> Replica::Vector(BeyondGap* beyond) {
  return Guard([&]() -> Result<VersionVector> {
    VersionVector v;
    SQLite::Statement st(impl_->db,
                         "SELECT author, seq, min(id) FROM events GROUP BY author, seq"
                         " ORDER BY author, seq");
    std::string current;
    AuthorHead* head = nullptr;
    bool gap = false;
    while (st.executeStep()) {
      std::string author = Blob(st.getColumn(0));
      if (author != current) {
        current = author;
        head = &v.heads[ToId<MemberKey>(author)];
        gap = false;
      }
      const auto seq = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
      if (gap || seq != head->seq + 1) {
        gap = true;  // held beyond a gap: not part of the run 1..seq
        if (beyond) (*beyond)[ToId<MemberKey>(author)][seq] = ToId<EventId>(Blob(st.getColumn(2)));
        continue;
      }
      head->seq = seq;
      head->id = ToId<EventId>(Blob(st.getColumn(2)));
    }
    // An author whose first event is missing holds nothing in the vector's sense.
    std::erase_if(v.heads, [](const auto& kv) { return kv.second.seq == 0; });
    SQLite::Statement f(impl_->db, "SELECT author FROM forks");
    while (f.executeStep()) {
      auto it = v.heads.find(ToId<MemberKey>(Blob(f.getColumn(0))));
      if (it != v.heads.end()) it->second.forked = true;
    }
    return v;
  });
}

Result<EventPage> Replica::ReadEvents(
    const EventCursor& cursor, std::size_t max_events, std::size_t max_bytes,
    const std::function<bool(const MemberKey&, std::uint64_t)>& skip) {
  return Guard([&]() -> Result<EventPage> {
    EventPage page;
    page.next = cursor;
    Impl::Release release{impl_.get()};
    auto full = [&] { return page.events.size() >= max_events || page.bytes >= max_bytes; };
    // Reads rows until the page is full or the statement ends; returns how many it read.
    auto take = [&](SQLite::Statement& st) {
      std::int64_t rows = 0;
      while (!full() && st.executeStep()) {
        ++rows;
        page.next.last = st.getColumn(4).getInt64();
        const auto author = ToId<MemberKey>(Blob(st.getColumn(0)));
        const auto seq = static_cast<std::uint64_t>(st.getColumn(1).getInt64());
        if (skip && skip(author, seq)) continue;
        page.events.push_back(Envelope(Blob(st.getColumn(2)), Blob(st.getColumn(3))));
        page.bytes += page.events.back().size();
        page.keys.emplace_back(author, seq);
      }
      return rows;
    };
    constexpr std::int64_t kRowsPerQuery = 4096;
    while (!full()) {
      const bool applied = !page.next.applied_done;
      auto& st = impl_->Q(applied ? "SELECT author, seq, body, sig, apply_order FROM events"
                                    " WHERE state = 1 AND apply_order > ? ORDER BY apply_order"
                                    " LIMIT ?"
                                  : "SELECT author, seq, body, sig, rowid FROM events"
                                    " WHERE state <> 1 AND rowid > ? ORDER BY rowid LIMIT ?");
      st.bind(1, page.next.last);
      st.bind(2, kRowsPerQuery);
      const std::int64_t rows = take(st);
      st.reset();
      if (full() || rows == kRowsPerQuery) continue;  // the loop ends if full
      if (applied) {  // this phase is exhausted: on to the events not applied
        page.next.applied_done = true;
        page.next.last = 0;
        continue;
      }
      page.end = true;
      break;
    }
    return page;
  });
}

Result<std::vector<Bytes>> Replica::ForkProof(const MemberKey& author) {
  return Guard([&]() -> Result<std::vector<Bytes>> {
    std::vector<Bytes> out;
    Impl::Release release{impl_.get()};
    auto& f = impl_->Q("SELECT event_a, event_b FROM forks WHERE author = ?");
    Bind(f, 1, author.view());
    if (!f.executeStep()) return out;
    const std::string a = Blob(f.getColumn(0)), b = Blob(f.getColumn(1));
    for (const auto& id : {a, b}) {
      auto ev = EventBytes(ToId<EventId>(id));
      if (!ev) return Unexpected<Error>{ev.error()};
      if (*ev) out.push_back(std::move(**ev));
    }
    return out;
  });
}

Result<std::vector<Bytes>> Replica::EventsOf(const MemberKey& author, std::uint64_t from_seq,
                                             std::size_t max) {
  return Guard([&]() -> Result<std::vector<Bytes>> {
    std::vector<Bytes> out;
    Impl::Release release{impl_.get()};
    auto& st = impl_->Q(
        "SELECT body, sig FROM events WHERE author = ? AND seq >= ? ORDER BY seq, id LIMIT ?");
    Bind(st, 1, author.view());
    st.bind(2, static_cast<std::int64_t>(std::min<std::uint64_t>(from_seq, 1ull << 62)));
    st.bind(3, static_cast<std::int64_t>(max));
    while (st.executeStep()) out.push_back(Envelope(Blob(st.getColumn(0)), Blob(st.getColumn(1))));
    return out;
  });
}

Result<std::optional<Bytes>> Replica::EventBytes(const EventId& id) {
  return Guard([&]() -> Result<std::optional<Bytes>> {
    Impl::Release release{impl_.get()};
    auto& st = impl_->Q("SELECT body, sig FROM events WHERE idp = ? AND id = ?");
    st.bind(1, IdPrefix(id.view()));
    Bind(st, 2, id.view());
    if (!st.executeStep()) return std::optional<Bytes>();
    return std::optional<Bytes>(Envelope(Blob(st.getColumn(0)), Blob(st.getColumn(1))));
  });
}

Status Replica::PutPeer(const StoredPeer& peer) {
  return Guard([&]() -> Status {
    Impl::Release release{impl_.get()};
    auto& st = impl_->Q(
        "INSERT INTO peers(member, announced_ms, addresses, announcement) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(member) DO UPDATE SET announced_ms = excluded.announced_ms,"
        " addresses = excluded.addresses, announcement = excluded.announcement"
        " WHERE excluded.announced_ms > peers.announced_ms");
    Bind(st, 1, peer.member.view());
    st.bind(2, peer.announced_ms);
    BindText(st, 3, peer.addresses);
    Bind(st, 4, ByteView(peer.announcement));
    st.exec();
    return {};
  });
}

Result<std::vector<StoredPeer>> Replica::Peers() {
  return Guard([&]() -> Result<std::vector<StoredPeer>> {
    std::vector<StoredPeer> out;
    SQLite::Statement st(impl_->db,
                         "SELECT member, announced_ms, addresses, announcement FROM peers"
                         " ORDER BY member");
    while (st.executeStep()) {
      StoredPeer p;
      p.member = ToId<MemberKey>(Blob(st.getColumn(0)));
      p.announced_ms = st.getColumn(1).getInt64();
      p.addresses = st.getColumn(2).getString();
      const std::string a = Blob(st.getColumn(3));
      p.announcement.assign(a.begin(), a.end());
      out.push_back(std::move(p));
    }
    return out;
  });
}

Result<std::vector<std::int64_t>> Replica::DeadlinesToSeal(const MemberKey& member,
                                                           std::int64_t up_to_ms, std::size_t max) {
  return Guard([&]() -> Result<std::vector<std::int64_t>> {
    std::vector<std::int64_t> out;
    SQLite::Statement st(
        impl_->db,
        "SELECT DISTINCT p.deadline_ms FROM proposals p WHERE p.deadline_ms <= ?"
        " AND NOT EXISTS (SELECT 1 FROM seals s WHERE s.deadline_ms = p.deadline_ms"
        " AND s.author = ?) ORDER BY p.deadline_ms DESC LIMIT ?");
    st.bind(1, static_cast<std::int64_t>(up_to_ms));
    Bind(st, 2, member.view());
    st.bind(3, static_cast<std::int64_t>(max));
    while (st.executeStep()) out.push_back(st.getColumn(0).getInt64());
    return out;
  });
}

bool Replica::IsMember(const MemberKey& key) {
  try {
    Impl::Release release{impl_.get()};
    auto& st = impl_->Q("SELECT 1 FROM members WHERE key = ?");
    Bind(st, 1, key.view());
    return st.executeStep();
  } catch (const SQLite::Exception&) {
    return false;
  }
}

Result<v1::Charter> Replica::Charter() {
  return Guard([&]() -> Result<v1::Charter> {
    SQLite::Statement st(impl_->db,
                         "SELECT c.name, c.purpose, c.pool_minor, c.unit, c.decimals, c.rules,"
                         " m.name, m.organisation, m.role, m.formal_leader FROM charter c"
                         " JOIN members m ON m.key = c.founder");
    if (!st.executeStep()) return Fail(Errc::kNotFound, "this replica holds no charter yet");
    v1::Charter c;
    c.set_name(st.getColumn(0).getString());
    c.set_purpose(st.getColumn(1).getString());
    c.set_pool_minor(st.getColumn(2).getInt64());
    c.set_unit(st.getColumn(3).getString());
    c.set_decimals(static_cast<std::uint32_t>(st.getColumn(4).getInt()));
    c.mutable_rules()->ParseFromString(Blob(st.getColumn(5)));
    c.mutable_founder()->set_name(st.getColumn(6).getString());
    c.mutable_founder()->set_organisation(st.getColumn(7).getString());
    c.mutable_founder()->set_role(st.getColumn(8).getString());
    c.mutable_founder()->set_formal_leader(st.getColumn(9).getInt() != 0);
    return c;
  });
}

std::string Replica::FormatAmount(std::int64_t minor) {
  std::uint32_t decimals = 2;
  std::string unit;
  try {
    Impl::Release release{impl_.get()};
    auto& st = impl_->Q("SELECT decimals, unit FROM charter");
    if (st.executeStep()) {
      decimals = static_cast<std::uint32_t>(st.getColumn(0).getInt());
      unit = st.getColumn(1).getString();
    }
  } catch (const SQLite::Exception&) {
  }
  const bool negative = minor < 0;
  std::uint64_t v =
      negative ? 0 - static_cast<std::uint64_t>(minor) : static_cast<std::uint64_t>(minor);
  std::uint64_t scale = 1;
  for (std::uint32_t i = 0; i < decimals; ++i) scale *= 10;
  std::string whole = std::to_string(v / scale);
  std::string out = negative ? "-" + whole : whole;
  if (decimals > 0) {
    std::string frac = std::to_string(v % scale);
    out += "." + std::string(decimals - frac.size(), '0') + frac;
  }
  if (!unit.empty()) out += " " + unit;
  return out;
}

std::string Replica::MemberLabel(const MemberKey& key) {
  try {
    Impl::Release release{impl_.get()};
    auto& st = impl_->Q("SELECT name FROM members WHERE key = ?");
    Bind(st, 1, key.view());
    if (st.executeStep())
      return st.getColumn(0).getString() + " (" + crypto::Fingerprint(key) + ")";
  } catch (const SQLite::Exception&) {
  }
  return "(" + crypto::Fingerprint(key) + ")";
}

Result<v1::MemberList> Replica::Members() {
  return Guard([&]() -> Result<v1::MemberList> {
    v1::MemberList list;
    SQLite::Statement st(
        impl_->db,
        "SELECT m.key, m.name, m.organisation, m.role, m.formal_leader, m.head_seq,"
        " (SELECT count(*) FROM forks f WHERE f.author = m.key),"
        " (SELECT count(*) FROM charter c WHERE c.founder = m.key)"
        " FROM members m ORDER BY m.organisation, m.name, m.key");
    while (st.executeStep()) {
      auto* m = list.add_members();
      const auto key = ToId<MemberKey>(Blob(st.getColumn(0)));
      m->set_member_id(crypto::FormatMemberId(key));
      m->set_fingerprint(crypto::Fingerprint(key));
      m->set_name(st.getColumn(1).getString());
      m->set_organisation(st.getColumn(2).getString());
      m->set_role(st.getColumn(3).getString());
      m->set_formal_leader(st.getColumn(4).getInt() != 0);
      m->set_head_seq(static_cast<std::uint64_t>(st.getColumn(5).getInt64()));
      m->set_forked(st.getColumn(6).getInt() != 0);
      m->set_founder(st.getColumn(7).getInt() != 0);
    }
    return list;
  });
}

namespace {

constexpr const char* kProposalSelect =
    "SELECT p.id, p.title, p.author, m.name, m.organisation, p.amount_minor, p.deadline_ms,"
    " p.withdrawn_event IS NOT NULL, p.topic, p.purpose_fit, p.body, p.created_ms,"
    " (SELECT count(*) FROM votes v WHERE v.proposal = p.id AND v.choice = 1),"
    " (SELECT count(*) FROM votes v WHERE v.proposal = p.id AND v.choice = 2),"
    " (SELECT count(*) FROM votes v WHERE v.proposal = p.id AND v.choice = 3),"
    " (SELECT count(*) FROM endorsements e WHERE e.proposal = p.id),"
    " (SELECT count(*) FROM flags f WHERE f.proposal = p.id AND NOT EXISTS"
    "   (SELECT 1 FROM resolutions r WHERE r.flag = f.id AND r.kind = 1))"
    " FROM proposals p JOIN members m ON m.key = p.author";

}  // namespace

Result<v1::ProposalList> Replica::Proposals() {
  return Guard([&]() -> Result<v1::ProposalList> {
    v1::ProposalList list;
    SQLite::Statement st(impl_->db, std::string(kProposalSelect) + " ORDER BY p.created_ms, p.id");
    while (st.executeStep()) {
      auto* p = list.add_proposals();
      p->set_proposal_id(ToHex(AsBytes(Blob(st.getColumn(0)))));
      p->set_title(st.getColumn(1).getString());
      const auto author = ToId<MemberKey>(Blob(st.getColumn(2)));
      p->set_author(crypto::FormatMemberId(author));
      p->set_author_name(st.getColumn(3).getString());
      p->set_organisation(st.getColumn(4).getString());
      p->set_amount_minor(st.getColumn(5).getInt64());
      p->set_amount(FormatAmount(p->amount_minor()));
      p->set_deadline_ms(st.getColumn(6).getInt64());
      p->set_withdrawn(st.getColumn(7).getInt() != 0);
      p->set_topic(st.getColumn(8).getString());
      p->set_purpose_fit(st.getColumn(9).getString());
      p->set_body(st.getColumn(10).getString());
      p->set_created_ms(st.getColumn(11).getInt64());
      p->set_votes_for(static_cast<std::uint32_t>(st.getColumn(12).getInt()));
      p->set_votes_against(static_cast<std::uint32_t>(st.getColumn(13).getInt()));
      p->set_votes_abstain(static_cast<std::uint32_t>(st.getColumn(14).getInt()));
      p->set_endorsements(static_cast<std::uint32_t>(st.getColumn(15).getInt()));
      p->set_open_flags(static_cast<std::uint32_t>(st.getColumn(16).getInt()));
    }
    return list;
  });
}

Result<v1::FlagView> Replica::ShowFlag(const EventId& id) {
  return Guard([&]() -> Result<v1::FlagView> {
    v1::FlagView f;
    SQLite::Statement st(impl_->db,
                         "SELECT proposal, flagger, severity, category, rationale, created_ms FROM"
                         " flags WHERE id = ?");
    Bind(st, 1, id.view());
    if (!st.executeStep()) return Fail(Errc::kNotFound, "no flag " + id.hex());
    f.set_flag_id(id.hex());
    f.set_proposal_id(ToHex(AsBytes(Blob(st.getColumn(0)))));
    f.set_flagger(MemberLabel(ToId<MemberKey>(Blob(st.getColumn(1)))));
    f.set_severity(SeverityWord(st.getColumn(2).getInt()));
    f.set_category(st.getColumn(3).getString());
    f.set_rationale(st.getColumn(4).getString());
    f.set_created_ms(st.getColumn(5).getInt64());
    SQLite::Statement rs(impl_->db,
                         "SELECT id, author, kind, mitigation FROM resolutions WHERE flag = ?"
                         " ORDER BY ts, id");
    Bind(rs, 1, id.view());
    bool withdrawn = false;
    bool answered = false;
    while (rs.executeStep()) {
      auto* r = f.add_resolutions();
      r->set_event_id(ToHex(AsBytes(Blob(rs.getColumn(0)))));
      r->set_author(MemberLabel(ToId<MemberKey>(Blob(rs.getColumn(1)))));
      const int kind = rs.getColumn(2).getInt();
      r->set_kind(kind == v1::FlagResolution::WITHDRAW ? "withdraw" : "answer");
      r->set_mitigation(rs.getColumn(3).getString());
      withdrawn |= kind == v1::FlagResolution::WITHDRAW;
      answered |= kind == v1::FlagResolution::ANSWER;
    }
    f.set_state(withdrawn ? "withdrawn" : answered ? "answered" : "open");
    return f;
  });
}

Result<v1::ProposalDetail> Replica::ShowProposal(const EventId& id) {
  return Guard([&]() -> Result<v1::ProposalDetail> {
    v1::ProposalDetail d;
    auto list = Proposals();
    if (!list) return Unexpected<Error>{list.error()};
    bool found = false;
    for (const auto& p : list->proposals()) {
      if (p.proposal_id() == id.hex()) {
        *d.mutable_proposal() = p;
        found = true;
      }
    }
    if (!found) return Fail(Errc::kNotFound, "no proposal " + id.hex());
    SQLite::Statement vs(impl_->db,
                         "SELECT v.voter, m.name, m.organisation, v.choice, v.ts FROM votes v"
                         " JOIN members m ON m.key = v.voter WHERE v.proposal = ?"
                         " ORDER BY m.organisation, m.name");
    Bind(vs, 1, id.view());
    while (vs.executeStep()) {
      auto* v = d.add_votes();
      v->set_voter(crypto::FormatMemberId(ToId<MemberKey>(Blob(vs.getColumn(0)))));
      v->set_name(vs.getColumn(1).getString());
      v->set_organisation(vs.getColumn(2).getString());
      v->set_choice(ChoiceWord(vs.getColumn(3).getInt()));
      v->set_timestamp_ms(vs.getColumn(4).getInt64());
    }
    SQLite::Statement fs(impl_->db,
                         "SELECT id FROM flags WHERE proposal = ? ORDER BY created_ms, id");
    Bind(fs, 1, id.view());
    while (fs.executeStep()) {
      auto flag = ShowFlag(ToId<EventId>(Blob(fs.getColumn(0))));
      if (flag) *d.add_flags() = *flag;
    }
    SQLite::Statement es(
        impl_->db,
        "SELECT m.key, m.name, m.organisation FROM endorsements e JOIN members m"
        " ON m.key = e.member WHERE e.proposal = ? ORDER BY m.organisation, m.name");
    Bind(es, 1, id.view());
    while (es.executeStep()) {
      auto* m = d.add_endorsers();
      const auto key = ToId<MemberKey>(Blob(es.getColumn(0)));
      m->set_member_id(crypto::FormatMemberId(key));
      m->set_fingerprint(crypto::Fingerprint(key));
      m->set_name(es.getColumn(1).getString());
      m->set_organisation(es.getColumn(2).getString());
    }
    SQLite::Statement cs(
        impl_->db, "SELECT id, author, text, ts FROM comments WHERE target = ? ORDER BY ts, id");
    Bind(cs, 1, id.view());
    while (cs.executeStep()) {
      auto* c = d.add_comments();
      c->set_event_id(ToHex(AsBytes(Blob(cs.getColumn(0)))));
      c->set_author(MemberLabel(ToId<MemberKey>(Blob(cs.getColumn(1)))));
      c->set_text(cs.getColumn(2).getString());
      c->set_timestamp_ms(cs.getColumn(3).getInt64());
    }
    return d;
  });
}

Result<EventId> Replica::ResolvePrefix(std::string_view hex_prefix, std::string_view kind) {
  std::string prefix;
  for (char c : hex_prefix) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return Fail(Errc::kInvalidArgument,
                  "'" + std::string(hex_prefix) + "' is not a hex id prefix");
    }
    prefix.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (prefix.size() < 4) {
    return Fail(Errc::kInvalidArgument, "give at least 4 hex digits of the id");
  }
  if (prefix.size() > 64) return Fail(Errc::kInvalidArgument, "an id has 64 hex digits");
  int kind_number = 0;
  for (int k = EventBody::kCharter; k <= EventBody::kSeal; ++k) {
    if (kind == KindName(static_cast<EventBody::PayloadCase>(k))) kind_number = k;
  }
  return Guard([&]() -> Result<EventId> {
    SQLite::Statement st(impl_->db,
                         "SELECT id FROM events WHERE state = 1 AND (? = 0 OR kind = ?)"
                         " AND substr(hex(id), 1, ?) = ? LIMIT 2");
    st.bind(1, kind_number);
    st.bind(2, kind_number);
    st.bind(3, static_cast<int>(prefix.size()));
    st.bind(4, prefix);
    std::vector<std::string> hits;
    while (st.executeStep()) hits.push_back(Blob(st.getColumn(0)));
    const std::string what = kind.empty() ? "event" : std::string(kind);
    if (hits.empty()) {
      return Fail(Errc::kNotFound, "no " + what + " with id starting " + std::string(hex_prefix));
    }
    if (hits.size() > 1) {
      return Fail(Errc::kInvalidArgument, "more than one " + what + " has an id starting " +
                                              std::string(hex_prefix) + "; give more digits");
    }
    return ToId<EventId>(hits.front());
  });
}

}  // namespace polder::storage
