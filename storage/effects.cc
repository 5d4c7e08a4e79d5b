#include "storage/effects.h"

namespace polder::storage {

using v1::EventBody;

void Effects::PutMember(const std::string& key, const v1::MemberInfo& info, const EventId& event) {
  // A first admission inserts the member (log head still empty, unless the key is a device whose
  // log has begun: one key, one log); a record that now stands in place of another changes the
  // member's details and keeps their log head.
  auto& st = db_.Q(
      "INSERT INTO members(key, name, organisation, role, formal_leader, admit_event, head_seq,"
      " head_id, head_ts) SELECT ?1, ?2, ?3, ?4, ?5, ?6, coalesce(d.head_seq, 0), d.head_id,"
      " coalesce(d.head_ts, 0) FROM (SELECT 1) LEFT JOIN devices d ON d.key = ?1 WHERE true"
      " ON CONFLICT(key) DO UPDATE SET name = excluded.name,"
      " organisation = excluded.organisation, role = excluded.role,"
      " formal_leader = excluded.formal_leader, admit_event = excluded.admit_event");
  Bind(st, 1, key);
  BindText(st, 2, info.name());
  BindText(st, 3, info.organisation());
  BindText(st, 4, info.role());
  st.bind(5, info.formal_leader() ? 1 : 0);
  Bind(st, 6, event.view());
  st.exec();
}

void Effects::AddAdmission(const std::string& member, const EventId& event,
                           const std::string& admitter) {
  auto& adm = db_.Q("INSERT OR IGNORE INTO admissions(member, event, admitter) VALUES (?, ?, ?)");
  Bind(adm, 1, member);
  Bind(adm, 2, event.view());
  Bind(adm, 3, admitter);
  adm.exec();
}

namespace {

// A member's act as one comparable blob: timestamp, signing key, seq (big-endian; timestamps and
// seqs are positive). Within one log it orders as the seq does (timestamps do not regress there).
std::string Ord(const EventBody& b) {
  std::string out(8 + b.author().size() + 8, '\0');
  auto put = [&](std::size_t at, std::uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8)
      out[at + static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  };
  put(0, static_cast<std::uint64_t>(b.timestamp_ms()));
  std::copy(b.author().begin(), b.author().end(), out.begin() + 8);
  put(8 + b.author().size(), b.seq());
  return out;
}

}  // namespace

void Effects::Apply(const EventId& id, const EventBody& b, const rulebook::Verdict& verdict,
                    const std::optional<MemberKey>& device_of) {
  // A device's events act for its member.
  const std::string member_bytes = device_of ? device_of->str() : std::string();
  const std::string& author = device_of ? member_bytes : b.author();
  switch (b.payload_case()) {
    case EventBody::kCharter: {
      const auto& c = b.charter();
      std::string rules;
      c.rules().SerializeToString(&rules);
      auto& st = db_.Q(
          "INSERT INTO charter(one, event, founder, name, purpose, pool_minor, unit, decimals,"
          " rules) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)");
      Bind(st, 1, id.view());
      Bind(st, 2, author);
      BindText(st, 3, c.name());
      BindText(st, 4, c.purpose());
      st.bind(5, static_cast<std::int64_t>(c.pool_minor()));
      BindText(st, 6, c.unit());
      st.bind(7, static_cast<int>(c.decimals()));
      Bind(st, 8, rules);
      st.exec();
      PutMember(author, c.founder(), id);
      AddAdmission(author, id, author);
      // Founding partners are members from the charter on, admitted by it (their record is the
      // charter's: rulebook MemberRecord::chartered).
      for (const auto& p : c.partners()) {
        PutMember(p.member(), p.info(), id);
        AddAdmission(p.member(), id, author);
      }
      return;
    }
    case EventBody::kAdmit: {
      const auto& a = b.admit();
      if (verdict.member_record) PutMember(a.member(), a.info(), id);
      AddAdmission(a.member(), id, author);
      return;
    }
    case EventBody::kProposal: {
      const auto& p = b.proposal();
      auto& st = db_.Q(
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
      return;
    }
    case EventBody::kVote: {
      // The member's latest vote stands: by timestamp, then signing key, then seq (one log applies
      // in seq order, but a member's devices' logs arrive in any order).
      auto& st = db_.Q(
          "INSERT INTO votes(proposal, voter, choice, event, ts, ord) VALUES (?, ?, ?, ?, ?, ?)"
          " ON CONFLICT(proposal, voter) DO UPDATE SET choice = excluded.choice,"
          " event = excluded.event, ts = excluded.ts, ord = excluded.ord"
          " WHERE excluded.ord > votes.ord");
      Bind(st, 1, b.vote().proposal());
      Bind(st, 2, author);
      st.bind(3, static_cast<int>(b.vote().choice()));
      Bind(st, 4, id.view());
      st.bind(5, static_cast<std::int64_t>(b.timestamp_ms()));
      const std::string ord = Ord(b);
      Bind(st, 6, ord);
      st.exec();
      return;
    }
    case EventBody::kRiskFlag: {
      const auto& f = b.risk_flag();
      auto& st = db_.Q(
          "INSERT INTO flags(id, proposal, flagger, severity, category, rationale, created_ms)"
          " VALUES (?, ?, ?, ?, ?, ?, ?)");
      Bind(st, 1, id.view());
      Bind(st, 2, f.proposal());
      Bind(st, 3, author);
      st.bind(4, static_cast<int>(f.severity()));
      BindText(st, 5, f.category());
      BindText(st, 6, f.rationale());
      st.bind(7, static_cast<std::int64_t>(b.timestamp_ms()));
      st.exec();
      return;
    }
    case EventBody::kFlagResolution: {
      const auto& res = b.flag_resolution();
      auto& st = db_.Q(
          "INSERT INTO resolutions(id, flag, author, kind, mitigation, ts) VALUES (?, ?, ?, ?, ?,"
          " ?)");
      Bind(st, 1, id.view());
      Bind(st, 2, res.flag());
      Bind(st, 3, author);
      st.bind(4, static_cast<int>(res.kind()));
      BindText(st, 5, res.mitigation());
      st.bind(6, static_cast<std::int64_t>(b.timestamp_ms()));
      st.exec();
      return;
    }
    case EventBody::kEndorsement: {
      const auto& e = b.endorsement();
      auto& st = db_.Q(
          "INSERT INTO endorsements(proposal, member, event, note, ord) VALUES (?, ?, ?, ?, ?)"
          " ON CONFLICT(proposal, member) DO UPDATE SET event = excluded.event,"
          " note = excluded.note, ord = excluded.ord WHERE excluded.ord > endorsements.ord");
      Bind(st, 1, e.proposal());
      Bind(st, 2, author);
      Bind(st, 3, id.view());
      BindText(st, 4, e.note());
      const std::string ord = Ord(b);
      Bind(st, 5, ord);
      st.exec();
      return;
    }
    case EventBody::kComment: {
      const auto& c = b.comment();
      auto& st = db_.Q("INSERT INTO comments(id, author, target, text, ts) VALUES (?, ?, ?, ?, ?)");
      Bind(st, 1, id.view());
      Bind(st, 2, author);
      Bind(st, 3, c.target());  // X'' when the comment is about the circle as a whole
      BindText(st, 4, c.text());
      st.bind(5, static_cast<std::int64_t>(b.timestamp_ms()));
      st.exec();
      return;
    }
    case EventBody::kDelegation: {
      // The latest delegation or revocation (an empty delegate) for the topic stands.
      const auto& d = b.delegation();
      auto& st = db_.Q(
          "INSERT INTO delegations(delegator, topic, delegate, event, ord) VALUES (?, ?, ?, ?, ?)"
          " ON CONFLICT(delegator, topic) DO UPDATE SET delegate = excluded.delegate,"
          " event = excluded.event, ord = excluded.ord WHERE excluded.ord > delegations.ord");
      Bind(st, 1, author);
      BindText(st, 2, d.topic());
      static const std::string kNone;
      Bind(st, 3, d.revoke() ? kNone : d.delegate());
      Bind(st, 4, id.view());
      const std::string ord = Ord(b);
      Bind(st, 5, ord);
      st.exec();
      return;
    }
    case EventBody::kWithdraw: {
      // The earliest withdrawal stands (by timestamp, signing key, seq).
      const auto& w = b.withdraw();
      auto& st = db_.Q(
          "UPDATE proposals SET withdrawn_event = ?, withdraw_reason = ?, withdrawn_ord = ?"
          " WHERE id = ? AND (withdrawn_ord IS NULL OR withdrawn_ord > ?)");
      const std::string ord = Ord(b);
      Bind(st, 1, id.view());
      BindText(st, 2, w.reason());
      Bind(st, 3, ord);
      Bind(st, 4, w.proposal());
      Bind(st, 5, ord);
      st.exec();
      return;
    }
    case EventBody::kDeviceLink: {
      if (b.device_link().revoke()) return;  // the gate records revocations as they are stored
      auto& st =
          db_.Q("INSERT OR IGNORE INTO device_links(member, device, event) VALUES (?, ?, ?)");
      Bind(st, 1, author);
      Bind(st, 2, b.device_link().device());
      Bind(st, 3, id.view());
      st.exec();
      return;
    }
    case EventBody::kRemoval: {
      auto& st = db_.Q(
          "INSERT OR IGNORE INTO removals(event, member, remover, reason, ts) VALUES (?, ?, ?, ?, "
          "?)");
      Bind(st, 1, id.view());
      Bind(st, 2, b.removal().member());
      Bind(st, 3, author);
      BindText(st, 4, b.removal().reason());
      st.bind(5, static_cast<std::int64_t>(b.timestamp_ms()));
      st.exec();
      return;
    }
    case EventBody::kNetworkKey: {
      auto& st = db_.Q(
          "INSERT OR IGNORE INTO network_keys(event, author, key_id, ts) VALUES (?, ?, ?, ?)");
      Bind(st, 1, id.view());
      Bind(st, 2, author);
      Bind(st, 3, b.network_key().key_id());
      st.bind(4, static_cast<std::int64_t>(b.timestamp_ms()));
      st.exec();
      return;
    }
    case EventBody::kDeviceClaim: {
      auto& st = db_.Q(
          "INSERT INTO devices(key, member, claim_event, head_seq, head_id, head_ts)"
          " VALUES (?, ?, ?, 0, NULL, 0)");
      Bind(st, 1, b.author());
      Bind(st, 2, b.device_claim().member());
      Bind(st, 3, id.view());
      st.exec();
      return;
    }
    case EventBody::kSeal: {
      auto& st = db_.Q("INSERT INTO seals(deadline_ms, author, event, ts) VALUES (?, ?, ?, ?)");
      st.bind(1, static_cast<std::int64_t>(b.seal().deadline_ms()));
      Bind(st, 2, author);
      Bind(st, 3, id.view());
      st.bind(4, static_cast<std::int64_t>(b.timestamp_ms()));
      st.exec();
      return;
    }
    case EventBody::PAYLOAD_NOT_SET: return;
  }
}

void Effects::Clear() {
  db_.raw().exec(
      "DELETE FROM charter; DELETE FROM members; DELETE FROM admissions; DELETE FROM proposals;"
      "DELETE FROM votes; DELETE FROM flags; DELETE FROM resolutions; DELETE FROM endorsements;"
      "DELETE FROM comments; DELETE FROM delegations; DELETE FROM seals; DELETE FROM devices;"
      "DELETE FROM device_links; DELETE FROM removals; DELETE FROM network_keys;");
}

}  // namespace polder::storage
