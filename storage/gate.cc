#include "storage/gate.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "crypto/member_id.h"
#include "storage/rulebook/judge.h"

namespace polder::storage {
namespace {

using rulebook::Awaited;
using rulebook::RefusalCode;
using rulebook::Verdict;

// waiting_for value of events that can never be applied: equivocation proofs and the frozen part
// of a forked author's log.
const std::string kFrozen = "F";

// The events.waiting_for value for what a waiting event awaits: a member key or an event id
// (32 bytes; they cannot collide), or kFrozen.
std::string WaitingKey(const Awaited& a) {
  if (a.what == Awaited::What::kFork) return kFrozen;
  return std::string(reinterpret_cast<const char*>(a.key.data()), a.key.size());
}

std::vector<std::string> Keys(const std::vector<std::array<std::uint8_t, 32>>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.emplace_back(reinterpret_cast<const char*>(k.data()), k.size());
  return out;
}

// Whether the event takes its place in its author's log (with effect, void, or awaiting).
bool Places(const Verdict& v) {
  return v.kind == Verdict::Kind::kApply || v.kind == Verdict::Kind::kVoid ||
         v.kind == Verdict::Kind::kAwait;
}

int VoidCode(const Verdict& v) {
  return v.kind == Verdict::Kind::kVoid ? static_cast<int>(v.refusal->code) : -1;
}

}  // namespace

void Gate::Begin() {
  state_.Reset();
  rebuild_needed_ = false;
  auto& w = db_.Q("SELECT count(*) FROM events WHERE waiting_for IS NOT NULL AND state = 1");
  awaiting_ = w.executeStep() ? w.getColumn(0).getInt64() : 0;
  // Kept in meta so a write transaction does not start with a scan of every event.
  auto& a = db_.Q("SELECT value FROM meta WHERE key = 'next_apply_order'");
  next_apply_order_ = a.executeStep() ? a.getColumn(0).getInt64() : 1;
  pending_.Recount();
}

void Gate::Finish() {
  DeviceActsGone();
  if (rebuild_needed_) Rebuild();
  state_.FlushHeads();
  auto& order = db_.Q("INSERT OR REPLACE INTO meta(key, value) VALUES ('next_apply_order', ?)");
  order.bind(1, next_apply_order_);
  order.exec();
}

std::optional<Gate::Stored> Gate::Load(std::int64_t rowid) {
  auto& st = db_.Q(
      "SELECT id, author, body, state, length(body) + length(sig), waiting_for IS NOT NULL"
      " FROM events WHERE rowid = ?");
  st.bind(1, rowid);
  if (!st.executeStep()) return std::nullopt;
  const bool placed = st.getColumn(3).getInt() != 0;
  if (placed && st.getColumn(5).getInt() == 0) return std::nullopt;  // settled
  Stored ev;
  ev.rowid = rowid;
  ev.awaiting = placed;
  ev.bytes = st.getColumn(4).getInt64();
  ev.id = ToId<EventId>(st.getColumn(0));
  ev.author = ToId<MemberKey>(st.getColumn(1));
  const auto body = st.getColumn(2);
  if (!ev.body.ParseFromArray(body.getBlob(), body.getBytes())) return std::nullopt;
  return ev;
}

Verdict Gate::Decide(const EventId& id, const MemberKey& author, const v1::EventBody& b) {
  Verdict v = rulebook::Judge(id, author, b, state_);
  if (Places(v)) {
    state_.SetHead(author, rulebook::LogHead{b.seq(), id, b.timestamp_ms()});
    Record(id, b, v);
  }
  return v;
}

Verdict Gate::DecideEffect(const EventId& id, const MemberKey& author, const v1::EventBody& b) {
  Verdict v = rulebook::JudgeEffect(id, author, b, state_);
  Record(id, b, v);
  return v;
}

void Gate::Record(const EventId& id, const v1::EventBody& b, const Verdict& v) {
  if (v.kind == Verdict::Kind::kApply) {
    const MemberKey author = *MemberKey::FromBytes(AsBytes(b.author()));  // checked: 32 bytes
    effects_.Apply(id, b, v, state_.DeviceMember(author));
    if (b.has_device_claim()) {
      state_.SetDeviceMember(author, *MemberKey::FromBytes(AsBytes(b.device_claim().member())));
    }
    if (b.has_charter()) {
      state_.SetHasCharter();
      // Revocations count from the charter on: what waits beyond one never takes its place.
      for (const auto& [device, from] : state_.freezes()) MarkFrozen(device, from);
    }
  }
  state_.SetApplied(id, rulebook::AppliedEvent{b.payload_case(), v.kind == Verdict::Kind::kVoid,
                                               v.kind == Verdict::Kind::kAwait});
}

void Gate::Settle(const Stored& ev, const Verdict& v, bool was_pending) {
  switch (v.kind) {
    case Verdict::Kind::kApply:
    case Verdict::Kind::kVoid:
      MarkApplied(ev.rowid, VoidCode(v), std::nullopt);
      if (was_pending) pending_.Count(ev.author, ev.bytes, -1);
      break;
    case Verdict::Kind::kAwait:
      MarkApplied(ev.rowid, -1, WaitingKey(v.awaited));
      ++awaiting_;
      if (was_pending) pending_.Count(ev.author, ev.bytes, -1);
      break;
    case Verdict::Kind::kWait: {
      const std::string key = WaitingKey(v.awaited);
      SetWaiting(ev.rowid, key);
      if (key == kFrozen && was_pending) pending_.Count(ev.author, ev.bytes, -1);
      if (key != kFrozen && !was_pending) {
        pending_.Count(
            ev.author, ev.bytes, +1,
            v.awaited.what == Awaited::What::kAdmission && v.awaited.key == ev.author.bytes);
      }
      break;
    }
    case Verdict::Kind::kRefuse:
      Delete(ev.rowid);
      if (was_pending) pending_.Count(ev.author, ev.bytes, -1);
      break;
  }
}

void Gate::Wake(std::vector<std::string> keys) {
  while (!keys.empty()) {
    const std::string key = std::move(keys.back());
    keys.pop_back();
    std::vector<std::int64_t> rows;
    {
      // In (author, seq) order: the effects that keep a member's latest act (a vote, an
      // endorsement) then take effect in their author's order, as they would have had nothing
      // waited.
      auto& st = db_.Q(
          "SELECT rowid FROM events WHERE waiting_for = ? AND waiting_for IS NOT NULL"
          " ORDER BY author, seq, rowid");
      Bind(st, 1, key);
      while (st.executeStep()) rows.push_back(st.getColumn(0).getInt64());
    }
    for (auto rowid : rows) {
      auto ev = Load(rowid);
      if (!ev) continue;
      if (ev->awaiting) {
        const Verdict v = DecideEffect(ev->id, ev->author, ev->body);
        if (v.kind == Verdict::Kind::kAwait) {
          SetWaiting(ev->rowid, WaitingKey(v.awaited));
          continue;
        }
        SettleEffect(ev->rowid, VoidCode(v));
        --awaiting_;
        auto more = Keys(rulebook::Unblocks(ev->id, ev->body, v.kind == Verdict::Kind::kApply));
        keys.insert(keys.end(), more.begin(), more.end());
        continue;
      }
      const Verdict v = Decide(ev->id, ev->author, ev->body);
      Settle(*ev, v, /*was_pending=*/true);
      if (Places(v)) {
        auto more = Keys(rulebook::Unblocks(ev->id, ev->body, v.kind == Verdict::Kind::kApply));
        keys.insert(keys.end(), more.begin(), more.end());
      }
    }
  }
}

IngestResult Gate::Ingest(Result<rulebook::DecodedEvent, rulebook::Refusal> decoded,
                          const IngestOptions& opt, std::optional<CircleId>& circle) {
  IngestResult out;
  if (!decoded) {
    out.refusal = decoded.error();
    return out;
  }
  rulebook::DecodedEvent& ev = *decoded;
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
        rulebook::Refusal{RefusalCode::kWrongCircle,
                          "this replica belongs to no circle yet (create one or import a bundle)"};
    return out;
  }
  if (ev.body.circle_id() != effective->str()) {
    out.refusal = rulebook::Refusal{RefusalCode::kWrongCircle, "event belongs to another circle"};
    return out;
  }
  // Joins the circle once something is stored (rolled back with the batch if it fails).
  auto stored = [&] {
    if (!adopting || circle) return;
    auto& st = db_.Q("INSERT INTO meta(key, value) VALUES ('circle_id', ?)");
    Bind(st, 1, effective->view());
    st.exec();
    circle = effective;
  };

