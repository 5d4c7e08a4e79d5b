// A real node's local API in a test: member i of a Network (tests/sync/harness.h) serving
// node/api's LocalApi through app::NodeApiPort, and HTTP calls made from another thread while
// the network's io_context (the node's thread) runs on the test's.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>

#include "node/api/files.h"
#include "node/api/local_api.h"
#include "node/app/api_port.h"
#include "node/app/home.h"
#include "tests/sync/harness.h"

namespace polder::testing {

struct Reply {
  int status = -1;
  std::string body;
};

class NodeApi {
 public:
  NodeApi(Network& net, int i, api::ApiSettings settings = {})
      : net_(net), port_(*net.member(i).node) {
    auto home = app::Home::Resolve(net.member(i).dir);
    EXPECT_TRUE(home);
    files_ = home->api_files();
    api_ = std::make_unique<api::LocalApi>(net.io().get_executor(), port_, files_, settings);
    EXPECT_TRUE(api_->Start());
    token = api::ReadToken(files_).value_or("");
  }

  // Sends a request (method "GET" or "POST") from another thread while the node runs here.
  Reply Call(const std::string& method, const std::string& path, const std::string& body,
             const std::string& bearer) {
    auto f = std::async(std::launch::async, [=, port = api_->port()] {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(5, 0);
      c.set_read_timeout(60, 0);
      httplib::Headers h;
      if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
      auto res = method == "GET" ? c.Get(path, h) : c.Post(path, h, body, "application/json");
      return res ? Reply{res->status, res->body} : Reply{};
    });
    net_.RunUntil([&] { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
                  std::chrono::seconds(90));
    return f.get();
  }
  Reply Get(const std::string& path, const std::string& bearer) {
    return Call("GET", path, "", bearer);
  }
  Reply Author(const std::string& body) { return Call("POST", "/api/v1/author", body, token); }

  api::LocalApi& api() { return *api_; }
  int port() const { return api_->port(); }

  std::string token;

 private:
  Network& net_;
  app::NodeApiPort port_;
  api::ApiFiles files_;
  std::unique_ptr<api::LocalApi> api_;
};

}  // namespace polder::testing
