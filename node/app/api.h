// The node's local API (loopback only, bearer token), as far as the CLI needs it so far:
//   GET  /healthz               liveness, no token
//   GET  /api/v1/node           NodeView (JSON)
//   POST /api/v1/author         body: EventBody (JSON, payload only) → EventReceipt (JSON)
//   GET  /metrics               Prometheus text (node/app/metrics.h); token unless
//                               [api] metrics_public = true
// A running node writes api.json (address, pid) and api.token (0600) into its home; the CLI finds
// them there and sends its writes through the node, which holds the home's lock.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <asio/io_context.hpp>

#include "node/app/home.h"
#include "node/app/node.h"
#include "polder/v1/api.pb.h"

namespace httplib {
class Server;
}

namespace polder::app {

class LocalApi {
 public:
  LocalApi(asio::io_context& io, Node& node, Home home, ApiSettings settings = {});
  ~LocalApi();
  // Binds 127.0.0.1 (port 0: any free port), writes api.json and api.token, starts serving.
  Status Start(const std::string& host = "127.0.0.1", int port = 0);
  // Removes api.json, so new commands no longer come here (they wait for the lock instead).
  void Withdraw();
  // Stops serving (after Withdraw).
  void Stop();
  int port() const { return port_; }

 private:
  asio::io_context& io_;
  Node& node_;
  Home home_;
  ApiSettings settings_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string token_;
  int port_ = 0;
};

// Talks to the node running for a home, if any.
class ApiClient {
 public:
  // A client if api.json names a live process whose /healthz answers; otherwise nullopt.
  static std::optional<ApiClient> Find(const Home& home);
  Result<v1::EventReceipt> Author(const v1::EventBody& body);
  Result<v1::NodeView> NodeInfo();
  const std::string& address() const { return address_; }

 private:
  std::string host_;
  int port_ = 0;
  std::string address_;
  std::string token_;
};

}  // namespace polder::app
