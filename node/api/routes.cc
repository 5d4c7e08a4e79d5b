#include "node/api/routes.h"

#include <future>
#include <memory>
#include <optional>

#include <asio/post.hpp>
#include <httplib.h>

#include "node/api/http_json.h"
#include "node/api/limits.h"

namespace polder::api {
namespace {

using httplib::Request;
using httplib::Response;

void Reply(Response& res, const Error& error) {
  res.status = HttpStatusFor(error.code);
  res.set_content(ErrorJson(error), kJsonContentType);
}

// Runs `fn` on the node's thread and waits (bounded) for its result.
template <class F>
auto OnNodeThread(const asio::any_io_executor& node, F fn) -> std::optional<decltype(fn())> {
  auto task = std::make_shared<std::packaged_task<decltype(fn())()>>(std::move(fn));
  auto future = task->get_future();
  asio::post(node, [task] { (*task)(); });
  if (future.wait_for(kNodeWait) != std::future_status::ready) return std::nullopt;
  return future.get();
}

const Error kBusy{Errc::kUnavailable, "node busy"};

struct Context {
  asio::any_io_executor executor;
  NodePort& node;
  std::string bearer;  // "Bearer TOKEN"
  ApiSettings settings;

  // True if `req` carries the token; otherwise answers 401.
  bool Authorized(const Request& req, Response& res) const {
    if (req.get_header_value("Authorization") == bearer) return true;
    Reply(res, Error{Errc::kPermission, "missing or wrong API token"});
    res.status = 401;  // not 403: the request carries no valid credentials
    return false;
  }
};

void GetNode(const Context& c, const Request& req, Response& res) {
  if (!c.Authorized(req, res)) return;
  auto view = OnNodeThread(c.executor, [&] { return c.node.View(); });
  if (!view) return Reply(res, kBusy);
  res.set_content(ToJson(*view), kJsonContentType);
}

void GetMetrics(const Context& c, const Request& req, Response& res) {
  if (!c.settings.metrics_public && !c.Authorized(req, res)) return;
  // The snapshot is taken on the node's thread; the text is rendered on this one.
  auto snapshot = OnNodeThread(c.executor, [&] { return c.node.Metrics(); });
  if (!snapshot) return Reply(res, kBusy);
  res.set_content(RenderMetrics(*snapshot), kMetricsContentType);
}

void PostAuthor(const Context& c, const Request& req, Response& res) {
  if (!c.Authorized(req, res)) return;
  v1::EventBody body;
  if (!FromJson(req.body, &body) || body.payload_case() == v1::EventBody::PAYLOAD_NOT_SET) {
    return Reply(res, Error{Errc::kInvalidArgument, "body is not an event payload"});
  }
  auto authored = OnNodeThread(c.executor, [&] { return c.node.Author(body); });
  if (!authored) return Reply(res, kBusy);
  if (!*authored) return Reply(res, authored->error());
  res.set_content(ToJson(**authored), kJsonContentType);
}

}  // namespace

void InstallRoutes(httplib::Server& server, asio::any_io_executor node_executor, NodePort& node,
                   const std::string& token, const ApiSettings& settings) {
  auto c = std::make_shared<const Context>(
      Context{std::move(node_executor), node, "Bearer " + token, settings});
  server.Get("/healthz",
             [](const Request&, Response& res) { res.set_content("ok\n", "text/plain"); });
  server.Get("/api/v1/node", [c](const Request& req, Response& res) { GetNode(*c, req, res); });
  server.Get("/metrics", [c](const Request& req, Response& res) { GetMetrics(*c, req, res); });
  server.Post("/api/v1/author",
              [c](const Request& req, Response& res) { PostAuthor(*c, req, res); });
}

}  // namespace polder::api
