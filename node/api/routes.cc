#include "node/api/routes.h"

#include <memory>
#include <utility>

#include <httplib.h>

#include "node/api/http_json.h"

namespace polder::api {
namespace {

using httplib::Request;
using httplib::Response;

void Reply(Response& res, const Error& error) {
  res.status = HttpStatusFor(error.code);
  res.set_content(ErrorJson(error), kJsonContentType);
}

struct Context {
  NodeHandle& node;
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
  auto view = c.node.Run([](NodePort& node) { return node.View(); });
  if (!view) return Reply(res, view.error());
  res.set_content(ToJson(*view), kJsonContentType);
}

void GetMetrics(const Context& c, const Request& req, Response& res) {
  if (!c.settings.metrics_public && !c.Authorized(req, res)) return;
  // The snapshot is taken on the node's thread; the text is rendered on this one.
  auto snapshot = c.node.Run([](NodePort& node) { return node.Metrics(); });
  if (!snapshot) return Reply(res, snapshot.error());
  res.set_content(RenderMetrics(*snapshot), kMetricsContentType);
}

void PostAuthor(const Context& c, const Request& req, Response& res) {
  if (!c.Authorized(req, res)) return;
  v1::EventBody body;
  if (!FromJson(req.body, &body) || body.payload_case() == v1::EventBody::PAYLOAD_NOT_SET) {
    return Reply(res, Error{Errc::kInvalidArgument, "body is not an event payload"});
  }
  // The task owns the payload (nothing of this request's stack), and NodeHandle cancels it if
  // this request gives up before it starts: a 503 means nothing was authored, so a retry cannot
  // author the event twice, and a success always carries the receipt.
  auto authored =
      c.node.Run([body = std::move(body)](NodePort& node) { return node.Author(body); });
  if (!authored) return Reply(res, authored.error());
  if (!*authored) return Reply(res, authored->error());
  res.set_content(ToJson(**authored), kJsonContentType);
}

}  // namespace

void InstallRoutes(httplib::Server& server, NodeHandle& node, const std::string& token,
                   const ApiSettings& settings) {
  auto c = std::make_shared<const Context>(Context{node, "Bearer " + token, settings});
  server.Get("/healthz",
             [](const Request&, Response& res) { res.set_content("ok\n", "text/plain"); });
  server.Get("/api/v1/node", [c](const Request& req, Response& res) { GetNode(*c, req, res); });
  server.Get("/metrics", [c](const Request& req, Response& res) { GetMetrics(*c, req, res); });
  server.Post("/api/v1/author",
              [c](const Request& req, Response& res) { PostAuthor(*c, req, res); });
}

}  // namespace polder::api
