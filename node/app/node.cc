#include "node/app/node.h"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "crypto/member_id.h"
#include "node/api/views.h"
#include "node/app/circle_state.h"
#include "node/decide/tally.h"
#include "storage/limits.h"
#include "storage/rulebook/limits.h"

namespace polder::app {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

// The syncer of a running node: on the system's clocks, with a random seed for its choices.
sync::Syncer::Options SyncerOptions(Session& session, std::uint64_t credit_bytes) {
  sync::Syncer::Options o;
  o.now_ms = NowMs;
  o.identity = &session.key();
  o.initial_credit = credit_bytes;
  o.clock = Clock::now;
  o.seed = std::random_device{}();
  return o;
}

}  // namespace

Result<asio::ip::tcp::endpoint> ParseEndpoint(const std::string& address) {
  std::string host, port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Fail(Errc::kInvalidArgument, "bad address '" + address + "' (want [v6]:port)");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) {
      return Fail(Errc::kInvalidArgument, "bad address '" + address + "' (want host:port)");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  std::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) return Fail(Errc::kInvalidArgument, "bad address '" + address + "': " + ec.message());
  char* end = nullptr;
  const unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p > 65535) {
    return Fail(Errc::kInvalidArgument, "bad port in '" + address + "'");
  }
  return asio::ip::tcp::endpoint(ip, static_cast<unsigned short>(p));
}

struct Node::Conn {
  std::shared_ptr<net::Session> session;
  bool outbound = false;
  std::string address;  // dialed address (outbound) or the remote endpoint (inbound)
  std::optional<sync::PeerId> peer;
  MemberKey member{};
};

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

Node::Node(asio::io_context& io, Session& session, NodeConfig config,
           std::array<std::uint8_t, 32> network_key)
    : io_(io),
      session_(session),
      config_(std::move(config)),
      network_key_(network_key),
      acceptor_(io),
      store_(session.replica()),
      syncer_(store_, SyncerOptions(session, config_.sync_credit)),
      rng_(std::random_device{}()) {}

Node::~Node() = default;

net::TransportConfig Node::TransportFor(bool initiator) {
  net::TransportConfig t;
  t.initiator = initiator;
  t.circle = *session_.replica().circle();
  t.network_key = network_key_;
  t.identity = &session_.key();
  t.is_member = [this](const MemberKey& k) {
    // A node that has not yet received its circle's events (just joined) trusts the network
    // key alone; once it holds the member list it checks every peer against it.
    auto& r = session_.replica();
    return r.state().IsMember(k) || !r.state().Charter();
  };
  return t;
}

