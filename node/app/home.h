// Home: the folder that holds everything of one member's node.
//
//   identity.key      Ed25519 seed, mode 0600 (crypto/key_file.h)
//   polder.toml       profile and settings: name, organisation, role (no secrets)
//   replica.sqlite3   the circle's events and derived state (+ -wal, -shm)
//   own-log           the member's own signed events, written before each commit
//   (storage/own_log.h) lock              held by a process that writes, so two commands never
//   author at once
//
// Resolution order: --home, then $POLDER_HOME, then $XDG_DATA_HOME/polder, then
// ~/.local/share/polder. The folder is created with mode 0700.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "node/api/files.h"
#include "node/api/settings.h"
#include "polder/v1/event.pb.h"
#include "proto/result.h"

namespace polder::app {

class Home {
 public:
  static Result<Home> Resolve(const std::optional<std::filesystem::path>& flag);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path key_file() const { return dir_ / "identity.key"; }
  std::filesystem::path profile_file() const { return dir_ / "polder.toml"; }
  std::filesystem::path replica_file() const { return dir_ / "replica.sqlite3"; }
  std::filesystem::path own_log_file() const { return dir_ / "own-log"; }
  std::filesystem::path lock_file() const { return dir_ / "lock"; }
  // The circle's network key (the session PSK), mode 0600, written by `circle create`/`join`.
  std::filesystem::path network_key_file() const { return dir_ / "network.key"; }
  // The keys rotations retired, still accepted from members for a grace period (0600).
  std::filesystem::path retired_keys_file() const { return dir_ / "network.retired"; }
  // Where a running node says how to reach its local API, and the token it wants (0600).
  std::filesystem::path api_file() const { return dir_ / "api.json"; }
  std::filesystem::path api_token_file() const { return dir_ / "api.token"; }
  api::ApiFiles api_files() const { return {api_file(), api_token_file()}; }

  // Creates the folder (0700) if missing.
  Status Create() const;
  bool HasIdentity() const;

 private:
  explicit Home(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

// An exclusive lock on the home, released when this goes away.
class HomeLock {
 public:
  static Result<HomeLock> Acquire(const Home& home, std::chrono::milliseconds wait);
  HomeLock(HomeLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  HomeLock& operator=(HomeLock&&) = delete;
  ~HomeLock();

 private:
  explicit HomeLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

inline constexpr std::string_view kNetworkKeyHeader = "polder-network-key-v1";

// The [node] section of polder.toml: where the node listens, what it announces, whom it dials
// first. Command-line flags override it.
struct NodeSettings {
  std::string listen = "0.0.0.0:7714";
  std::vector<std::string> advertise;
  std::vector<std::string> bootstrap;
  // Member ids (text form) of the inviters of this home's join codes: the peers a node that holds
  // no charter yet accepts.
  std::vector<std::string> bootstrap_members;
  // For a device's home: the member id it acts for (from the join code `polder device link`
  // made); its first event is its claim naming that member.
  std::string device_of;
};
Result<NodeSettings> ReadNodeSettings(const Home& home);
// Rewrites the [node] section, keeping the rest of the file's settings.
Status WriteNodeSettings(const Home& home, const NodeSettings& settings);

// The [api] section of polder.toml: how the node's local API serves (node/api/settings.h).
Result<api::ApiSettings> ReadApiSettings(const Home& home);

// The member's own description, kept in polder.toml.
Status WriteProfile(const Home& home, const v1::MemberInfo& me);
Result<v1::MemberInfo> ReadProfile(const Home& home);

}  // namespace polder::app