  // One probe of (author, seq) finds both a duplicate (same id) and an equivocation (another id).
  // Fast path: with nothing pending or frozen for this author, every stored event of theirs is
  // applied, so a seq beyond their applied head cannot be held yet.
  const MemberKey& author = ev.author;
  const std::uint64_t seq = ev.body.seq();
  // Forks count from the charter on. Until it is held nothing is placed, so a second version
  // waits like the first; the charter's arrival finds the forks among what is held (and drops
  // what else the founder signed at seq 1, which may lift a freeze: before the probe).
  const bool chartered = state_.HasCharter();
  if (!chartered && ev.body.has_charter()) ArriveCharter(author);
  std::vector<EventId> held;
  const auto fork = state_.ForkSeq(author);
  const auto head = pending_.count() == 0 ? state_.Head(author) : std::nullopt;
  if (!(head && seq > head->seq && !fork)) {
    auto& same = db_.Q("SELECT id FROM events WHERE author = ? AND seq = ?");
    Bind(same, 1, author.view());
    same.bind(2, static_cast<std::int64_t>(seq));
    while (same.executeStep()) held.push_back(ToId<EventId>(same.getColumn(0)));
  }
  // A fork only moves down, so what lies beyond it is refused; a revoked device's freeze may
  // lift (its revocation stops counting), so what lies beyond it is kept, frozen, up to a bound.
  const auto equivocated = state_.EquivocationSeq(author);
  switch (rulebook::Classify(ev.id, seq, equivocated, held)) {
    case rulebook::Arrival::kDuplicate: out.outcome = Outcome::kDuplicate; return out;
    case rulebook::Arrival::kBeyondFork:
      // Also a third version at the fork: the fork is known, and the digest records only
      // (author, fork seq), so keeping it would change nothing but the disk.
      out.refusal =
          rulebook::Refusal{RefusalCode::kForkedAuthor,
                            "author " + crypto::Fingerprint(author) + " equivocated at seq " +
                                std::to_string(*equivocated) + "; their log is frozen there"};
      return out;
    case rulebook::Arrival::kEquivocation:
      if (!chartered) break;
      if (const auto record = state_.RecordOf(author); seq == 1 && record && record->founder) {
        // The circle id names the charter, so nothing else at the founder's seq 1 is of this
        // circle: not a fork, not kept.
        out.refusal = rulebook::Refusal{
            RefusalCode::kNotTheCharter,
            "the founder's first event is the circle's charter; another event at seq 1 is not of "
            "this circle"};
        return out;
      }
      out = Equivocation(ev, held.back(), std::move(out));
      if (out.outcome == Outcome::kEquivocation) stored();
      return out;
    case rulebook::Arrival::kNew: break;
  }
  if (fork && seq >= *fork) {  // beyond a revoked device's last counted seq (not a fork)
    auto& n = db_.Q("SELECT count(*) FROM events WHERE author = ? AND seq >= ? AND state = 0");
    Bind(n, 1, author.view());
    n.bind(2, static_cast<std::int64_t>(*fork));
    if (n.executeStep() && n.getColumn(0).getInt64() >= kMaxFrozenPerRevokedDevice) {
      out.refusal = rulebook::Refusal{RefusalCode::kForkedAuthor,
                                      "device " + crypto::Fingerprint(author) +
                                          " was revoked; its events after seq " +
                                          std::to_string(*fork - 1) + " do not count"};
      return out;
    }
    Insert(ev, false, kFrozen, -1);
    stored();
    out.outcome = Outcome::kFrozen;
    return out;
  }