Status Node::Start() {
  if (!session_.replica().circle()) {
    return Fail(Errc::kInvalidArgument,
                "this home belongs to no circle yet: run `polder circle create` or `polder join "
                "CODE` first");
  }
  auto ep = ParseEndpoint(config_.listen);
  if (!ep) return Unexpected<Error>{ep.error()};
  std::error_code ec;
  acceptor_.open(ep->protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(*ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Fail(Errc::kUnavailable, "cannot listen on " + config_.listen + ": " + ec.message());
  const auto bound = acceptor_.local_endpoint();
  std::vector<std::string> announce = config_.advertise;
  if (announce.empty() && !bound.address().is_unspecified()) {
    announce.push_back(bound.address().to_string() + ":" + std::to_string(bound.port()));
  }
  syncer_.set_listen_addresses(announce);
  syncer_.set_schedule_flush([this] {
    asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.lock()) syncer_.Flush();
    });
  });
  syncer_.set_offload([this](std::function<void()> work, std::function<void()> then) {
    // The work guard keeps the io_context running until the batch is committed, so a node
    // that stops finishes the batch in hand.
    asio::post(verifier_, [work = std::move(work), then = std::move(then), &io = io_,
                           guard = asio::make_work_guard(io_)]() mutable {
      work();
      asio::post(io, std::move(then));
    });
  });
  syncer_.on_peer_announced = [this](const sync::PeerRecord& p) {
    std::size_t start = 0;
    while (start < p.addresses.size()) {
      auto nl = p.addresses.find('\n', start);
      if (nl == std::string::npos) nl = p.addresses.size();
      if (nl > start) {
        const std::string a = p.addresses.substr(start, nl - start);
        auto [it, added] = targets_.try_emplace(a);
        it->second.member = p.member;
      }
      start = nl + 1;
    }
  };
  syncer_.on_progress = [this] { ObserveProgress(); };
  if (auto s = syncer_.Load(); !s) return s;
  // Benchmarks: POLDER_TRACE_EVENTS=FILE appends "event-id unix-µs bytes" for every event this
  // node stores (received or authored), to measure propagation across processes.
  if (const char* trace = std::getenv("POLDER_TRACE_EVENTS"); trace && *trace) {
    trace_.reset(std::fopen(trace, "a"));
    if (trace_) {
      syncer_.on_event_stored = [this](const EventId& id, std::size_t bytes) { Trace(id, bytes); };
    }
  }
  for (const auto& a : config_.bootstrap) AddAddress(a);
  if (auto peers = store_.Peers()) {
    for (const auto& p : *peers) syncer_.on_peer_announced(p);
  }
  spdlog::info("node {} listening on {}:{}", crypto::Fingerprint(session_.key().public_key()),
               bound.address().to_string(), bound.port());
  asio::co_spawn(io_, AcceptLoop(), asio::detached);
  asio::co_spawn(io_, DialLoop(), asio::detached);
  asio::co_spawn(io_, AntiEntropyLoop(), asio::detached);
  asio::co_spawn(io_, PumpLoop(), asio::detached);
  return {};
}

void Node::AddAddress(const std::string& address) { targets_.try_emplace(address); }

void Node::Recheck() {
  if (!config_.accept_peer) return;
  auto conns = conns_;
  for (auto& [ptr, c] : conns) {
    if (c->peer && !config_.accept_peer(c->member)) {
      c->session->Close(net::CloseReason::kShutdown, "peer not accepted");
    }
  }
}

void Node::Stop() {
  if (stopping_) return;
  stopping_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  for (auto& t : timers_) t->cancel();
  auto conns = conns_;
  for (auto& [ptr, c] : conns) c->session->Shutdown();
}

std::size_t Node::ready_peers() const {
  std::size_t n = 0;
  for (const auto& [p, c] : conns_) n += c->peer.has_value();
  return n;
}

asio::awaitable<void> Node::AcceptLoop() {
  while (!stopping_) {
    auto [ec, sock] = co_await acceptor_.async_accept(kUseTuple);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    int inbound = 0;
    for (const auto& [p, c] : conns_) inbound += !c->outbound;
    if (inbound >= config_.max_inbound) {
      spdlog::debug("inbound limit reached; refusing a connection");
      continue;  // the socket closes here
    }
    std::error_code e2;
    const auto remote = sock.remote_endpoint(e2);
    Attach(std::move(sock), false,
           e2 ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port()));
  }
}

