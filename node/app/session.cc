#include "node/app/session.h"

#include <cstdlib>
#include <limits>

#include "crypto/key_file.h"
#include "crypto/member_id.h"
#include "node/api/client.h"
#include "storage/rulebook/kind.h"
#include "storage/rulebook/refusal.h"
#include "storage/rulebook/sign.h"

namespace polder::app {

std::int64_t NowMs() {
  if (const char* fake = std::getenv("POLDER_FAKE_NOW_MS"); fake && *fake) {
    return std::strtoll(fake, nullptr, 10);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<Session> Session::Open(const Home& home, const SessionOptions& opt) {
  Session s(home);
  if (auto c = home.Create(); !c) return Unexpected<Error>{c.error()};
  if (opt.write && opt.allow_remote) {
    if (auto client = api::ApiClient::Find(home.api_files())) {
      s.remote_ = std::make_shared<api::ApiClient>(*client);
    }
  }
  if (opt.write && !s.remote_) {
    auto lock = HomeLock::Acquire(home, std::chrono::seconds(10));
    if (!lock) return Unexpected<Error>{lock.error()};
    s.lock_.emplace(std::move(*lock));
  }
  if (home.HasIdentity()) {
    auto key = crypto::LoadKeyFile(home.key_file());
    if (!key) return Unexpected<Error>{key.error()};
    s.key_.emplace(std::move(*key));
  } else if (opt.need_identity) {
    return Fail(Errc::kNotFound, "no identity in " + home.dir().string() +
                                     "; run `polder init --name NAME --org ORG` first");
  }
  auto replica = storage::Replica::Open(home.replica_file());
  if (!replica) return Unexpected<Error>{replica.error()};
  s.replica_ = std::move(*replica);
  if (s.key_ && opt.write && !s.remote_) {
    if (auto r = s.ReplayOwnLog(); !r) return Unexpected<Error>{r.error()};
  }
  return s;
}

namespace {

// The highest sequence number among the own log's records, and the circle they belong to.
std::uint64_t MaxSeq(const std::vector<Bytes>& events, std::optional<CircleId>* circle) {
  std::uint64_t max = 0;
  for (const auto& ev : events) {
    v1::SignedEvent env;
    v1::EventBody body;
    if (!env.ParseFromArray(ev.data(), static_cast<int>(ev.size())) ||
        !body.ParseFromString(env.body())) {
      continue;
    }
    max = std::max<std::uint64_t>(max, body.seq());
    if (circle && !*circle) *circle = CircleId::FromBytes(AsBytes(body.circle_id()));
  }
  return max;
}

// Events of the member's key up to `held` are held, and the own log ends at `logged`.
std::string ForeignEvents(std::uint64_t held, std::uint64_t logged) {
  return "events signed with your key up to seq " + std::to_string(held) +
         " are held here that this home did not write (its own log ends at seq " +
         std::to_string(logged) +
         "). Is your identity.key also on another machine? Two machines signing with one key "
         "fork your log, and a forked log counts for nothing from the fork on, so this home "
         "stops writing. Never copy identity.key: stop using it elsewhere. If instead you "
         "restored this home from a backup and no other machine has the key, run `polder "
         "restored` to continue after seq " +
         std::to_string(held) +
         ". To use Polder on several machines, give each its own key: run `polder init` on the "
         "other machine and `polder device link ITS-ID` here (docs/cli.md, devices)";
}

}  // namespace

Status Session::ReplayOwnLog() {
  auto events = own_log_.ReadAll();
  if (!events) return Unexpected<Error>{events.error()};
  std::optional<CircleId> circle;
  own_log_max_seq_ = MaxSeq(*events, &circle);
  if (events->empty()) return {};
  auto own = replica_->state().OwnLog(key_->public_key());
  if (!own) return Unexpected<Error>{own.error()};
  // Most runs find nothing to do: the replica already holds everything the own log holds.
  if (own->head_seq >= own_log_max_seq_) return {};
  // These are our own signed events: the clock rule (which guards against other nodes' clocks)
  // must not stop them, or a clock stepped back would make us sign a second event at their seq.
  storage::IngestOptions opt(std::numeric_limits<std::int64_t>::max() / 4);
  if (!replica_->circle()) opt.adopt_circle = circle;
  auto results = replica_->Ingest(*events, opt);
  if (!results) return Unexpected<Error>{results.error()};
  std::size_t restored = 0;
  for (const auto& r : *results) restored += r.outcome == storage::Outcome::kApplied;
  if (restored > 0) {
    notes_.push_back("restored " + std::to_string(restored) +
                     " of your own events from the own log (the replica had lost them)");
  }
  return {};
}

Result<Session::Authored> Session::Author(const std::function<void(v1::EventBody&)>& fill) {
  if (!key_) return Fail(Errc::kNotFound, "no identity");
  if (!remote_ && replica_->circle()) {
    // A device's first event is its claim naming the member it acts for; written here, before
    // the device's first act, once a member's link to it is held.
    const MemberKey& me = key_->public_key();
    if (!replica_->state().IsMember(me)) {
      if (const auto linker = replica_->state().LinkedBy(me)) {
        auto own = replica_->state().OwnLog(me);
        if (own && own->max_seen_seq == 0 && own_log_max_seq_ == 0) {
          MemberKey member = *linker;
          if (auto settings = ReadNodeSettings(home_); settings && !settings->device_of.empty()) {
            if (auto k = crypto::ParseMemberId(settings->device_of)) member = *k;
          }
          auto claim = AuthorHere(
              [&](v1::EventBody& b) { b.mutable_device_claim()->set_member(member.str()); });
          if (!claim) return claim;
          auto a = AuthorHere(fill);
          if (a) a->before.emplace_back(claim->id, claim->seq);
          return a;
        }
      }
    }
  }
  return AuthorHere(fill);
}

Result<Session::Authored> Session::AuthorHere(const std::function<void(v1::EventBody&)>& fill) {
  if (remote_) {
    // The node holds the lock and the own log: it numbers, signs and stores the event.
    v1::EventBody body;
    if (auto c = replica_->circle()) body.set_circle_id(c->str());
    body.set_timestamp_ms(NowMs());
    fill(body);
    auto r = remote_->Author(body);
    if (!r) return Unexpected<Error>{r.error()};
    auto id = FromHex(r->event_id());
    if (!id || id->size() != 32) return Fail(Errc::kInternal, "node answered a malformed id");
    Authored a;
    a.id = *EventId::FromBytes(*id);
    a.seq = r->seq();
    a.kind = r->kind();
    return a;
  }
  const auto circle = replica_->circle();
  auto own = replica_->state().OwnLog(key_->public_key());
  if (!own) return Unexpected<Error>{own.error()};
  if (own_log_max_seq_ > own->head_seq) {
    // An event of ours reached the own log but not the replica (its commit failed: a full disk,
    // an I/O error): it is signed, so it goes in first, or the next event would take its seq.
    if (Status s = ReplayOwnLog(); !s) return Unexpected<Error>{s.error()};
    own = replica_->state().OwnLog(key_->public_key());
    if (!own) return Unexpected<Error>{own.error()};
  }
  if (own->forked) {
    return Fail(Errc::kRefused,
                "your own log is forked (two different events at one sequence number); the circle "
                "has frozen it and new events would not count");
  }
  if (own_log_max_seq_ > own->head_seq) {
    return Fail(Errc::kRefused, "your own log holds events up to seq " +
                                    std::to_string(own_log_max_seq_) + " but only " +
                                    std::to_string(own->head_seq) +
                                    " are applied here (see `polder status`); writing now would "
                                    "fork your own log");
  }
  if (own->max_seen_seq > own->head_seq) {
    return Fail(Errc::kRefused,
                "your log is behind: events of yours up to seq " +
                    std::to_string(own->max_seen_seq) + " exist but only " +
                    std::to_string(own->head_seq) +
                    " are applied here; import the missing events before writing, or you would "
                    "fork your own log");
  }
  if (own->max_seen_seq > own_log_max_seq_) {
    // Early warning: signing now would most likely fork this member's log.
    return Fail(Errc::kRefused, ForeignEvents(own->max_seen_seq, own_log_max_seq_));
  }
  v1::EventBody body;
  if (circle) body.set_circle_id(circle->str());
  body.set_author(key_->public_key().str());
  body.set_seq(own->head_seq + 1);
  if (own->head_id) body.set_prev(own->head_id->str());
  // Never earlier than the previous event, so a clock that stepped back cannot break the log.
  const std::int64_t now = NowMs();
  body.set_timestamp_ms(std::max(now, own->head_ts));
  fill(body);
  // Founding: the charter names its own circle id, and the replica joins that circle only if
  // the charter is applied.
  const bool founding = !circle && body.payload_case() == v1::EventBody::kCharter;
  if (founding) rulebook::BindCharter(body);  // the circle id names this charter
  if (!circle && !founding) {
    return Fail(
        Errc::kInvalidArgument,
        "this replica belongs to no circle yet: run `polder circle create` or import a bundle");
  }
  if (body.payload_case() != v1::EventBody::kCharter &&
      !replica_->state().IsMember(key_->public_key()) &&
      !replica_->state().LinkedBy(key_->public_key())) {
    return Fail(Errc::kRefused,
                "you are not a member of this circle yet: ask a member to run "
                "`polder admit " +
                    crypto::FormatMemberId(key_->public_key()) + "` and import their export");
  }
  EventId id;
  const Bytes bytes = rulebook::Sign(*key_, body, &id);
  storage::IngestOptions opt{now};
  if (founding) opt.adopt_circle = CircleId::FromBytes(AsBytes(body.circle_id()));
  auto r = replica_->IngestAuthored(bytes, opt, [&]() -> Status {
    if (Status s = own_log_.Append(bytes); !s) return s;
    // Signed and durable from here on, whether or not the replica's commit succeeds.
    own_log_max_seq_ = std::max(own_log_max_seq_, body.seq());
    return after_own_log_append_ ? after_own_log_append_() : Status{};
  });
  if (!r) return Unexpected<Error>{r.error()};
  // Awaiting: in the log, its effect waiting for an event it refers to that this replica does not
  // hold yet (or whose author forked): it is written, and counts once that event does.
  if (r->outcome != storage::Outcome::kApplied && r->outcome != storage::Outcome::kAwaiting) {
    if (r->refusal) {
      return Fail(Errc::kRefused,
                  std::string(rulebook::ToString(r->refusal->code)) + ": " + r->refusal->message);
    }
    return Fail(Errc::kRefused, std::string("event not applied (") + storage::ToString(r->outcome) +
                                    (r->waiting_for.empty() ? "" : ": " + r->waiting_for) + ")");
  }
  return Authored{id, body.seq(), rulebook::KindName(body.payload_case()), {}};
}

Result<std::uint64_t> Session::AdoptHeldOwnEvents() {
  if (!key_) return Fail(Errc::kNotFound, "no identity");
  if (remote_) {
    return Fail(Errc::kUnavailable,
                "your node is running for this home: stop it, run this again, then start it");
  }
  auto own = replica_->state().OwnLog(key_->public_key());
  if (!own) return Unexpected<Error>{own.error()};
  if (own->forked) {
    return Fail(Errc::kRefused,
                "your log is forked: the events of yours held here are already two versions");
  }
  if (own->max_seen_seq > own->head_seq) {
    return Fail(Errc::kRefused, "events of yours up to seq " + std::to_string(own->max_seen_seq) +
                                    " exist but only " + std::to_string(own->head_seq) +
                                    " are applied here: import the missing ones first");
  }
  if (own->head_seq <= own_log_max_seq_) return std::uint64_t{0};
  const std::uint64_t from = own_log_max_seq_ + 1;
  auto events = replica_->events().EventsOf(key_->public_key(), from, own->head_seq - from + 1);
  if (!events) return Unexpected<Error>{events.error()};
  for (const auto& ev : *events) {
    if (Status s = own_log_.Append(ev); !s) return Unexpected<Error>{s.error()};
  }
  own_log_max_seq_ = own->head_seq;
  return static_cast<std::uint64_t>(events->size());
}

std::vector<std::string> Session::Warnings() {
  std::vector<std::string> out;
  if (!key_) {
    out.push_back("no identity in this home (run `polder init`)");
    return out;
  }
  auto own = replica_->state().OwnLog(key_->public_key());
  if (own && own->forked)
    out.push_back("your own log is FORKED: two different events share a sequence number");
  if (own && own->max_seen_seq > own->head_seq) {
    out.push_back("your log is BEHIND: events of yours up to seq " +
                  std::to_string(own->max_seen_seq) + " have been seen but only " +
                  std::to_string(own->head_seq) +
                  " are applied; import the missing ones before writing");
  }
  auto logged = own_log_.ReadAll();
  const std::uint64_t logged_max = logged ? MaxSeq(*logged, nullptr) : 0;
  if (own && own->max_seen_seq > logged_max) {
    out.push_back(ForeignEvents(own->max_seen_seq, logged_max));
  }
  if (own && logged_max > own->head_seq) {
    out.push_back("the own log holds your events up to seq " + std::to_string(logged_max) +
                  " but the replica only " + std::to_string(own->head_seq) +
                  "; run any writing command to restore them");
  }
  // (A device a member linked is no member itself: it writes for that member.)
  if (replica_->circle() && !replica_->state().IsMember(key_->public_key()) &&
      !replica_->state().LinkedBy(key_->public_key())) {
    out.push_back("you are not a member of this circle yet");
  }
  return out;
}

}  // namespace polder::app
