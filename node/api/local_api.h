// LocalApi: the node's HTTP server for the commands of its own home (routes.h), on loopback,
// behind a bearer token. Starting it writes api.json and a fresh api.token into the home
// (files.h), so the CLI finds the node and sends its writes here: the node holds the home's
// lock and is the one writer.
//
// Thread-safety: Start, Withdraw and Stop are called from one thread (the node's owner), never
// from the node's thread while a request waits for it. The server's own threads reach the node
// only through a NodeHandle (node_handle.h).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include <asio/any_io_executor.hpp>

#include "node/api/files.h"
#include "node/api/node_handle.h"
#include "node/api/node_port.h"
#include "node/api/settings.h"
#include "proto/result.h"

namespace httplib {
class Server;
}

namespace polder::api {

class LocalApi {
 public:
  // `node` is called only on the thread that runs `node_executor`; it must outlive this object.
  LocalApi(asio::any_io_executor node_executor, NodePort& node, ApiFiles files,
           ApiSettings settings = {});
  ~LocalApi();  // Stop()
  LocalApi(const LocalApi&) = delete;
  LocalApi& operator=(const LocalApi&) = delete;

  // Binds host (port 0: any free port), writes api.token and api.json, starts serving.
  [[nodiscard]] Status Start(const std::string& host = "127.0.0.1", int port = 0);
  // Removes api.json, so new commands no longer come here (they wait for the lock instead).
  void Withdraw();
  // Withdraws and stops serving; returns once the server's threads are done. A request still
  // waiting for the node's thread ends within settings.node_wait (503), or when its task ends.
  void Stop();
  int port() const { return port_; }

 private:
  NodeHandle node_;
  ApiFiles files_;
  ApiSettings settings_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace polder::api