  // Decide first, then store once with the final state: no insert-then-update on the hot path.
  const Verdict v = Decide(ev.id, author, ev.body);
  switch (v.kind) {
    case Verdict::Kind::kApply:
    case Verdict::Kind::kVoid:
    case Verdict::Kind::kAwait: {
      const bool awaits = v.kind == Verdict::Kind::kAwait;
      Insert(ev, true, awaits ? std::optional(WaitingKey(v.awaited)) : std::nullopt, VoidCode(v));
      stored();
      out.outcome = v.kind == Verdict::Kind::kVoid ? Outcome::kVoid
                    : awaits                       ? Outcome::kAwaiting
                                                   : Outcome::kApplied;
      if (v.kind == Verdict::Kind::kVoid) out.refusal = v.refusal;
      if (awaits) {
        ++awaiting_;
        out.waiting_for = rulebook::Describe(v.awaited);
      }
      if (pending_.count() > 0 || awaiting_ > 0) {
        Wake(Keys(rulebook::Unblocks(ev.id, ev.body, v.kind == Verdict::Kind::kApply)));
      }
      break;
    }
    case Verdict::Kind::kWait: {
      const std::string key = WaitingKey(v.awaited);
      const bool for_own_admission =
          v.awaited.what == Awaited::What::kAdmission && v.awaited.key == author.bytes;
      if (for_own_admission && pending_.StrangerQuotaFull(author)) {
        out.refusal = rulebook::Refusal{
            RefusalCode::kPendingFull, "this not-yet-admitted author already has " +
                                           std::to_string(kMaxPendingPerStranger) + " events held"};
        break;
      }
      if (for_own_admission && pending_.StrangerAuthorsFull(author, opt.max_stranger_authors)) {
        out.refusal = rulebook::Refusal{
            RefusalCode::kPendingFull,
            "the replica holds pending events of " + std::to_string(opt.max_stranger_authors) +
                " authors not yet admitted; this one's come again once it is admitted"};
        break;
      }
      const auto bytes = static_cast<std::int64_t>(ev.body_bytes.size() + ev.signature.size());
      const std::uint64_t evicted = pending_.evicted_total();
      const bool room = key == kFrozen || pending_.MakeRoom(author, bytes, opt);
      // An evicted claim or revocation changes its device's freeze at once.
      if (pending_.evicted_total() != evicted) DeviceActsGone();
      if (!room) {
        out.refusal = rulebook::Refusal{RefusalCode::kPendingFull,
                                        "the pending set has no room for this event (" +
                                            std::to_string(opt.max_pending) + " events at most)"};
        break;
      }
      Insert(ev, false, key, -1);
      stored();
      if (key != kFrozen) pending_.Count(author, bytes, +1, for_own_admission);
      out.outcome = Outcome::kPending;
      out.waiting_for = rulebook::Describe(v.awaited);
      break;
    }
    case Verdict::Kind::kRefuse: out.refusal = v.refusal; break;
  }
  return out;
}

