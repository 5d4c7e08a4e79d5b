// The node's sessions with its peers: which addresses it dials and with what backoff, what it
// accepts, the handshake's membership check, and the rule that keeps one session per pair of
// members. Node's other jobs are in node.cc; its seals in sealer.cc.
#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "crypto/member_id.h"
#include "node/app/endpoint.h"
#include "node/app/node.h"
#include "node/app/node_conn.h"
#include "polder/v1/wire.pb.h"

namespace polder::app {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

}  // namespace

// How the syncer reaches one session. Close is deferred so the syncer never sees a peer vanish
// in the middle of its own call.
class Node::SessionLink : public sync::Link {
 public:
  SessionLink(asio::io_context& io, std::weak_ptr<net::Session> s) : io_(io), s_(std::move(s)) {}
  bool Send(Bytes message) override {
    auto s = s_.lock();
    return s && s->Post(message);
  }
  std::size_t queued_bytes() const override {
    auto s = s_.lock();
    return s ? s->queued_bytes() : 0;
  }
  void Close(std::string reason) override {
    asio::post(io_, [w = s_, reason = std::move(reason)] {
      if (auto s = w.lock()) s->Close(net::CloseReason::kProtocol, reason);
    });
  }

 private:
  asio::io_context& io_;
  std::weak_ptr<net::Session> s_;
};

net::TransportConfig Node::TransportFor(bool initiator, std::size_t key_choice) {
  net::TransportConfig t;
  t.initiator = initiator;
  t.circle = *session_.replica().circle();
  auto retired = keys_.Accepted(NowMs(), config_.retired_key_grace);
  t.network_key =
      key_choice == 0 || key_choice > retired.size() ? keys_.current() : retired[key_choice - 1];
  if (!initiator) t.also_accept = std::move(retired);
  t.identity = &session_.key();
  t.is_member = [this](const MemberKey& k) {
    // Only members, whatever this replica holds: a node that has not yet received its circle's
    // events (just joined) accepts the members who invited it and nobody else — not every holder
    // of the network key.
    if (access_.ready()) return access_.Allows(k);
    auto& r = session_.replica();
    if (r.state().Charter()) return false;
    const auto& trusted = config_.bootstrap_members;
    return std::find(trusted.begin(), trusted.end(), k) != trusted.end();
  };
  return t;
}

void Node::AddAddress(const std::string& address) { targets_.try_emplace(address); }

bool Node::MayPeer(const MemberKey& member) {
  if (config_.accept_peer && !config_.accept_peer(member)) return false;
  if (auto it = cooloff_.find(member); it != cooloff_.end() && Clock::now() < it->second.until) {
    return false;
  }
  return !access_.ready() || access_.Allows(member);
}

void Node::Recheck() {
  auto conns = conns_;
  for (auto& [ptr, c] : conns) {
    if (c->peer && !MayPeer(c->member)) Dismiss(*c);
  }
}

void Node::Dismiss(Conn& c) {
  // A removed member's node is sent the removals that name it, so that it learns why (the
  // pushes may not have reached it, and no node will talk to it any more); then the session
  // ends gracefully, what is queued going out first.
  auto& replica = session_.replica();
  if (auto ids = replica.state().RemovalsOf(c.member); ids && !ids->empty()) {
    v1::SyncMessage m;
    m.mutable_events()->set_push(true);
    for (const auto& id : *ids) {
      if (auto bytes = replica.events().EventBytes(id); bytes && *bytes) {
        m.mutable_events()->add_events((*bytes)->data(), (*bytes)->size());
      }
    }
    const std::string wire = m.SerializeAsString();
    c.session->Post(AsBytes(wire));
  }
  c.session->Shutdown();
}

