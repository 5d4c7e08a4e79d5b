#include "node/api/views.h"

#include "crypto/member_id.h"
#include "proto/words.h"

namespace polder::api {

std::string MemberLabel(const storage::MemberName& m) {
  const std::string fp = crypto::Fingerprint(m.key);
  return m.name.empty() ? "(" + fp + ")" : m.name + " (" + fp + ")";
}

v1::MemberView MemberViewOf(const storage::MemberRow& m) {
  v1::MemberView v;
  v.set_member_id(crypto::FormatMemberId(m.key));
  v.set_fingerprint(crypto::Fingerprint(m.key));
  v.set_name(m.name);
  v.set_organisation(m.organisation);
  v.set_role(m.role);
  v.set_formal_leader(m.formal_leader);
  v.set_head_seq(m.head_seq);
  v.set_forked(m.forked);
  v.set_founder(m.founder);
  v.set_founding_partner(m.founding_partner);
  return v;
}

v1::MemberList MemberListOf(const std::vector<storage::MemberRow>& members) {
  v1::MemberList list;
  for (const auto& m : members) *list.add_members() = MemberViewOf(m);
  return list;
}

v1::ProposalView ProposalViewOf(const storage::ProposalRow& p, const Currency& currency) {
  v1::ProposalView v;
  v.set_proposal_id(p.id.hex());
  v.set_title(p.title);
  v.set_author(crypto::FormatMemberId(p.author.key));
  v.set_author_name(p.author.name);
  v.set_organisation(p.author.organisation);
  v.set_amount_minor(p.amount.minor());
  v.set_amount(FormatMoney(p.amount, currency));
  v.set_deadline_ms(p.deadline_ms);
  v.set_withdrawn(p.withdrawn);
  v.set_topic(p.topic);
  v.set_purpose_fit(p.purpose_fit);
  v.set_body(p.body);
  v.set_created_ms(p.created_ms);
  v.set_votes_for(p.votes_for);
  v.set_votes_against(p.votes_against);
  v.set_votes_abstain(p.votes_abstain);
  v.set_endorsements(p.endorsements);
  v.set_open_flags(p.open_flags);
  return v;
}

v1::ProposalList ProposalListOf(const std::vector<storage::ProposalRow>& proposals,
                                const Currency& currency) {
  v1::ProposalList list;
  for (const auto& p : proposals) *list.add_proposals() = ProposalViewOf(p, currency);
  return list;
}

v1::FlagView FlagViewOf(const storage::FlagRow& f) {
  v1::FlagView v;
  v.set_flag_id(f.id.hex());
  v.set_proposal_id(f.proposal.hex());
  v.set_flagger(MemberLabel(f.flagger));
  v.set_severity(SeverityWord(f.severity));
  v.set_category(f.category);
  v.set_rationale(f.rationale);
  v.set_created_ms(f.created_ms);
  bool withdrawn = false;
  bool answered = false;
  for (const auto& r : f.resolutions) {
    auto* rv = v.add_resolutions();
    rv->set_event_id(r.event.hex());
    rv->set_author(MemberLabel(r.author));
    // An override is shown as "answer" here (the tally says how a flag ended); kept as it was.
    rv->set_kind(r.kind == v1::FlagResolution::WITHDRAW ? "withdraw" : "answer");
    rv->set_mitigation(r.mitigation);
    withdrawn |= r.kind == v1::FlagResolution::WITHDRAW;
    answered |= r.kind == v1::FlagResolution::ANSWER;
  }
  v.set_state(withdrawn ? "withdrawn" : answered ? "answered" : "open");
  return v;
}

v1::ProposalDetail ProposalDetailOf(const storage::ProposalDetail& d, const Currency& currency) {
  v1::ProposalDetail v;
  *v.mutable_proposal() = ProposalViewOf(d.proposal, currency);
  for (const auto& vote : d.votes) {
    auto* vv = v.add_votes();
    vv->set_voter(crypto::FormatMemberId(vote.voter.key));
    vv->set_name(vote.voter.name);
    vv->set_organisation(vote.voter.organisation);
    vv->set_choice(ChoiceWord(vote.choice));
    vv->set_timestamp_ms(vote.timestamp_ms);
  }
  for (const auto& f : d.flags) *v.add_flags() = FlagViewOf(f);
  for (const auto& e : d.endorsers) {
    auto* m = v.add_endorsers();
    m->set_member_id(crypto::FormatMemberId(e.key));
    m->set_fingerprint(crypto::Fingerprint(e.key));
    m->set_name(e.name);
    m->set_organisation(e.organisation);
  }
  for (const auto& c : d.comments) {
    auto* cv = v.add_comments();
    cv->set_event_id(c.id.hex());
    cv->set_author(MemberLabel(c.author));
    cv->set_text(c.text);
    cv->set_timestamp_ms(c.timestamp_ms);
  }
  return v;
}

v1::VerifyReport VerifyReportOf(const storage::VerifyReport& r) {
  v1::VerifyReport v;
  v.set_events_checked(r.events_checked);
  v.set_bad(r.problems.size());
  for (const auto& p : r.problems) {
    auto* pv = v.add_problems();
    pv->set_event_id(p.event.hex());
    pv->set_code("corruption");
    pv->set_message(p.message);
  }
  v.set_derived_state_matches(r.derived_state_matches);
  v.set_digest(r.digest.hex());
  return v;
}

}  // namespace polder::api
