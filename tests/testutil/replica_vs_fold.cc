#include "tests/testutil/replica_vs_fold.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "crypto/identity.h"
#include "node/decide/fold.h"
#include "storage/replica.h"
#include "storage/rulebook/decode.h"
#include "storage/rulebook/sign.h"

namespace polder::testutil {
namespace {

constexpr int kKeys = 6;                // key 0 founds the circle; key 5 starts a stranger
constexpr std::size_t kMaxEvents = 48;  // per case (each costs signatures and two ingests)
constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kNow = kT0 + 1'000'000'000;  // every event is in the past

void Charter(v1::EventBody& b, const std::string& salt, const std::string& name) {
  auto* c = b.mutable_charter();
  c->set_name(name);
  c->set_purpose("differential");
  c->set_unit("EUR");
  c->set_salt(salt);
  c->mutable_founder()->set_name("f");
  c->mutable_founder()->set_organisation("org0");
}

struct World {
  std::vector<crypto::SigningKey> keys;
  std::string salt = std::string(16, 'd');
  CircleId circle;  // named by `charter`, key 0's seq 1 at kT0
  Bytes charter;
  EventId charter_id;
  // `partners`: the charter lists keys 3 (org1) and 4 (org2) as founding partners.
  explicit World(bool partners) {
    for (int i = 0; i < kKeys; ++i) {
      Bytes seed(32, static_cast<std::uint8_t>(0x40 + i));
      keys.push_back(*crypto::SigningKey::FromSeed(seed));
    }
    v1::EventBody b;
    b.set_author(keys[0].public_key().str());
    b.set_seq(1);
    b.set_timestamp_ms(kT0);
    Charter(b, salt, "circle");
    if (partners) {
      auto* c = b.mutable_charter();
      c->mutable_rules()->add_organisations("org1");
      c->mutable_rules()->add_organisations("org2");
      std::vector<std::pair<std::string, std::string>> listed = {
          {keys[3].public_key().str(), "org1"}, {keys[4].public_key().str(), "org2"}};
      std::sort(listed.begin(), listed.end());
      for (const auto& [key, org] : listed) {
        auto* p = c->add_partners();
        p->set_member(key);
        p->mutable_info()->set_name("partner");
        p->mutable_info()->set_organisation(org);
      }
    }
    circle = rulebook::BindCharter(b);
    charter = rulebook::Sign(keys[0], b, &charter_id);
  }
};

const World& TheWorld(bool partners) {
  static const World plain(false), with(true);
  return partners ? with : plain;
}

class Builder {
 public:
  explicit Builder(DiffCase& out) : out_(out), w_(TheWorld(out.partners)) {}

  // Signs an event of key `a`. `seq` 0: the author's next; otherwise at that seq (linked to the
  // author's event before it), without moving the author's chain.
  EventId Emit(int a, const std::function<void(v1::EventBody&)>& fill, bool deliver = true,
               std::uint64_t seq = 0, std::int64_t ts = 0) {
    Chain& c = chains_[a];
    const bool advance = seq == 0;
    if (advance) seq = c.seq + 1;
    v1::EventBody b;
    b.set_circle_id(w_.circle.str());
    b.set_author(w_.keys[a].public_key().str());
    b.set_seq(seq);
    if (seq > 1) b.set_prev(seq - 2 < c.ids.size() ? c.ids[seq - 2].str() : std::string(32, 'z'));
    t_ += 10;
    b.set_timestamp_ms(ts > 0 ? ts : t_);
    fill(b);
    EventId id;
    Bytes bytes = rulebook::Sign(w_.keys[a], b, &id);
    if (advance) {
      c.seq = seq;
      c.ids.push_back(id);
      c.ts = b.timestamp_ms();
    }
    refs_.push_back(id);
    if (deliver) out_.events.push_back(std::move(bytes));
    return id;
  }

  // The circle's charter, key 0's seq 1.
  void Found() {
    chains_[0] = {1, {w_.charter_id}, kT0};
    refs_.push_back(w_.charter_id);
    out_.events.push_back(w_.charter);
  }