asio::awaitable<void> Node::AcceptLoop() {
  while (!stopping_) {
    auto [ec, sock] = co_await acceptor_.async_accept(kUseTuple);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    std::error_code e2;
    const auto remote = sock.remote_endpoint(e2);
    const std::string ip = e2 ? "?" : remote.address().to_string();
    const std::string address = e2 ? "?" : ip + ":" + std::to_string(remote.port());
    // Places (see NodeConfig::max_inbound): strangers hold handshake places only, so a member's
    // connection always finds one, and its session a slot.
    int inbound = 0, handshakes = 0, from_ip = 0;
    std::shared_ptr<Conn> oldest;
    for (const auto& [p, c] : conns_) {
      if (c->outbound || c->evicted) continue;
      ++inbound;
      if (c->peer || c->refused) continue;
      ++handshakes;
      from_ip += c->ip == ip;
      if (!oldest || c->accepted < oldest->accepted) oldest = c;
    }
    if (from_ip >= config_.max_inbound_handshakes_per_address) {
      CountRefusal("per_address", address,
                   std::to_string(from_ip) + " handshakes from this address already");
      continue;  // the socket closes here
    }
    if (handshakes >= config_.max_inbound_handshakes && oldest) {
      oldest->evicted = true;  // counted when it has closed (NoteRefused)
      oldest->session->Close(net::CloseReason::kShutdown,
                             "its handshake place went to a newer one");
      --inbound;
    }
    if (inbound >= config_.max_inbound) {
      CountRefusal("inbound_full", address, std::to_string(inbound) + " inbound sessions");
      continue;
    }
    if (auto c = Attach(std::move(sock), false, address)) {
      c->ip = ip;
      c->accepted = Clock::now();
    }
  }
}

std::shared_ptr<Node::Conn> Node::Attach(asio::ip::tcp::socket socket, bool outbound,
                                         const std::string& address, std::size_t key_choice) {
  auto created =
      net::Session::Create(std::move(socket), TransportFor(outbound, key_choice), config_.session);
  if (!created) {
    spdlog::warn("cannot start a session: {}", created.error().message);
    return nullptr;
  }
  auto c = std::make_shared<Conn>();
  c->session = *created;
  c->outbound = outbound;
  c->address = address;
  c->key_choice = key_choice;
  conns_[c->session.get()] = c;
  std::weak_ptr<Conn> weak = c;
  c->session->on_ready([this, weak] {
    if (auto c = weak.lock()) OnReady(c);
  });
  c->session->on_message([this, weak](ByteView m) {
    auto c = weak.lock();
    if (c && c->peer) syncer_.OnMessage(*c->peer, m);
  });
  c->session->on_close([this, weak](const net::Closed& why) {
    // Deferred: the syncer may be the caller.
    asio::post(io_, [this, weak, why] {
      if (auto c = weak.lock()) OnClosed(c, why);
    });
  });
  asio::co_spawn(io_, c->session->Run(), asio::detached);
  return c;
}

void Node::OnReady(const std::shared_ptr<Conn>& c) {
  c->member = c->session->peer();
  const MemberKey me = session_.key().public_key();
  if (c->member == me) {
    if (c->outbound) {
      auto it = targets_.find(c->address);
      if (it != targets_.end()) it->second.self = true;
    }
    c->session->Close(net::CloseReason::kShutdown, "connected to itself");
    return;
  }
  if (!MayPeer(c->member)) {
    c->refused = true;
    Dismiss(*c);
    return;
  }
  // One session per pair of members: keep the one the smaller member key initiated. Both ends
  // apply the same rule, so they keep the same session.
  for (const auto& [ptr, other] : conns_) {
    if (other == c || !other->peer || other->member != c->member) continue;
    const MemberKey c_init = c->outbound ? me : c->member;
    const MemberKey o_init = other->outbound ? me : other->member;
    if (c_init < o_init) {
      other->session->Close(net::CloseReason::kShutdown, "duplicate session");
    } else {
      c->session->Close(net::CloseReason::kShutdown, "duplicate session");
      return;
    }
  }
  if (c->outbound) {
    auto it = targets_.find(c->address);
    if (it != targets_.end()) {
      it->second.failures = 0;
      it->second.member = c->member;
    }
  }
  spdlog::info("session with {} ({}, {}{})", crypto::Fingerprint(c->member), c->address,
               c->outbound ? "outbound" : "inbound",
               c->session->key_used() != 0 || c->key_choice != 0 ? ", a retired network key" : "");
  ++sessions_opened_;
  c->ready_at = Clock::now();
  c->peer = syncer_.AddPeer(c->member, std::make_shared<SessionLink>(io_, c->session));
}

