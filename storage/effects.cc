#include "storage/effects.h"

namespace polder::storage {

using v1::EventBody;

void Effects::PutMember(const std::string& key, const v1::MemberInfo& info, const EventId& event) {
  // A first admission inserts the member (log head still empty); a record that now stands in
  // place of another changes the member's details and keeps their log head.
  auto& st = db_.Q(
      "INSERT INTO members(key, name, organisation, role, formal_leader, admit_event, head_seq,"
      " head_id, head_ts) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, 0)"
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

void Effects::Apply(const EventId& id, const EventBody& b, const rulebook::Verdict& verdict) {
  const std::string& author = b.author();
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
      // The author's events apply in seq order: the last vote applied is their latest.
      auto& st = db_.Q(
          "INSERT OR REPLACE INTO votes(proposal, voter, choice, event, ts) VALUES (?, ?, ?, ?, "
          "?)");
      Bind(st, 1, b.vote().proposal());
      Bind(st, 2, author);
      st.bind(3, static_cast<int>(b.vote().choice()));
      Bind(st, 4, id.view());
      st.bind(5, static_cast<std::int64_t>(b.timestamp_ms()));
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
          "INSERT OR REPLACE INTO endorsements(proposal, member, event, note) VALUES (?, ?, ?, ?)");
      Bind(st, 1, e.proposal());
      Bind(st, 2, author);
      Bind(st, 3, id.view());
      BindText(st, 4, e.note());
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
      const auto& d = b.delegation();
      if (d.revoke()) {
        auto& st = db_.Q("DELETE FROM delegations WHERE delegator = ? AND topic = ?");
        Bind(st, 1, author);
        BindText(st, 2, d.topic());
        st.exec();
        return;
      }
      auto& st = db_.Q(
          "INSERT OR REPLACE INTO delegations(delegator, topic, delegate, event) VALUES (?, ?, ?,"
          " ?)");
      Bind(st, 1, author);
      BindText(st, 2, d.topic());
      Bind(st, 3, d.delegate());
      Bind(st, 4, id.view());
      st.exec();
      return;
    }
    case EventBody::kWithdraw: {
      // The first withdrawal stands (the author's events apply in seq order).
      const auto& w = b.withdraw();
      auto& st = db_.Q(
          "UPDATE proposals SET withdrawn_event = ?, withdraw_reason = ? "
          "WHERE id = ? AND withdrawn_event IS NULL");
      Bind(st, 1, id.view());
      BindText(st, 2, w.reason());
      Bind(st, 3, w.proposal());
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
      "DELETE FROM comments; DELETE FROM delegations; DELETE FROM seals;");
}

}  // namespace polder::storage