void Node::Attach(asio::ip::tcp::socket socket, bool outbound, const std::string& address) {
  auto created = net::Session::Create(std::move(socket), TransportFor(outbound), config_.session);
  if (!created) {
    spdlog::warn("cannot start a session: {}", created.error().message);
    return;
  }
  auto c = std::make_shared<Conn>();
  c->session = *created;
  c->outbound = outbound;
  c->address = address;
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
  if (config_.accept_peer && !config_.accept_peer(c->member)) {
    c->session->Close(net::CloseReason::kShutdown, "peer not accepted");
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
  spdlog::info("session with {} ({}, {})", crypto::Fingerprint(c->member), c->address,
               c->outbound ? "outbound" : "inbound");
  c->peer = syncer_.AddPeer(c->member, std::make_shared<SessionLink>(io_, c->session));
}

void Node::OnClosed(const std::shared_ptr<Conn>& c, const net::Closed& why) {
  if (c->peer) {
    syncer_.RemovePeer(*c->peer);
    spdlog::info("session with {} ended: {}{}", crypto::Fingerprint(c->member),
                 net::ToString(why.reason), why.message.empty() ? "" : ": " + why.message);
  } else {
    spdlog::debug("connection {} ended before the handshake: {} {}", c->address,
                  net::ToString(why.reason), why.message);
  }
  if (c->outbound) {
    auto it = targets_.find(c->address);
    if (it != targets_.end()) {
      it->second.busy = false;
      const bool benign = why.reason == net::CloseReason::kShutdown && c->peer;
      if (!benign) Backoff(it->second);
    }
  }
  conns_.erase(c->session.get());
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
  Attach(std::move(sock), true, address);
}

asio::awaitable<void> Node::DialLoop() {
  timers_.push_back(std::make_unique<asio::steady_timer>(io_));
  auto* timer = timers_.back().get();
  while (!stopping_) {
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

asio::awaitable<void> Node::AntiEntropyLoop() {
  timers_.push_back(std::make_unique<asio::steady_timer>(io_));
  auto* timer = timers_.back().get();
  while (!stopping_) {
    const auto base = config_.anti_entropy.count();
    std::uniform_int_distribution<std::int64_t> jitter(base / 2, base + base / 2);
    timer->expires_after(std::chrono::milliseconds(jitter(rng_)));
    co_await timer->async_wait(kUseTuple);
    if (stopping_) co_return;
    auto peers = syncer_.peers();
    if (peers.empty()) continue;
    std::uniform_int_distribution<std::size_t> pick(0, peers.size() - 1);
    syncer_.Probe(peers[pick(rng_)]);
  }
}

asio::awaitable<void> Node::PumpLoop() {
  timers_.push_back(std::make_unique<asio::steady_timer>(io_));
  auto* timer = timers_.back().get();
  while (!stopping_) {
    timer->expires_after(std::chrono::milliseconds(20));
    co_await timer->async_wait(kUseTuple);
    if (stopping_) co_return;
    syncer_.Pump();
    syncer_.Tick();
    if (config_.auto_seal && std::chrono::steady_clock::now() >= next_seal_check_) {
      next_seal_check_ = std::chrono::steady_clock::now() + config_.seal_check;
      if (auto sealed = SealDue(NowMs()); !sealed) {
        spdlog::warn("sealing: {}", sealed.error().message);
      }
    }
    ObserveProgress();
  }
}

void Node::ObserveProgress() {
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count();
  if (progress_.Observe(now_ms, syncer_.stats().events_stored, syncer_.Expected()) &&
      on_caught_up) {
    on_caught_up(progress_.Current());
  }
}

Result<int> Node::SealDue(std::int64_t now_ms) {
  if (syncer_.Expected() > 0) return 0;  // catching up: what we hold is not what we will hold
  auto& replica = session_.replica();
  const MemberKey me = session_.key().public_key();
  auto due = replica.state().DeadlinesToSeal(me, now_ms - config_.seal_grace.count(), 64);
  if (!due) return MakeUnexpected(due.error());
  std::vector<std::int64_t> todo;
  for (auto d : *due) {
    if (!seal_considered_.count(d)) todo.push_back(d);
  }
  if (todo.empty()) return 0;
  auto state = LoadCircleState(replica);
  if (!state) return MakeUnexpected(state.error());
  const decide::Member* self = state->FindMember(me);
  const auto tally = decide::Tally(*state, now_ms);
  int authored = 0;
  for (auto d : todo) {
    seal_considered_.insert(d);
    if (!self || self->forked() || self->admitted_ms > d) continue;
    auto round = std::find_if(tally.rounds.begin(), tally.rounds.end(),
                              [d](const auto& r) { return r.deadline_ms == d; });
    if (round != tally.rounds.end() && round->seals.sealed) continue;
    auto vector = replica.events().Vector();
    if (!vector) return MakeUnexpected(vector.error());
    if (vector->heads.size() > rulebook::kMaxSealEntries) {
      spdlog::warn("cannot seal the round of {}: {} authors, a seal lists at most {}", d,
                   vector->heads.size(), rulebook::kMaxSealEntries);
      continue;
    }
    auto a = Author([&](v1::EventBody& b) {
      auto* seal = b.mutable_seal();
      seal->set_deadline_ms(d);
      for (const auto& [author, head] : vector->heads) {
        if (head.seq == 0) continue;
        auto* h = seal->add_heads();
        h->set_author(author.str());
        h->set_seq(head.seq);
      }
    });
    if (!a) return MakeUnexpected(a.error());
    spdlog::info("sealed the round of {} ({} authors)", d, vector->heads.size());
    ++authored;
  }
  return authored;
}

Result<Session::Authored> Node::Author(const std::function<void(v1::EventBody&)>& fill) {
  auto a = session_.Author(fill);
  if (!a) return a;
  auto bytes = session_.replica().events().EventBytes(a->id);
  if (bytes && *bytes) {
    Trace(a->id, (*bytes)->size());
    syncer_.OnLocalEvent(**bytes, session_.key().public_key(), a->seq);
  }
  return a;
}

void Node::Trace(const EventId& id, std::size_t bytes) {
  if (!trace_) return;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::fprintf(trace_.get(), "%s %lld %zu\n", id.hex().c_str(), static_cast<long long>(us), bytes);
  std::fflush(trace_.get());
}

api::MetricsSnapshot Node::Metrics() const {
  api::MetricsSnapshot m;
  m.sync = syncer_.stats();
  m.sync_lag_events = syncer_.Expected();
  for (const auto& [p, c] : conns_) {
    if (!c->peer) continue;
    ++(c->outbound ? m.sessions_outbound : m.sessions_inbound);
  }
  if (auto p = session_.replica().Pending()) {
    m.pending_events = p->events;
    m.pending_bytes = p->bytes;
    m.pending_evicted = p->evicted;
  }
  return m;
}

v1::NodeView Node::View() const {
  v1::NodeView v;
  std::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  if (!ec) v.set_listen(ep.address().to_string() + ":" + std::to_string(ep.port()));
  v.set_pid(::getpid());
  for (const auto& [p, c] : conns_) {
    if (!c->peer) continue;
    auto* pv = v.add_peers();
    pv->set_member_id(crypto::FormatMemberId(c->member));
    pv->set_name(api::MemberLabel(session_.replica().views().NameOf(c->member)));
    pv->set_address(c->address);
    pv->set_outbound(c->outbound);
  }
  const auto& s = syncer_.stats();
  auto* sv = v.mutable_sync();
  sv->set_events_received(s.events_received);
  sv->set_events_stored(s.events_stored);
  sv->set_duplicates(s.duplicates);
  sv->set_refused(s.refused);
  sv->set_events_sent(s.events_sent);
  sv->set_pushes_sent(s.pushes_sent);
  sv->set_pushes_dropped(s.pushes_dropped);
  sv->set_peers_cut_off(s.peers_cut_off);
  sv->set_bytes_in(s.bytes_in);
  sv->set_bytes_out(s.bytes_out);
  for (const auto& [message, n] : s.bytes_out_by_message) {
    (*sv->mutable_bytes_out_by_message())[message] = n;
  }
  const sync::Progress& p = progress_.Current();
  sv->set_catching_up(p.catching_up);
  sv->set_received(p.received);
  sv->set_expected(p.expected);
  sv->set_missing(p.missing);
  sv->set_rate_events_per_s(p.rate_events_per_s);
  if (p.eta_s) sv->set_eta_s(*p.eta_s);
  sv->set_elapsed_s(p.elapsed_s);
  return v;
}

}  // namespace polder::app