void Node::OnClosed(const std::shared_ptr<Conn>& c, const net::Closed& why) {
  if (why.reason == net::CloseReason::kOverloaded) ++send_queue_cutoffs_;
  // Cut off for what it did (not for what we did: shutdown, a duplicate): refused for a while.
  if (c->peer &&
      (why.reason == net::CloseReason::kOverloaded || why.reason == net::CloseReason::kProtocol)) {
    auto& cool = cooloff_[c->member];
    const int shift = std::min(cool.strikes, 6);
    ++cool.strikes;
    cool.until = Clock::now() + config_.cut_off_cooldown * (1 << shift);
    spdlog::warn("cut off {} ({}): {}; its sessions are refused for {} s",
                 crypto::Fingerprint(c->member), c->address, net::ToString(why.reason),
                 (config_.cut_off_cooldown * (1 << shift)).count() / 1000);
  }
  if (c->peer) {
    syncer_.RemovePeer(*c->peer);
    spdlog::info("session with {} ended: {}{}", crypto::Fingerprint(c->member),
                 net::ToString(why.reason), why.message.empty() ? "" : ": " + why.message);
  } else {
    spdlog::debug("connection {} ended before the handshake: {} {}", c->address,
                  net::ToString(why.reason), why.message);
    if (!c->outbound && why.reason == net::CloseReason::kHandshakeFailed) ++handshakes_failed_;
    if (!c->outbound && why.reason == net::CloseReason::kNotMember) ++not_members_refused_;
    if (!c->outbound) NoteRefused(*c, why);
  }
  if (c->outbound) {
    auto it = targets_.find(c->address);
    if (it != targets_.end()) {
      it->second.busy = false;
      const bool benign = why.reason == net::CloseReason::kShutdown && c->peer;
      if (!benign) Backoff(it->second);
      if (!c->peer) {
        // Refused during the handshake: perhaps the peer holds a key this node retired (it has
        // not seen the rotation yet). Next time, dial with the next key this node accepts.
        const auto keys = 1 + keys_.Accepted(NowMs(), config_.retired_key_grace).size();
        it->second.key_choice = (c->key_choice + 1) % keys;
      }
    }
  }
  conns_.erase(c->session.get());
}

void Node::NoteRefused(const Conn& c, const net::Closed& why) {
  std::string reason;
  switch (why.reason) {
    case net::CloseReason::kHandshakeTimeout:
    case net::CloseReason::kHandshakeFailed:
    case net::CloseReason::kBadIdentity:
    case net::CloseReason::kNotMember:
    case net::CloseReason::kBadFrame:
    case net::CloseReason::kDecryptFailed:
    case net::CloseReason::kMessageTooLarge:
    case net::CloseReason::kProtocol: reason = net::ToString(why.reason); break;
    default:
      if (c.evicted) {
        reason = "handshake_evicted";
      } else if (c.refused) {
        reason = "not_accepted";
      } else {
        return;  // the node stopping, or the peer leaving: not a refusal
      }
  }
  CountRefusal(reason, c.address, why.message);
}

void Node::CountRefusal(const std::string& reason, const std::string& address,
                        const std::string& detail) {
  ++handshakes_refused_[reason];
  const auto now = Clock::now();
  if (now - refusal_log_window_ > std::chrono::minutes(1)) {
    if (refusals_unlogged_ > 0) {
      spdlog::warn("{} more connections refused in the last minute (not logged one by one)",
                   refusals_unlogged_);
    }
    refusal_log_window_ = now;
    refusal_logs_ = 0;
    refusals_unlogged_ = 0;
  }
  if (refusal_logs_ < kRefusalLogBurst) {
    ++refusal_logs_;
    spdlog::warn("refused a connection from {}: {}{}", address, reason,
                 detail.empty() ? "" : " (" + detail + ")");
  } else {
    ++refusals_unlogged_;
  }
}

