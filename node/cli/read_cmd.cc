// The commands that read the replica and never write: `polder list`, `members`, `show` and
// `status` (which also asks the running node, if any, for its sessions and sync progress).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "crypto/member_id.h"
#include "node/api/client.h"
#include "node/api/views.h"
#include "node/app/session.h"
#include "node/cli/command_groups.h"
#include "node/cli/output.h"
#include "node/cli/tally_cmd.h"
#include "node/decide/tally.h"
#include "node/sync/progress.h"
#include "polder/v1/api.pb.h"
#include "proto/money.h"
#include "storage/rulebook/kind.h"

namespace polder::cli {
namespace {

using app::Session;

int CmdList(const Globals& g) {
  Session s = OpenSession(g, false, false);
  auto& r = s.replica();
  const auto list = api::ProposalListOf(Must(r.views().Proposals()), r.views().CircleCurrency());
  Table t({"ID", "TITLE", "AMOUNT", "BY", "FOR", "AGAINST", "ABST", "CO-SP", "FLAGS", "STATE"});
  for (const auto& p : list.proposals()) {
    t.Row({Short(p.proposal_id()), p.title(), p.amount(),
           p.author_name() + " (" + p.organisation() + ")", std::to_string(p.votes_for()),
           std::to_string(p.votes_against()), std::to_string(p.votes_abstain()),
           std::to_string(p.endorsements()), std::to_string(p.open_flags()),
           p.withdrawn() ? "withdrawn" : "open"});
  }
  Emit(g, list, list.proposals_size() == 0 ? "No proposals yet.\n" : t.Render());
  return kExitOk;
}

// Each member's standing now (docs/protocol.md §6): whether they count, who admitted them, why
// not.
int CmdMembers(const Globals& g) {
  Session s = OpenSession(g, false, false);
  auto list = api::MemberListOf(Must(s.replica().views().Members()));
  const auto folded = Must(FoldReplica(s.replica()));
  const auto now = app::NowMs();
  const auto standings =
      decide::Standings(folded.state, decide::Tally(folded.state, now).rules_now, now);
  for (auto& m : *list.mutable_members()) {
    const MemberKey key = Must(crypto::ParseMemberId(m.member_id()));
    // Standings follow CircleState::members, sorted by key.
    const auto it = std::lower_bound(standings.begin(), standings.end(), key,
                                     [](const auto& st, const MemberKey& k) { return st.key < k; });
    if (it == standings.end() || it->key != key) continue;
    m.set_eligible(it->eligible);
    for (const auto& a : it->admitted_by) m.add_admitted_by(crypto::FormatMemberId(a));
    m.set_not_eligible_because(it->why_not);
    m.set_removed(it->removed);
    for (const auto& r : it->removed_by) m.add_removed_by(crypto::FormatMemberId(r));
  }
  Table t({"NAME", "ORGANISATION", "ROLE", "LEADER", "FINGERPRINT", "EVENTS", "COUNTS", "NOTE"});
  std::string why;
  for (const auto& m : list.members()) {
    t.Row({m.name(), m.organisation(), m.role(), m.formal_leader() ? "yes" : "no", m.fingerprint(),
           std::to_string(m.head_seq()), m.eligible() ? "yes" : "no",
           m.removed()            ? "REMOVED"
           : m.forked()           ? "FORKED"
           : m.founder()          ? "founder"
           : m.founding_partner() ? "founding partner"
                                  : ""});
    if (!m.eligible()) why += "  " + m.name() + ": " + m.not_eligible_because() + "\n";
  }
  Emit(g, list, t.Render() + (why.empty() ? "" : "not counted yet:\n" + why));
  return kExitOk;
}

int CmdShow(const Globals& g, const std::string& prefix) {
  Session s = OpenSession(g, false, false);
  const EventId id = ResolveId(s, prefix, "proposal");
  auto& r = s.replica();
  const auto d = api::ProposalDetailOf(Must(r.views().Proposal(id)), r.views().CircleCurrency());
  const auto& p = d.proposal();
  std::string h;
  h += p.title() + (p.withdrawn() ? "  [WITHDRAWN]" : "") + "\n";
  h += "  id:        " + p.proposal_id() + "\n";
  h += "  by:        " + p.author_name() + " (" + p.organisation() + ")\n";
  h += "  amount:    " + p.amount() + "\n";
  h += "  deadline:  " + FormatTime(p.deadline_ms()) + "\n";
  if (!p.topic().empty()) h += "  topic:     " + p.topic() + "\n";
  if (!p.purpose_fit().empty()) h += "  purpose:   " + p.purpose_fit() + "\n";
  if (!p.body().empty()) h += "\n" + p.body() + "\n";
  h += "\nVotes: " + std::to_string(p.votes_for()) + " for, " + std::to_string(p.votes_against()) +
       " against, " + std::to_string(p.votes_abstain()) + " abstain\n";
  for (const auto& v : d.votes())
    h += "  " + v.choice() + "\t" + v.name() + " (" + v.organisation() + ")\n";
  if (d.endorsers_size() > 0) {
    h += "Co-sponsors:\n";
    for (const auto& m : d.endorsers()) h += "  " + m.name() + " (" + m.organisation() + ")\n";
  }
  if (d.flags_size() > 0) {
    h += "Risk flags:\n";
    for (const auto& f : d.flags()) {
      h += "  " + Short(f.flag_id()) + "  " + f.severity() + "  " + f.category() + "  [" +
           f.state() + "] by " + f.flagger() + "\n      " + f.rationale() + "\n";
      for (const auto& r : f.resolutions()) {
        h += "      " + r.kind() + " by " + r.author() +
             (r.mitigation().empty() ? "" : ": " + r.mitigation()) + "\n";
      }
    }
  }
  if (d.comments_size() > 0) {
    h += "Comments:\n";
    for (const auto& c : d.comments()) h += "  " + c.author() + ": " + c.text() + "\n";
  }
  Emit(g, d, h);
  return kExitOk;
}

sync::Progress ProgressOf(const v1::SyncView& y) {
  sync::Progress p;
  p.catching_up = y.catching_up();
  p.received = y.received();
  p.expected = y.expected();
  p.missing = y.missing();
  p.rate_events_per_s = y.rate_events_per_s();
  if (y.has_eta_s()) p.eta_s = y.eta_s();
  p.elapsed_s = y.elapsed_s();
  return p;
}

int CmdStatus(const Globals& g) {
  Session s = OpenSession(g, false, false);
  auto& r = s.replica();
  v1::StatusView v;
  v.set_replica(s.home().replica_file().string());
  if (auto c = r.circle()) v.set_circle_id(c->hex());
  if (auto ch = r.state().Charter()) {
    v.set_circle_name(ch->name());
    v.set_purpose(ch->purpose());
    v.set_pool(FormatMoney(Money(ch->pool_minor()), r.views().CircleCurrency()));
  }
  const auto members = Must(r.views().Members());
  v.set_members(static_cast<std::uint32_t>(members.size()));
  for (const auto& m : members) {
    if (m.forked) v.add_forked_members(api::MemberLabel({m.key, m.name, m.organisation}));
  }
  v.set_proposals(static_cast<std::uint32_t>(Must(r.views().Proposals()).size()));
  const auto counts = Must(r.events().Counts());
  v.set_events(counts.applied);
  v.set_pending(counts.pending);
  v.set_awaiting(counts.awaiting);
  v.set_forked(counts.forked_authors);
  v.set_digest(Must(r.StateDigest()).hex());
  if (s.has_identity()) {
    v.set_member_id(crypto::FormatMemberId(s.key().public_key()));
    v.set_own_head_seq(Must(r.state().OwnLog(s.key().public_key())).head_seq);
    for (const auto& a : Must(r.events().AwaitingOf(s.key().public_key(), 20))) {
      auto* x = v.add_awaiting_events();
      x->set_event_id(a.id.hex());
      x->set_seq(a.seq);
      x->set_kind(rulebook::KindName(static_cast<v1::EventBody::PayloadCase>(a.kind)));
      x->set_refers_to(a.awaited.hex());
      const std::string of =
          a.awaited_author ? " of " + api::MemberLabel(r.views().NameOf(*a.awaited_author)) : "";
      switch (a.why) {
        case storage::AwaitingEvent::Why::kNotHeld:
          x->set_why("it refers to an event not held here yet; it counts once that arrives");
          break;
        case storage::AwaitingEvent::Why::kPending:
          x->set_why("it refers to an event" + of +
                     " that waits for its own place; it counts once that is placed");
          break;
        case storage::AwaitingEvent::Why::kFrozen:
          x->set_why("it refers to an event" + of + " past their fork at seq " +
                     std::to_string(a.fork_seq) +
                     " (two events at one seq): it counts for nothing");
          break;
        case storage::AwaitingEvent::Why::kAwaiting:
          x->set_why("it refers to an event" + of +
                     " that itself awaits an event it refers to; it counts once that does");
          break;
      }
    }
  }
  for (auto& w : s.Warnings()) v.add_warnings(w);
  if (auto client = api::ApiClient::Find(s.home().api_files())) {
    if (auto info = client->NodeInfo()) *v.mutable_node() = *info;
  }
  std::string h;
  h += "circle:    " + (v.circle_name().empty() ? std::string("(none yet)") : v.circle_name()) +
       (v.circle_id().empty() ? "" : "  " + v.circle_id().substr(0, 16)) + "\n";
  if (!v.purpose().empty()) h += "purpose:   " + v.purpose() + "\n";
  if (!v.pool().empty()) h += "pool:      " + v.pool() + "\n";
  h += "members:   " + std::to_string(v.members()) + "\n";
  h += "proposals: " + std::to_string(v.proposals()) + "\n";
  h += "events:    " + std::to_string(counts.applied) + " applied" +
       (counts.awaiting > 0
            ? " (" + std::to_string(counts.awaiting) + " awaiting an event they refer to)"
            : std::string()) +
       ", " + std::to_string(counts.pending) + " pending, " + std::to_string(counts.frozen) +
       " frozen\n";
  h += "forked:    " + std::to_string(counts.forked_authors);
  for (const auto& f : v.forked_members()) h += "  " + f;
  h += "\n";
  h += "digest:    " + v.digest() + "\n";
  if (!v.member_id().empty())
    h += "you:       " + v.member_id() + " (seq " + std::to_string(v.own_head_seq()) + ")\n";
  for (const auto& a : v.awaiting_events()) {
    h += "awaiting:  your " + a.kind() + " " + a.event_id().substr(0, 8) + " (seq " +
         std::to_string(a.seq()) + "): " + a.why() + "\n";
  }
  for (const auto& w : v.warnings()) h += "warning:   " + w + "\n";
  if (v.has_node()) {
    const auto& n = v.node();
    h += "node:      running (pid " + std::to_string(n.pid()) + "), listening on " + n.listen() +
         ", " + std::to_string(n.peers_size()) + " peers\n";
    for (const auto& p : n.peers()) {
      h += "  peer     " + p.name() + " " + p.address() + (p.outbound() ? " (out)" : " (in)") +
           (p.retired_key() ? ", on a retired network key" : "") + "\n";
    }
    h += "network:   key " + n.network_key_id().substr(0, 12) + "; " +
         std::to_string(n.sessions_opened()) + " sessions opened, " +
         std::to_string(n.handshakes_failed()) + " handshakes failed, " +
         std::to_string(n.not_members_refused()) + " non-members refused\n";
    const auto& y = n.sync();
    h += "sync:      " + std::to_string(y.events_stored()) + " events received new, " +
         std::to_string(y.duplicates()) + " duplicates, " + std::to_string(y.refused()) +
         " refused, " + std::to_string(y.events_sent()) + " sent";
    h += "\n";
    if (y.catching_up() || y.expected() > 0) {
      h += std::string(y.catching_up() ? "catch-up:  " : "caught up: ") +
           sync::DescribeProgress(ProgressOf(y)) + "\n";
    }
  } else {
    h += "node:      not running (`polder node` starts it)\n";
  }
  Emit(g, v, h);
  return kExitOk;
}

}  // namespace

void RegisterReadCommands(CLI::App& app, const Globals& g, Runner& run) {
  app.add_subcommand("list", "list proposals")->callback([&g, &run] {
    run = [&g] { return CmdList(g); };
  });
  app.add_subcommand("members", "list members")->callback([&g, &run] {
    run = [&g] { return CmdMembers(g); };
  });

  auto prefix = std::make_shared<std::string>();  // kept alive by the callback
  auto* show = app.add_subcommand("show", "show a proposal with votes, flags and comments");
  show->add_option("PROPOSAL", *prefix, "proposal id or unique prefix")->required();
  show->callback([&g, &run, prefix] { run = [&g, prefix] { return CmdShow(g, *prefix); }; });

  app.add_subcommand("status", "circle, members, digest, pending and forked counts")
      ->callback([&g, &run] { run = [&g] { return CmdStatus(g); }; });
}

}  // namespace polder::cli