IngestResult Gate::Equivocation(const rulebook::DecodedEvent& ev, const EventId& other,
                                IngestResult out) {
  const MemberKey& author = ev.author;
  if (!state_.Head(author) && pending_.StrangerQuotaFull(author)) {
    out.refusal = rulebook::Refusal{RefusalCode::kPendingFull,
                                    "this not-yet-admitted author already has " +
                                        std::to_string(kMaxPendingPerStranger) + " events held"};
    return out;
  }
  // Two different signed events at one (author, seq). Keep both as proof and freeze the author's
  // log from there on, on every replica alike.
  Insert(ev, false, kFrozen, -1);
  RecordFork(author, ev.body.seq(), ev.id, other);
  out.outcome = Outcome::kEquivocation;
  return out;
}

void Gate::ArriveCharter(const MemberKey& founder) {
  if (pending_.count() == 0) return;  // the common case: the charter comes first
  // Whatever else the founder signed at seq 1 is not of this circle (its id names the charter).
  auto& drop = db_.Q("DELETE FROM events WHERE author = ? AND seq = 1");
  Bind(drop, 1, founder.view());
  drop.exec();
  DeviceActsGone();
  // The forks among what is held: per author, the lowest seq with two versions.
  auto& st = db_.Q(
      "SELECT author, seq, min(id), max(id) FROM events GROUP BY author, seq"
      " HAVING count(*) > 1 ORDER BY author, seq");
  std::vector<std::tuple<MemberKey, std::uint64_t, EventId, EventId>> forks;
  while (st.executeStep()) {
    const auto author = ToId<MemberKey>(st.getColumn(0));
    if (!forks.empty() && std::get<0>(forks.back()) == author) continue;
    forks.emplace_back(author, static_cast<std::uint64_t>(st.getColumn(1).getInt64()),
                       ToId<EventId>(st.getColumn(2)), ToId<EventId>(st.getColumn(3)));
  }
  st.reset();
  for (const auto& [author, seq, a, b] : forks) RecordFork(author, seq, a, b);
  pending_.Recount();
}