void Node::Backoff(Target& t) {
  ++t.failures;
  const auto base = std::min<std::int64_t>(
      config_.backoff_max.count(), config_.backoff_min.count() << std::min(t.failures - 1, 16));
  std::uniform_int_distribution<std::int64_t> jitter(base / 2, base + base / 2);
  t.next_try = Clock::now() + std::chrono::milliseconds(jitter(rng_));
}

asio::awaitable<void> Node::Dial(std::string address) {
  auto ep = ParseEndpoint(address);
  auto& t = targets_[address];
  if (!ep) {
    t.self = true;  // never dial a malformed address again
    co_return;
  }
  t.busy = true;
  asio::ip::tcp::socket sock(io_);
  asio::steady_timer timer(io_);
  timer.expires_after(config_.connect_timeout);
  auto result = co_await (sock.async_connect(*ep, kUseTuple) || timer.async_wait(kUseTuple));
  std::error_code ec;
  if (result.index() == 1) {
    ec = asio::error::timed_out;
  } else {
    ec = std::get<0>(std::get<0>(result));
  }
  auto& t2 = targets_[address];
  if (ec || stopping_) {
    t2.busy = false;
    Backoff(t2);
    spdlog::debug("dial {} failed: {}", address, ec.message());
    co_return;
  }
  Attach(std::move(sock), true, address, t2.key_choice);
}

void Node::RotateOutbound() {
  const auto now = Clock::now();
  if (config_.outbound_rotation.count() <= 0) return;
  if (next_rotation_ == Clock::time_point{}) next_rotation_ = now + config_.outbound_rotation;
  if (now < next_rotation_) return;
  const auto base = config_.outbound_rotation.count();
  next_rotation_ = now + std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(
                             base / 2, base * 3 / 2)(rng_));
  if (syncer_.Expected() > 0) return;  // not while catching up
  int ready = 0;
  std::shared_ptr<Conn> oldest;
  for (const auto& [p, c] : conns_) {
    if (!c->outbound || !c->peer) continue;
    ++ready;
    if (!oldest || c->ready_at < oldest->ready_at) oldest = c;
  }
  if (ready < config_.max_outbound || !oldest) return;
  // Not this one again at once: the dial loop picks among the others.
  if (auto it = targets_.find(oldest->address); it != targets_.end()) {
    it->second.next_try = now + config_.outbound_rotation;
  }
  spdlog::debug("rotating outbound sessions: closing the one with {}",
                crypto::Fingerprint(oldest->member));
  oldest->session->Close(net::CloseReason::kShutdown, "rotating outbound sessions");
}

asio::awaitable<void> Node::DialLoop() {
  timers_.push_back(std::make_unique<asio::steady_timer>(io_));
  auto* timer = timers_.back().get();
  while (!stopping_) {
    RotateOutbound();
    int outbound = 0;
    for (const auto& [a, t] : targets_) outbound += t.busy;
    const auto now = Clock::now();
    std::vector<std::string> candidates;
    for (const auto& [a, t] : targets_) {
      if (t.busy || t.self || t.next_try > now) continue;
      bool connected = false;
      if (t.member) {
        for (const auto& [p, c] : conns_) connected |= c->member == *t.member && c->peer;
      }
      if (!connected) candidates.push_back(a);
    }
    std::shuffle(candidates.begin(), candidates.end(), rng_);
    for (const auto& a : candidates) {
      if (outbound >= config_.max_outbound) break;
      ++outbound;
      targets_[a].busy = true;
      asio::co_spawn(io_, Dial(a), asio::detached);
    }
    timer->expires_after(config_.dial_interval);
    co_await timer->async_wait(kUseTuple);
  }
}

}  // namespace polder::app
