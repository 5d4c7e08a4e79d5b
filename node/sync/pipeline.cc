#include "node/sync/pipeline.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "node/sync/limits.h"
#include "proto/bytes.h"
#include "storage/rulebook/decode.h"
#include "storage/rulebook/refusal.h"

namespace polder::sync {
namespace {

// Refusals no honest node would pass on: it stores only events that pass these checks.
bool Hostile(rulebook::RefusalCode code) {
  switch (code) {
    case rulebook::RefusalCode::kTooLarge:
    case rulebook::RefusalCode::kMalformed:
    case rulebook::RefusalCode::kBadSignature:
    case rulebook::RefusalCode::kWrongCircle:
    case rulebook::RefusalCode::kBadCharter: return true;
    default: return false;
  }
}

unsigned Cores() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace

void Pipeline::OnEvents(PeerId from, Peer& p, const v1::EventBatch& b) {
  if (b.events_size() == 0) return;
  if (static_cast<std::size_t>(b.events_size()) > kMaxBatchEventsIn) {
    return peers_.CutOff(p, CutOffReason::kTooMany,
                         "event batch of " + std::to_string(b.events_size()) + " events");
  }
  // Credit counts the events' bytes (what the sender's pages count), not the message around
  // them: counted in different units, the two sides drifted apart by a few bytes per event, and
  // a slow receiver cut off an honest source once the source used its last credit.
  std::uint64_t event_bytes = 0;
  for (const auto& e : b.events()) event_bytes += e.size();
  // Only what the credit covered is granted again once committed: a peer without credit that
  // sends a page anyway (Spend lets one event pass) must not earn credit by it.
  std::uint64_t credited = 0;
  if (!b.push()) {
    credited = std::min(p.catch_up.credit_in, event_bytes);
    if (!catch_up_.Spend(p, event_bytes)) {
      return peers_.CutOff(p, CutOffReason::kBeyondCredit, "sent beyond its credit");
    }
  }
  stats_.events_received += static_cast<std::uint64_t>(b.events_size());
  Inbound in{from, b.push(), {}, credited};
  in.events.reserve(static_cast<std::size_t>(b.events_size()));
  // A pushed event this replica holds is known by its id (the hash of its body) before its
  // signature is checked: a peer that pushes what we hold costs a lookup, and its allowance.
  std::size_t duplicate_bytes = 0;
  for (const auto& e : b.events()) {
    if (b.push()) {
      if (auto peek = rulebook::Peek(AsBytes(e))) {
        auto held = store_.EventBytes(peek->id);
        if (held && *held) {
          ++stats_.duplicates;
          duplicate_bytes += e.size();
          Advance(p.known, peek->author, peek->seq, peek->id);
          continue;
        }
      }
    }
    in.bytes += e.size();
    in.events.emplace_back(e.begin(), e.end());
  }
  if (duplicate_bytes > 0) {
    if (!ChargeDuplicates(p, duplicate_bytes)) return;
    push_.PruneAfterDuplicate(from);  // as for a duplicate found at commit
  }
  if (in.events.empty()) return;
  in.uncredited = in.bytes > credited ? static_cast<std::size_t>(in.bytes - credited) : 0;
  if (in.uncredited > 0) {
    if (p.inbox.uncredited + in.uncredited > kMaxInboxBytesPerPeer) {
      return peers_.CutOff(p, CutOffReason::kInboxFull,
                           "more than " + std::to_string(kMaxInboxBytesPerPeer) +
                               " bytes of uncredited events waiting");
    }
    if (b.push() && inbox_uncredited_ + in.uncredited > kMaxInboxBytes) {
      stats_.pushes_refused += in.events.size();  // anti-entropy brings them again
      return;
    }
    p.inbox.uncredited += in.uncredited;
    inbox_uncredited_ += in.uncredited;
  }
  inbox_bytes_ += in.bytes;
  inbox_.push_back(std::move(in));
  if (!schedule_flush_) {
    Flush();
  } else if (!flush_scheduled_) {
    flush_scheduled_ = true;
    schedule_flush_();
  }
}

bool Pipeline::ChargeDuplicates(Peer& p, std::size_t bytes) {
  using std::chrono::milliseconds;
  const auto now = clock_();
  auto& in = p.inbox;
  if (!in.allowance_at) {
    in.allowance = kDuplicateAllowanceBytes;
    in.allowance_at = now;
  } else if (now > *in.allowance_at) {
    // Whole milliseconds only, and the clock mark moves by what was counted: frequent charges
    // do not lose the refill between them.
    const std::int64_t ms =
        std::chrono::duration_cast<milliseconds>(now - *in.allowance_at).count();
    in.allowance = std::min(kDuplicateAllowanceBytes,
                            in.allowance + ms * kDuplicateRefillBytesPerSecond / 1000);
    *in.allowance_at += milliseconds(ms);
  }
  in.allowance -= static_cast<std::int64_t>(bytes);
  if (in.allowance >= 0) return true;
  peers_.CutOff(p, CutOffReason::kDuplicates,
                "sent more events this replica holds than its allowance (" +
                    std::to_string(kDuplicateAllowanceBytes) + " bytes, refilled at " +
                    std::to_string(kDuplicateRefillBytesPerSecond) + " bytes/s)");
  return false;
}

std::shared_ptr<Pipeline::Job> Pipeline::TakeInbox() {
  // Whole received batches, in arrival order, up to about kGroupBytes.
  auto job = std::make_shared<Job>();
  std::size_t bytes = 0;
  while (!inbox_.empty() && (job->events.empty() || bytes < kGroupBytes)) {
    Inbound& in = inbox_.front();
    for (auto& e : in.events) {
      bytes += e.size();
      job->from.push_back(in.from);
      job->push.push_back(in.push);
      job->events.push_back(std::move(e));
    }
    if (in.credit > 0) job->credits.push_back(CreditDue{in.from, in.credit});
    inbox_bytes_ -= in.bytes;
    if (in.uncredited > 0) {
      inbox_uncredited_ -= in.uncredited;
      if (Peer* p = peers_.Find(in.from)) {
        p->inbox.uncredited -= std::min(p->inbox.uncredited, in.uncredited);
      }
    }
    inbox_.pop_front();
  }
  job->now_ms = now_ms_ ? now_ms_() : 0;
  return job;
}

void Pipeline::Flush() {
  flush_scheduled_ = false;
  // While a group is being verified elsewhere, what arrives waits: groups commit in the order
  // they arrived, and the verification's completion flushes again.
  while (!verifying_ && !inbox_.empty()) {
    auto job = TakeInbox();
    if (Offloadable(*job)) {
      VerifyElsewhere(std::move(job));
    } else {
      VerifyHere(*job);
      Commit(*job);
    }
  }
}

bool Pipeline::Offloadable(const Job& job) const {
  return offload_ && job.events.size() >= kOffloadMinEvents;
}

void Pipeline::VerifyHere(Job& job) {
  // The stateless half of the gate (parse, checks, signature, id) on every core; the stateful
  // half (Commit) on this thread, in one transaction.
  job.decoded = rulebook::DecodeBatch(job.events, job.now_ms, Cores());
}

void Pipeline::VerifyElsewhere(std::shared_ptr<Job> job) {
  // Pipeline: this group is verified on another thread (and every core) while this thread goes
  // on receiving and commits the group before it.
  verifying_ = true;
  ++stats_.batches_offloaded;
  offload_([job] { job->decoded = rulebook::DecodeBatch(job->events, job->now_ms, Cores()); },
           [this, job, alive = std::weak_ptr<bool>(alive_)] {
             if (!alive.lock()) return;  // the syncer is gone; the group was never credited
             verifying_ = false;
             // The next group starts its verification before this one commits (they overlap);
             // a group too small to send away is verified after this one commits, to keep the
             // order.
             std::shared_ptr<Job> next;
             if (!inbox_.empty()) {
               next = TakeInbox();
               if (Offloadable(*next)) {
                 VerifyElsewhere(std::move(next));
                 next.reset();
               }
             }
             Commit(*job);
             if (next) {
               VerifyHere(*next);
               Commit(*next);
             }
             Flush();
           });
}

void Pipeline::Commit(Job& job) {
  auto results = store_.IngestDecoded(std::move(job.decoded), job.now_ms);
  job.decoded.clear();
  if (!results) {
    // Our own failure (disk, database): nothing was stored; the senders are not to blame, and
    // anti-entropy brings the events again.
    for (const auto& c : job.credits) {
      if (Peer* p = peers_.Find(c.to)) p->link->Close("replica error: " + results.error().message);
    }
    return;
  }
  ++stats_.batches_committed;
  std::size_t stored = 0;
  std::map<PeerId, std::string> hostile;
  std::set<PeerId> prune;
  std::map<PeerId, std::size_t> duplicate_bytes;
  std::map<PeerId, std::set<MemberKey>> graft;
  for (std::size_t i = 0; i < results->size(); ++i) {
    const Ingested& r = (*results)[i];
    const PeerId from = job.from[i];
    Peer* p = peers_.Find(from);
    switch (r.outcome) {
      case IngestOutcome::kRefused:
        ++stats_.refused;
        ++stats_.refused_by_reason[r.refusal ? rulebook::ToString(r.refusal->code) : "unknown"];
        if (r.refusal && Hostile(r.refusal->code) && !hostile.count(from)) {
          hostile[from] =
              std::string(rulebook::ToString(r.refusal->code)) + ": " + r.refusal->message;
        }
        continue;
      case IngestOutcome::kDuplicate:
        ++stats_.duplicates;
        duplicate_bytes[from] += job.events[i].size();
        if (p) Advance(p->known, r.author, r.seq, r.id);
        // A pushed copy of what we already hold: another peer delivers this author's events
        // first, so this one may stop pushing them (Scuttlebutt's epidemic broadcast trees).
        if (p && job.push[i]) prune.insert(from);  // the whole link: see PushTree::OnAuthors
        continue;
      case IngestOutcome::kEquivocation: holdings_.Forked(r.author, r.seq, r.id); break;
      case IngestOutcome::kStored: holdings_.Stored(r.author, r.seq, r.id); break;
    }
    ++stored;
    ++stats_.events_stored;
    if (hooks_.on_event_stored) hooks_.on_event_stored(r.id, job.events[i].size());
    if (p) Advance(p->known, r.author, r.seq, r.id);
    // New to us yet not pushed: repair found a gap in the push tree; have this peer push the
    // author's events to us again.
    if (p && !job.push[i]) {
      graft[from].insert(r.author);
      catch_up_.Delivered(*p);
    }
    push_.Push(from, job.events[i], r.author, r.seq, r.id);
  }
  // The pending set's bounds may have evicted events (this batch's or older ones): the store
  // no longer holds them, so the vector must not claim them, or no peer would send them again.
  for (const auto& [author, n] : store_.TakeEvicted()) holdings_.Evicted(store_, author, n);
  for (const auto& [id, bytes] : duplicate_bytes) {
    Peer* p = peers_.Find(id);
    if (p && !hostile.count(id) && !ChargeDuplicates(*p, bytes)) hostile[id].clear();
  }
  // Committed: each sender of a catch-up batch may send as much again.
  for (const auto& c : job.credits) {
    Peer* p = peers_.Find(c.to);
    if (p && !hostile.count(c.to)) catch_up_.Return(*p, c.bytes);
  }
  for (PeerId id : prune) {
    if (!hostile.count(id)) push_.PruneAfterDuplicate(id);
  }
  for (const auto& [id, authors] : graft) {
    if (!hostile.count(id)) push_.Graft(id, authors);
  }
  if (stored > 0 && hooks_.on_stored) hooks_.on_stored(stored);
  for (const auto& [id, why] : hostile) {
    if (why.empty()) continue;  // cut off already (duplicates)
    if (Peer* p = peers_.Find(id)) {
      peers_.CutOff(*p, CutOffReason::kInvalidEvent, "sent an invalid event (" + why + ")");
    }
  }
  catch_up_.PickSource();
  if (hooks_.on_progress) hooks_.on_progress();
}

}  // namespace polder::sync
