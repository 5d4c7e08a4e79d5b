// Node: the running daemon of one member — listens for sessions, dials known peers with backoff,
// runs the sync protocol over every session, and authors events for the local CLI. Everything
// runs on one io_context thread, which owns the replica.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>

#include "node/api/metrics.h"
#include "node/app/access.h"
#include "node/app/network_keys.h"
#include "node/app/sealer.h"
#include "node/app/session.h"
#include "node/net/session.h"
#include "node/sync/progress.h"
#include "node/sync/replica_store.h"
#include "node/sync/syncer.h"
#include "polder/v1/api.pb.h"

namespace polder::app {

struct NodeConfig {
  std::string listen = "0.0.0.0:7714";  // host:port; port 0 picks a free port
  std::vector<std::string> advertise;   // announced addresses; default: the listen address
  std::vector<std::string> bootstrap;   // addresses to dial first (from the join code)
  // The members this node accepts sessions with while it holds no charter (and so no member
  // list): the inviters named by its join codes. Once the charter is here, only members are.
  std::vector<MemberKey> bootstrap_members;
  int max_outbound = 4;
  // With every outbound place taken, the node closes its oldest outbound session this often
  // (±50 %) and dials another member (not while catching up): without it, a node whose outbound
  // sessions all formed on its side of a partition would never reach the other side again after
  // the partition healed, and a few members holding all of a node's outbound places would keep
  // them for good. 0: never.
  std::chrono::milliseconds outbound_rotation{60000};
  // Inbound connections: at most max_inbound in all; of them at most max_inbound_handshakes still
  // in the handshake (a new one past it takes the place of the oldest, which is closed), and at
  // most max_inbound_handshakes_per_address from one IP address (a new one past it is refused).
  // Strangers never finish a handshake, so they hold handshake places only: however many they
  // are, a member's connection gets a place and, once ready, a slot (docs/protocol.md §12).
  int max_inbound = 32;
  int max_inbound_handshakes = 16;
  int max_inbound_handshakes_per_address = 8;
  std::chrono::milliseconds anti_entropy{2000};
  std::chrono::milliseconds dial_interval{250};
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{60000};
  std::chrono::milliseconds connect_timeout{5000};
  // How often the node empties the replica's WAL file when no CLI command is reading it
  // (storage::Replica::Checkpoint); 0: never.
  std::chrono::milliseconds wal_checkpoint{30000};
  net::SessionConfig session;
  std::uint64_t sync_credit = sync::kInitialCreditBytes;  // catch-up bytes in flight from each peer
  // Seals (docs/protocol.md §15): once a round's deadline is this far past (and, while the node
  // is catching up, seal_catch_up_wait more), it seals the round unless a majority has already
  // sealed it.
  bool auto_seal = true;
  std::chrono::milliseconds seal_grace{10000};
  std::chrono::milliseconds seal_check{1000};
  // In a circle of more than app::kFirstSealers members, most seal up to this long after the
  // grace, so that their seals are based on the first ones (sealer.h SealDelayMs); 0: no wait.
  std::chrono::milliseconds seal_spread{app::kSealSpreadMs};
  // A node that is catching up waits this much longer than the grace to seal (sealer.h); after
  // that it seals what it holds, whatever a peer claims to hold.
  std::chrono::milliseconds seal_catch_up_wait{app::kCatchUpSealWaitMs};
  // How often the node checks whether who may connect changed (see access.h); sessions with
  // members who are no longer eligible then close.
  std::chrono::milliseconds access_check{1000};
  // Network key rotation (docs/protocol.md §11): how long a retired key still opens sessions
  // with members, and how long the k-th member in line waits (k × this) before rotating the key
  // after a removal, in case those before it are offline.
  std::chrono::milliseconds retired_key_grace{kRetiredKeyGrace};
  std::chrono::milliseconds rotation_stagger{20000};
  // This node rotates the key at most this often.
  std::chrono::milliseconds min_rotation_interval{60000};
  // Which members this node keeps sessions with (tests cut networks with it). Unset: all.
  std::function<bool(const MemberKey&)> accept_peer;
  // A member whose session this node cut off (it did not read its replies, or broke the sync
  // protocol) is refused for this long, twice as long each time again, up to 64 times as long.
  std::chrono::milliseconds cut_off_cooldown{60000};
};

class Node {
 public:
  Node(asio::io_context& io, Session& session, NodeConfig config, NetworkKeys keys);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Binds the listener and starts the loops. Fails if the replica belongs to no circle.
  Status Start();
  // Stops accepting and dialing, closes every session gracefully. The io_context then runs out
  // of work once the sessions have closed.
  void Stop();

  asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  // Authors one event of this member (see Session::Author) and pushes it to the peers.
  // Call on the io_context's thread.
  Result<Session::Authored> Author(const std::function<void(v1::EventBody&)>& fill);
  // Closes the sessions with members that config.accept_peer or the access rules now refuse.
  void Recheck();
  // Recomputes who may connect (access.h) when membership changed, or `force`; closes the
  // sessions of those who no longer may.
  void RefreshAccess(bool force);
  // Adopts the circle's network key when a rotation this node can open names a new one; rotates
  // it when a removal made that due and this node is next in line, or when it holds no box of
  // the circle's key (docs/protocol.md §11). Called after each access check.
  void CheckNetworkKey();
  // Seals the key afresh to every member and device that may connect, and adopts it.
  Status RotateNetworkKey();
  const NetworkKeys& network_keys() const { return keys_; }
  // Seals the rounds due at `now_ms` (see sealer.h; later while catching up). Returns how many
  // seals it authored.
  Result<int> SealDue(std::int64_t now_ms);
  // Adds an address to dial (e.g. from a test harness or a join code).
  void AddAddress(const std::string& address);

  v1::NodeView View() const;
  // The node's counters and gauges, for /metrics. Call on the io_context's thread.
  api::MetricsSnapshot Metrics() const;
  sync::Syncer& syncer() { return syncer_; }
  // Catch-up progress as of the last sample (taken every pump tick, ~20 ms, and whenever a
  // peer's vector arrives or received events are committed).
  const sync::Progress& progress() const { return progress_.Current(); }
  // Called on the node's thread when a catch-up has just ended (received == expected).
  std::function<void(const sync::Progress&)> on_caught_up;
  std::size_t ready_peers() const;
  Session& session() { return session_; }

 private:
  struct Conn;
  struct Target {
    int failures = 0;
    std::chrono::steady_clock::time_point next_try{};
    bool busy = false;           // a connection to it is open or being made
    bool self = false;           // it is this node
    std::size_t key_choice = 0;  // the network key to dial with: the next one after a failure
    std::optional<MemberKey> member;
  };
  class SessionLink;

  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Dial(std::string address);
  asio::awaitable<void> DialLoop();
  asio::awaitable<void> AntiEntropyLoop();
  asio::awaitable<void> PumpLoop();
  std::shared_ptr<Conn> Attach(asio::ip::tcp::socket socket, bool outbound,
                               const std::string& address, std::size_t key_choice = 0);
  void OnReady(const std::shared_ptr<Conn>& c);
  void OnClosed(const std::shared_ptr<Conn>& c, const net::Closed& why);
  void Backoff(Target& t);
  // `key_choice` (an initiator's): 0 the current network key, i the i-th retired key accepted.
  net::TransportConfig TransportFor(bool initiator, std::size_t key_choice = 0);

  asio::io_context& io_;
  Session& session_;
  NodeConfig config_;
  NetworkKeys keys_;
  std::uint64_t sessions_opened_ = 0;  // ready sessions since the node started
  std::uint64_t handshakes_failed_ = 0, not_members_refused_ = 0;  // inbound, since it started
  std::uint64_t send_queue_cutoffs_ = 0;  // sessions closed: the peer did not read its replies
  std::map<std::string, std::uint64_t> handshakes_refused_;  // inbound, by reason
  // Refused connections are logged at most kRefusalLogBurst a minute; the rest only counted.
  std::chrono::steady_clock::time_point refusal_log_window_{};
  int refusal_logs_ = 0;
  std::uint64_t refusals_unlogged_ = 0;
  struct Cooloff {
    std::chrono::steady_clock::time_point until;
    int strikes = 0;
  };
  std::map<MemberKey, Cooloff> cooloff_;  // members cut off, refused until `until`
  std::optional<std::chrono::steady_clock::time_point> rotate_at_;  // a rotation is scheduled
  std::optional<std::chrono::steady_clock::time_point> last_rotation_;
  asio::ip::tcp::acceptor acceptor_;
  sync::ReplicaStore store_;  // the syncer's view of the replica
  sync::Syncer syncer_;
  sync::ProgressMeter progress_;
  void ObserveProgress();
  std::map<net::Session*, std::shared_ptr<Conn>> conns_;
  std::map<std::string, Target> targets_;
  std::chrono::steady_clock::time_point next_rotation_{};
  // Closes the oldest outbound session when every outbound place is taken (outbound_rotation).
  void RotateOutbound();
  std::vector<std::unique_ptr<asio::steady_timer>> timers_;
  std::mt19937_64 rng_;
  Sealer sealer_;
  std::chrono::steady_clock::time_point next_seal_check_{};
  std::chrono::steady_clock::time_point next_checkpoint_{};
  Access access_;
  std::chrono::steady_clock::time_point next_access_check_{}, next_access_refresh_{};
  // Whether `member` may keep a session: eligible (or their device), and accepted by the config.
  bool MayPeer(const MemberKey& member);
  // Ends a session with a member this node no longer accepts (see peering.cc).
  void Dismiss(Conn& c);
  // Counts (and logs, within a rate) an inbound connection refused before its session began.
  static constexpr int kRefusalLogBurst = 10;
  void NoteRefused(const Conn& c, const net::Closed& why);
  void CountRefusal(const std::string& reason, const std::string& address,
                    const std::string& detail);
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // posted work checks it
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, FileCloser> trace_;  // POLDER_TRACE_EVENTS (benchmarks)
  void Trace(const EventId& id, std::size_t bytes);
  // Verifies large received batches while the node's thread commits the one before (see
  // sync::Syncer::Options::offload). Last member: destroyed (joined) first.
  asio::thread_pool verifier_{1};
};

}  // namespace polder::app
