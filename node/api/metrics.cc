#include "node/api/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace polder::api {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

double D(std::uint64_t v) { return static_cast<double>(v); }

}  // namespace

std::string RenderMetrics(const MetricsSnapshot& s) {
  // A fresh registry per scrape: the node's counters are the source of truth and are copied in
  // whole, so nothing here has to remember what the last scrape saw.
  prometheus::Registry r;
  auto counter = [&](const char* name, const char* help, std::uint64_t value) {
    BuildCounter().Name(name).Help(help).Register(r).Add({}).Increment(D(value));
  };
  auto gauge = [&](const char* name, const char* help, std::uint64_t value) {
    BuildGauge().Name(name).Help(help).Register(r).Add({}).Set(D(value));
  };
  counter("polder_events_stored_total",
          "Events new to this replica stored by the node: received from peers or authored here",
          s.sync.events_stored + s.sync.events_authored);
  counter("polder_events_received_total",
          "Events that arrived from peers, whatever the gate decided", s.sync.events_received);
  counter("polder_events_duplicate_total", "Events received that the replica already held",
          s.sync.duplicates);
  auto& refused = BuildCounter()
                      .Name("polder_events_refused_total")
                      .Help("Events from peers refused by the ingest gate, by refusal code")
                      .Register(r);
  for (const auto& [reason, n] : s.sync.refused_by_reason) {
    refused.Add({{"reason", reason}}).Increment(D(n));
  }
  counter("polder_events_sent_total", "Events sent to peers (catch-up and push)",
          s.sync.events_sent);
  counter("polder_push_dropped_total",
          "Eager pushes dropped because a peer's send queue was full (anti-entropy repairs them)",
          s.sync.pushes_dropped);
  counter("polder_push_refused_total",
          "Events pushed while the inbox was full, not queued (anti-entropy brings them again)",
          s.sync.pushes_refused);
  counter("polder_sync_sources_stalled_total",
          "Catch-up sources replaced for claiming events they did not send within 10 s",
          s.sync.sources_stalled);
  counter("polder_sync_messages_ignored_total",
          "Sync messages of a type this version does not know (a later version's), ignored",
          s.sync.messages_ignored);
  counter("polder_sync_announcements_limited_total",
          "Newer announcements dropped over their member's rate (one per 10 s, bursts of 3)",
          s.sync.announcements_limited);
  counter("polder_sync_notes_ignored_total",
          "Have notes ignored past the bound on authors tracked per peer", s.sync.notes_ignored);
  auto& cut = BuildCounter()
                  .Name("polder_peers_cut_off_total")
                  .Help("Sessions the sync protocol closed for invalid or hostile data, by reason")
                  .Register(r);
  for (const auto& [reason, n] : s.sync.cut_off_by_reason) {
    cut.Add({{"reason", reason}}).Increment(D(n));
  }
  counter("polder_bytes_sent_total", "Bytes of sync messages queued for peers", s.sync.bytes_out);
  auto& by_message = BuildCounter()
                         .Name("polder_sync_bytes_sent_total")
                         .Help("Bytes of sync messages queued for peers, by message type")
                         .Register(r);
  for (const auto& [message, n] : s.sync.bytes_out_by_message) {
    by_message.Add({{"message", message}}).Increment(D(n));
  }
  counter("polder_bytes_received_total", "Bytes of sync messages received from peers",
          s.sync.bytes_in);
  auto& refused_handshakes =
      BuildCounter()
          .Name("polder_handshakes_refused_total")
          .Help("Inbound connections refused before a session began, by reason")
          .Register(r);
  for (const auto& [reason, n] : s.handshakes_refused) {
    refused_handshakes.Add({{"reason", reason}}).Increment(D(n));
  }
  auto& sessions = BuildGauge()
                       .Name("polder_sessions")
                       .Help("Ready sessions with peers, by who dialled")
                       .Register(r);
  sessions.Add({{"direction", "inbound"}}).Set(D(s.sessions_inbound));
  sessions.Add({{"direction", "outbound"}}).Set(D(s.sessions_outbound));
  gauge("polder_sync_lag_events",
        "Events connected peers hold that this replica lacks, as far as the node knows",
        s.sync_lag_events);
  gauge("polder_pending_events", "Events held waiting for a missing event or an admission",
        s.pending_events);
  gauge("polder_pending_bytes", "Bytes of the events in the pending set", s.pending_bytes);
  counter("polder_pending_evicted_total",
          "Pending events evicted to keep the pending set within its bounds (fetched again if "
          "needed)",
          s.pending_evicted);
  return prometheus::TextSerializer().Serialize(r.Collect());
}

}  // namespace polder::api