void Gate::RecordFork(const MemberKey& author, std::uint64_t seq, const EventId& one,
                      const EventId& other) {
  auto& f =
      db_.Q("INSERT OR REPLACE INTO forks(author, seq, event_a, event_b) VALUES (?, ?, ?, ?)");
  Bind(f, 1, author.view());
  f.bind(2, static_cast<std::int64_t>(seq));
  const EventId a = std::min(one, other), b = std::max(one, other);
  Bind(f, 3, a.view());
  Bind(f, 4, b.view());
  f.exec();
  state_.SetFork(author, seq);
  // Revocations this author signed at or beyond the fork no longer count.
  std::vector<MemberKey> revoked;
  {
    auto& st =
        db_.Q("SELECT DISTINCT device FROM device_acts WHERE signer = ? AND last_seq IS NOT NULL");
    Bind(st, 1, author.view());
    while (st.executeStep()) revoked.push_back(ToId<MemberKey>(st.getColumn(0)));
  }
  for (const auto& d : revoked) Refreeze(d);
  auto& freeze =
      db_.Q("UPDATE events SET waiting_for = X'46' WHERE author = ? AND seq >= ? AND state = 0");
  Bind(freeze, 1, author.view());
  freeze.bind(2, static_cast<std::int64_t>(seq));
  freeze.exec();
  pending_.Recount();
  auto& applied = db_.Q("SELECT 1 FROM events WHERE author = ? AND seq >= ? AND state = 1 LIMIT 1");
  Bind(applied, 1, author.view());
  applied.bind(2, static_cast<std::int64_t>(seq));
  // Derived state must not keep anything from the frozen part: rebuild it, once per batch.
  if (applied.executeStep()) rebuild_needed_ = true;
}

void Gate::DeviceActsGone() {
  std::vector<MemberKey> gone;
  {
    auto& st = db_.Q("SELECT DISTINCT device FROM device_acts_gone");
    while (st.executeStep()) gone.push_back(ToId<MemberKey>(st.getColumn(0)));
  }
  if (gone.empty()) return;
  db_.Q("DELETE FROM device_acts_gone").exec();
  for (const auto& d : gone) Refreeze(d);
}

void Gate::NoteDeviceAct(const rulebook::DecodedEvent& ev) {
  const auto& b = ev.body;
  const bool claim = b.has_device_claim();
  if (!claim && !(b.has_device_link() && b.device_link().revoke())) return;
  auto& st = db_.Q(
      "INSERT OR IGNORE INTO device_acts(event, signer, seq, device, member, last_seq)"
      " VALUES (?, ?, ?, ?, ?, ?)");
  Bind(st, 1, ev.id.view());
  Bind(st, 2, ev.author.view());
  st.bind(3, static_cast<std::int64_t>(b.seq()));
  Bind(st, 4, claim ? b.author() : b.device_link().device());
  Bind(st, 5, claim ? b.device_claim().member() : b.author());
  if (claim) {
    st.bind(6);
  } else {
    st.bind(6, static_cast<std::int64_t>(b.device_link().last_seq()));
  }
  st.exec();
  Refreeze(*MemberKey::FromBytes(AsBytes(claim ? b.author() : b.device_link().device())));
}

void Gate::Refreeze(const MemberKey& device) {
  const auto before = state_.ForkSeq(device);
  state_.ReloadFreeze(device);
  const auto after = state_.ForkSeq(device);
  if (before == after) return;
  if (!after || (before && *after > *before)) {
    // Lifted or raised (a revocation evicted, or its signer found forked below it): only a
    // rebuild can place what the freeze held back.
    rebuild_needed_ = true;
    return;
  }
  // Frozen lower: what waits beyond it never takes its place, and what took its place beyond it
  // must leave the derived state.
  MarkFrozen(device, *after);
  auto& applied = db_.Q("SELECT 1 FROM events WHERE author = ? AND seq >= ? AND state = 1 LIMIT 1");
  Bind(applied, 1, device.view());
  applied.bind(2, static_cast<std::int64_t>(*after));
  if (applied.executeStep()) rebuild_needed_ = true;
}

void Gate::MarkFrozen(const MemberKey& author, std::uint64_t from) {
  auto& mark =
      db_.Q("UPDATE events SET waiting_for = X'46' WHERE author = ? AND seq >= ? AND state = 0");
  Bind(mark, 1, author.view());
  mark.bind(2, static_cast<std::int64_t>(from));
  mark.exec();
  if (db_.raw().getChanges() > 0) pending_.Recount();
}