  const EventId& Ref(std::uint8_t x) const { return refs_[x % refs_.size()]; }
  std::int64_t now() const { return t_; }
  const World& world() const { return w_; }

  struct Chain {
    std::uint64_t seq = 0;
    std::vector<EventId> ids;  // ids[seq - 1]
    std::int64_t ts = 0;
  };
  Chain& chain(int a) { return chains_[a]; }

 private:
  DiffCase& out_;
  const World& w_;
  Chain chains_[kKeys];
  std::vector<EventId> refs_;
  std::int64_t t_ = kT0;
};

}  // namespace

DiffCase MakeDiffCase(ByteView script, bool partners) {
  DiffCase out;
  out.partners = partners;
  Builder b(out);
  const World& w = b.world();
  b.Found();
  std::size_t pos = 0;
  auto next = [&]() -> std::uint8_t { return pos < script.size() ? script[pos++] : 0; };
  auto key = [&](int i) { return w.keys[i].public_key().str(); };
  std::vector<EventId> seals;  // every seal emitted so far: bases for later ones
  while (pos < script.size() && out.events.size() < kMaxEvents) {
    const int op = next() % 19;
    const int a = next() % kKeys;
    const std::uint8_t x = next();
    std::string what =
        "op" + std::to_string(op) + " by " + std::to_string(a) + " x" + std::to_string(x);
    switch (op) {
      case 0:
        b.Emit(a, [&](v1::EventBody& e) {
          e.mutable_admit()->set_member(key(x % kKeys));
          e.mutable_admit()->mutable_info()->set_name("m" + std::to_string(x % 7));
          e.mutable_admit()->mutable_info()->set_organisation("org" + std::to_string(x / 6 % 3));
        });
        what = "admit " + std::to_string(x % kKeys) + " by " + std::to_string(a);
        break;
      case 1:
        b.Emit(a, [&](v1::EventBody& e) {
          auto* p = e.mutable_proposal();
          p->set_title("p" + std::to_string(x));
          p->set_deadline_ms(e.timestamp_ms() + 1 + (x % 4) * 10);
          if (x & 0x80) {
            p->mutable_rules()->set_quorum_bps(2500 * (1 + x % 3));
          } else {
            p->set_amount_minor(100 + x);
          }
        });
        break;
      case 2:
        b.Emit(a, [&](v1::EventBody& e) {
          e.mutable_vote()->set_proposal(b.Ref(x).str());
          e.mutable_vote()->set_choice(static_cast<v1::Choice>(1 + x % 3));
        });
        break;
      case 3:
        b.Emit(a, [&](v1::EventBody& e) {
          auto* f = e.mutable_risk_flag();
          f->set_proposal(b.Ref(x).str());
          f->set_severity(static_cast<v1::Severity>(1 + x % 5));
          f->set_category("c");
          f->set_rationale("r");
        });
        break;
      case 4:
        b.Emit(a, [&](v1::EventBody& e) {
          auto* r = e.mutable_flag_resolution();
          r->set_flag(b.Ref(x).str());
          r->set_kind(static_cast<v1::FlagResolution::Kind>(1 + x % 3));
          if (r->kind() == v1::FlagResolution::ANSWER) r->set_mitigation("m");
        });
        break;
      case 5:
        b.Emit(a, [&](v1::EventBody& e) { e.mutable_endorsement()->set_proposal(b.Ref(x).str()); });
        break;
      case 6:
        b.Emit(a, [&](v1::EventBody& e) {
          if (x & 1) e.mutable_comment()->set_target(b.Ref(x / 2).str());
          e.mutable_comment()->set_text("c");
        });
        break;
      case 7:
        b.Emit(a, [&](v1::EventBody& e) {
          auto* d = e.mutable_delegation();
          if (x % 7 == 6) {
            d->set_revoke(true);
          } else {
            d->set_delegate(key((x % kKeys == a) ? (a + 1) % kKeys : x % kKeys));
          }
          if (x & 8) d->set_topic("t");
        });
        break;
      case 8:
        b.Emit(a, [&](v1::EventBody& e) { e.mutable_withdraw()->set_proposal(b.Ref(x).str()); });
        break;
      case 9:
        seals.push_back(b.Emit(a, [&](v1::EventBody& e) {
          auto* s = e.mutable_seal();
          s->set_deadline_ms(std::max<std::int64_t>(1, e.timestamp_ms() - 1 - x % 50));
          // Now and then on an earlier seal (of this deadline or not, itself on a base or not),
          // listing only some authors.
          const bool on_base = !seals.empty() && x % 3 == 1;
          if (on_base) s->set_base(seals[x % seals.size()].str());
          std::vector<std::tuple<std::string, std::uint64_t, std::string>> heads;
          for (int k = 0; k < kKeys; ++k) {
            const auto& c = b.chain(k);
            if (c.seq == 0 || (on_base && (x >> (k % 8)) % 2)) continue;
            const std::uint64_t seq = 1 + x % c.seq;
            // Now and then a head this script never wrote (a sealer lying about what it holds).
            heads.emplace_back(key(k), seq,
                               x % 13 == 5 ? std::string(32, 'x') : c.ids[seq - 1].str());
          }
          std::sort(heads.begin(), heads.end());
          for (const auto& [author, seq, head] : heads) {
            auto* h = s->add_heads();
            h->set_author(author);
            h->set_seq(seq);
            h->set_head(head);
          }
        }));
        break;
      case 10: {
        // An equivocation: a second event at an old (or the current) seq of `a`'s log.
        const std::uint64_t seq = 1 + x % std::max<std::uint64_t>(1, b.chain(a).seq);
        b.Emit(
            a,
            [&](v1::EventBody& e) {
              // At key 0's seq 1 (the charter's place): another charter cannot name this
              // circle, so anything else there is not of the circle.
              if (a == 0 && seq == 1 && x % 2) {
                Charter(e, w.salt, "second charter " + std::to_string(x));
              } else {
                e.mutable_comment()->set_text("other version " + std::to_string(x));
              }
            },
            true, seq);
        what = "fork " + std::to_string(a) + " at seq " + std::to_string(seq);
        break;
      }
      case 11:  // never delivered: a gap in `a`'s log that does not fill
        b.Emit(
            a, [&](v1::EventBody& e) { e.mutable_comment()->set_text("lost"); }, false);
        what = "lost event of " + std::to_string(a);
        break;
      case 12: {  // a timestamp earlier than the author's previous event
        const std::int64_t ts = std::max<std::int64_t>(1, b.chain(a).ts - 1 - x);
        b.Emit(
            a, [&](v1::EventBody& e) { e.mutable_comment()->set_text("early"); }, true, 0, ts);
        break;
      }
      case 13:  // a reference nobody holds
        b.Emit(a, [&](v1::EventBody& e) {
          e.mutable_vote()->set_proposal(std::string(31, '\xee') + static_cast<char>(x));
          e.mutable_vote()->set_choice(v1::FOR);
        });
        break;
      case 14:  // the same event delivered twice
        out.events.push_back(out.events[x % out.events.size()]);
        what = "duplicate";
        break;
      case 15:
        b.Emit(kKeys - 1, [&](v1::EventBody& e) { e.mutable_comment()->set_text("stranger?"); });
        break;
      case 16: {  // `a` links a device
        const int d = x % kKeys == a ? (a + 1) % kKeys : x % kKeys;
        b.Emit(a, [&](v1::EventBody& e) { e.mutable_device_link()->set_device(key(d)); });
        what = "link device " + std::to_string(d) + " by " + std::to_string(a);
        break;
      }
      case 17: {  // `a`'s seq-1 claim to be a device of a member (a fork when `a` wrote before)
        const int m = x % kKeys == a ? (a + 1) % kKeys : x % kKeys;
        const bool fresh = b.chain(a).seq == 0;
        b.Emit(
            a, [&](v1::EventBody& e) { e.mutable_device_claim()->set_member(key(m)); }, true,
            fresh ? 0 : 1);
        what = "claim " + std::to_string(a) + " device of " + std::to_string(m) +
               (fresh ? "" : " (fork at seq 1)");
        break;
      }
      case 18: {  // `a` revokes a device, naming its last counted seq
        const int d = x % kKeys == a ? (a + 1) % kKeys : x % kKeys;
        const std::uint64_t last = (x / kKeys) % (b.chain(d).seq + 1);
        b.Emit(a, [&](v1::EventBody& e) {
          e.mutable_device_link()->set_device(key(d));
          e.mutable_device_link()->set_revoke(true);
          e.mutable_device_link()->set_last_seq(last);
        });
        what = "revoke device " + std::to_string(d) + " by " + std::to_string(a) + " after seq " +
               std::to_string(last);
        break;
      }
    }
    out.script.push_back(what);
  }
  // A second arrival order and the batch sizes, from the script itself.
  std::uint32_t seed = 17;
  for (auto c : script) seed = seed * 31 + c;
  std::mt19937 rng(seed);
  out.order.resize(out.events.size());
  for (std::size_t i = 0; i < out.order.size(); ++i) out.order[i] = i;
  std::shuffle(out.order.begin(), out.order.end(), rng);
  for (auto* chunks : {&out.chunks_a, &out.chunks_b}) {
    std::size_t total = 0;
    while (total < out.events.size()) {
      chunks->push_back(1 + rng() % 8);
      total += chunks->back();
    }
  }
  return out;
}

namespace {

// kNotOfCircle: another event at the founder's seq 1 (refused, or dropped when the charter came).
enum class Fate { kApplied, kVoid, kAwaiting, kPending, kFrozenOrRefusedForked, kNotOfCircle };

const char* Word(Fate f) {
  switch (f) {
    case Fate::kApplied: return "applied";
    case Fate::kVoid: return "void";
    case Fate::kAwaiting: return "awaiting";
    case Fate::kPending: return "pending";
    case Fate::kFrozenOrRefusedForked: return "frozen";
    case Fate::kNotOfCircle: return "not of the circle";
  }
  return "?";
}

struct Ingested {
  std::map<EventId, Fate> fate;
  std::optional<Digest32> digest;
  std::string problem;
};

Ingested Ingest(const DiffCase& c, const std::vector<std::size_t>& order,
                const std::vector<std::size_t>& chunks) {
  Ingested out;
  auto opened = storage::Replica::Open(":memory:");
  if (!opened) return {{}, {}, "open: " + opened.error().message};
  auto& r = **opened;
  if (!r.SetCircle(TheWorld(c.partners).circle)) return {{}, {}, "set circle"};
  const storage::IngestOptions opt(kNow);
  std::set<EventId> seen;  // stored at some point
  std::size_t at = 0;
  for (std::size_t n : chunks) {
    std::vector<Bytes> batch;
    for (; n > 0 && at < order.size(); --n, ++at) batch.push_back(c.events[order[at]]);
    if (batch.empty()) break;
    auto results = r.Ingest(batch, opt);
    if (!results) return {{}, {}, "ingest: " + results.error().message};
    for (const auto& res : *results) {
      if (res.outcome != storage::Outcome::kRefused) {
        seen.insert(res.id);
        continue;
      }
      const auto code = res.refusal ? std::optional(res.refusal->code) : std::nullopt;
      if (code == rulebook::RefusalCode::kForkedAuthor) {
        out.fate[res.id] = Fate::kFrozenOrRefusedForked;
      } else if (code == rulebook::RefusalCode::kNotTheCharter) {
        out.fate[res.id] = Fate::kNotOfCircle;
      } else if (code == rulebook::RefusalCode::kBadCharter) {
        // A charter that does not name this circle: Decode refuses it (skipped for the fold).
      } else {
        out.problem += "refused " + res.id.hex().substr(0, 8) + ": " +
                       (res.refusal ? res.refusal->message : "?") + "\n";
      }
    }
  }
  (void)r.events().ForEachState([&](const storage::StoredEventState& s) {
    switch (s.state) {
      case storage::EventState::kApplied: out.fate[s.id] = Fate::kApplied; break;
      case storage::EventState::kVoid: out.fate[s.id] = Fate::kVoid; break;
      case storage::EventState::kAwaiting: out.fate[s.id] = Fate::kAwaiting; break;
      case storage::EventState::kPending: out.fate[s.id] = Fate::kPending; break;
      case storage::EventState::kFrozen: out.fate[s.id] = Fate::kFrozenOrRefusedForked; break;
    }
  });
  // Stored once, gone now: dropped from the founder's seq 1 when the charter came.
  for (const auto& id : seen) out.fate.emplace(id, Fate::kNotOfCircle);
  auto digest = r.StateDigest();
  if (!digest) return {{}, {}, "digest: " + digest.error().message};
  out.digest = *digest;
  auto verified = r.Verify();
  if (!verified || !verified->derived_state_matches || !verified->problems.empty()) {
    out.problem += "verify: the derived state does not match a rebuild\n";
  }
  return out;
}

}  // namespace

std::string CheckDiffCase(const DiffCase& c) {
  std::vector<std::size_t> in_order(c.events.size());
  for (std::size_t i = 0; i < in_order.size(); ++i) in_order[i] = i;
  const Ingested a = Ingest(c, in_order, c.chunks_a);
  const Ingested b = Ingest(c, c.order, c.chunks_b);
  std::string diff = a.problem + b.problem;

  // The fold, over every event that decodes (each once, in the second order).
  std::vector<decide::FoldEvent> fold_in;
  std::set<EventId> seen;
  for (std::size_t i : c.order) {
    auto d = rulebook::Decode(c.events[i], kNow);
    if (!d && d.error().code == rulebook::RefusalCode::kBadCharter) continue;  // not this circle's
    if (!d) {
      diff += "decode refused event " + std::to_string(i) + ": " + d.error().message + "\n";
      continue;
    }
    if (seen.insert(d->id).second) fold_in.push_back({d->id, std::move(d->body)});
  }
  const decide::CircleState st = decide::Fold(fold_in);
  std::map<EventId, Fate> fold;
  for (const auto& e : fold_in) fold[e.id] = Fate::kApplied;
  for (const auto& ig : st.ignored) {
    switch (ig.reason) {
      case decide::Ignored::kVoid: fold[ig.event] = Fate::kVoid; break;
      case decide::Ignored::kAwaiting: fold[ig.event] = Fate::kAwaiting; break;
      case decide::Ignored::kPending:
      case decide::Ignored::kNotMember: fold[ig.event] = Fate::kPending; break;
      case decide::Ignored::kForked:
      case decide::Ignored::kRevoked: fold[ig.event] = Fate::kFrozenOrRefusedForked; break;
      case decide::Ignored::kWrongCircle: diff += "fold: wrong circle\n"; break;
      case decide::Ignored::kNotTheCharter: fold[ig.event] = Fate::kNotOfCircle; break;
    }
  }

  auto compare = [&](const char* x, const std::map<EventId, Fate>& p, const char* y,
                     const std::map<EventId, Fate>& q) {
    for (const auto& [id, f] : p) {
      auto it = q.find(id);
      const std::string other = it == q.end() ? "absent" : Word(it->second);
      if (other != Word(f)) {
        diff += "event " + id.hex().substr(0, 8) + ": " + x + " " + Word(f) + ", " + y + " " +
                other + "\n";
      }
    }
    for (const auto& [id, f] : q) {
      if (!p.count(id)) {
        diff +=
            "event " + id.hex().substr(0, 8) + ": " + x + " absent, " + y + " " + Word(f) + "\n";
      }
    }
  };
  compare("replica", a.fate, "fold", fold);
  compare("replica", a.fate, "other order", b.fate);
  if (!a.digest || !b.digest || *a.digest != *b.digest) {
    diff += "the two arrival orders give different state digests\n";
  }
  if (diff.empty()) return diff;
  std::string script;
  for (const auto& s : c.script) script += "  " + s + "\n";
  return diff + "script:\n" + script;
}

}  // namespace polder::testutil
