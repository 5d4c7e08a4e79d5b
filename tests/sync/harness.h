// A circle of N member nodes on loopback, all on one io_context in this process (tests only).
// Each node is assembled by app::Daemon, as `polder node` assembles it, in a home holding what
// `polder init`, `circle create` and `join` write (key, profile, network key, circle).
#pragma once

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "node/app/daemon.h"
#include "node/app/node.h"
#include "node/app/session.h"

namespace polder::testing {

struct Member {
  std::filesystem::path dir;
  std::unique_ptr<app::Session> session;
  std::unique_ptr<app::Daemon> daemon;
  app::Node* node = nullptr;  // daemon's node while it runs
  std::string address;        // where its node listens, once started
  std::string org;
};

class Network {
 public:
  // Creates `n` homes under a fresh temporary folder; member 0 founds the circle and admits
  // the others (members i belong to organisation i % orgs), except the last `strangers`: they
  // hold the network key and the circle id but were never admitted. The charter lists every
  // organisation and asks for admitters of `admission_orgs` organisations: with 1, the founder's
  // admission makes each member eligible; with more, only those the rule lets through are.
  // `late_flag_window_ms` is the charter's late-flag window (0: the default, a day).
  Network(int n, int orgs = 3, std::uint64_t seed = 1, int strangers = 0,
          std::uint32_t admission_orgs = 1, std::int64_t late_flag_window_ms = 0);
  ~Network();

  // Whether a node serves its local API (api.json, api.token, loopback HTTP), as `polder node`
  // does; tests that do not speak HTTP to it leave it off.
  enum class Api { kOff, kOn };
  // Starts member i's node with the tunables of `config` (its addresses are replaced: the node
  // listens on 127.0.0.1, on the port of its previous run if any, and dials `peers`, indices of
  // members whose nodes run).
  void Start(int i, const std::vector<int>& peers, app::NodeConfig config = {},
             Api api = Api::kOff);
  void Stop(int i);    // stops and destroys the node, keeps the session closed and reopened later
  void Reopen(int i);  // reopens the home (after Stop) as a fresh process would

  // Runs the io_context until `done()` or `limit` passes; true if done.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit);
  void RunFor(std::chrono::milliseconds d);

  // Authors a random proposal, vote or comment at member i's node.
  Status RandomEvent(int i);
  // Every running node's vector digest is equal.
  bool VectorsEqual(const std::vector<int>& which) const;
  // Member i's node has a ready session with member j.
  bool HasPeer(int i, int j);
  // Every two of `which` have a session, and their vectors are equal.
  bool Mesh(const std::vector<int>& which);
  // Starts the nodes of `which` in order, each dialing those started before it.
  void StartAll(const std::vector<int>& which, const app::NodeConfig& config);
  // Member `by` signs a removal of member `member` (docs/protocol.md §15 "Removal").
  Status Remove(int by, int member);
  Digest32 StateDigest(int i);

  asio::io_context& io() { return io_; }
  Member& member(int i) { return members_[static_cast<std::size_t>(i)]; }
  int size() const { return static_cast<int>(members_.size()); }
  const CircleId& circle() const { return circle_; }
  std::array<std::uint8_t, 32> network_key() const { return network_key_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::filesystem::path root_;
  asio::io_context io_;
  std::vector<Member> members_;
  CircleId circle_{};
  std::array<std::uint8_t, 32> network_key_{};
  std::mt19937_64 rng_;
  std::vector<EventId> proposals_;
  int admitted_ = 0;  // members 0 .. admitted_ - 1 are admitted
};

}  // namespace polder::testing