void Gate::Rebuild() {
  state_.Reset();
  effects_.Clear();
  db_.raw().exec(
      "UPDATE events SET state = 0, waiting_for = NULL, apply_order = NULL, void_code = NULL;");
  next_apply_order_ = 1;
  awaiting_ = 0;
  pending_.Clear();
  std::vector<std::int64_t> rows;
  {
    auto& st = db_.Q("SELECT rowid FROM events ORDER BY rowid");
    while (st.executeStep()) rows.push_back(st.getColumn(0).getInt64());
  }
  for (auto rowid : rows) {
    auto& check = db_.Q("SELECT waiting_for IS NULL FROM events WHERE rowid = ? AND state = 0");
    check.bind(1, rowid);
    if (!check.executeStep() || check.getColumn(0).getInt() == 0) continue;  // already settled
    auto ev = Load(rowid);
    if (!ev) {
      SetWaiting(rowid, kFrozen);  // damaged body (verify reports it): never applied, counted
      continue;
    }
    const Verdict v = Decide(ev->id, ev->author, ev->body);
    Settle(*ev, v, /*was_pending=*/false);
    if (Places(v)) {
      Wake(Keys(rulebook::Unblocks(ev->id, ev->body, v.kind == Verdict::Kind::kApply)));
    }
  }
  rebuild_needed_ = false;
}

std::int64_t Gate::Insert(const rulebook::DecodedEvent& ev, bool placed,
                          const std::optional<std::string>& waiting, int void_code) {
  auto& st = db_.Q(
      "INSERT INTO events(id, author, seq, ts, kind, body, sig, state, waiting_for, apply_order,"
      " idp, void_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  Bind(st, 1, ev.id.view());
  Bind(st, 2, ev.author.view());
  st.bind(3, static_cast<std::int64_t>(ev.body.seq()));
  st.bind(4, static_cast<std::int64_t>(ev.body.timestamp_ms()));
  st.bind(5, static_cast<int>(ev.body.payload_case()));
  Bind(st, 6, ev.body_bytes);
  Bind(st, 7, ev.signature);
  st.bind(8, placed ? 1 : 0);
  if (waiting) {
    Bind(st, 9, *waiting);
  } else {
    st.bind(9);
  }
  if (placed) {
    st.bind(10, next_apply_order_++);
  } else {
    st.bind(10);
  }
  st.bind(11, IdPrefix(ev.id.view()));
  if (void_code >= 0) {
    st.bind(12, void_code);
  } else {
    st.bind(12);
  }
  st.exec();
  const std::int64_t rowid = db_.raw().getLastInsertRowid();
  NoteDeviceAct(ev);
  return rowid;
}

// `void_code` >= 0 marks the event void (RefusalCode); -1 means it took effect, or awaits
// `awaiting` when that is set.
void Gate::MarkApplied(std::int64_t rowid, int void_code,
                       const std::optional<std::string>& awaiting) {
  auto& st = db_.Q(
      "UPDATE events SET state = 1, waiting_for = ?, apply_order = ?, void_code = ?"
      " WHERE rowid = ?");
  if (awaiting) {
    Bind(st, 1, *awaiting);
  } else {
    st.bind(1);
  }
  st.bind(2, next_apply_order_++);
  if (void_code >= 0) {
    st.bind(3, void_code);
  } else {
    st.bind(3);
  }
  st.bind(4, rowid);
  st.exec();
}

void Gate::SettleEffect(std::int64_t rowid, int void_code) {
  auto& st = db_.Q("UPDATE events SET waiting_for = NULL, void_code = ? WHERE rowid = ?");
  if (void_code >= 0) {
    st.bind(1, void_code);
  } else {
    st.bind(1);
  }
  st.bind(2, rowid);
  st.exec();
}

void Gate::SetWaiting(std::int64_t rowid, const std::string& key) {
  auto& st = db_.Q("UPDATE events SET waiting_for = ? WHERE rowid = ?");
  Bind(st, 1, key);
  st.bind(2, rowid);
  st.exec();
}

void Gate::Delete(std::int64_t rowid) {
  auto& st = db_.Q("DELETE FROM events WHERE rowid = ?");
  st.bind(1, rowid);
  st.exec();
  DeviceActsGone();
}

}  // namespace polder::storage
