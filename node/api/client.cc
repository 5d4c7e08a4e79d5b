#include "node/api/client.h"

#include <cerrno>

#include <httplib.h>
#include <signal.h>

#include "node/api/http_json.h"
#include "node/api/limits.h"

namespace polder::api {
namespace {

template <class M>
Result<M> Call(const Address& address, const std::string& token, const char* method,
               const std::string& path, const std::string& body) {
  httplib::Client http(address.host, address.port);
  http.set_connection_timeout(kClientConnectTimeout);
  http.set_read_timeout(kClientReadTimeout);
  httplib::Headers h = {{"Authorization", "Bearer " + token}};
  auto res =
      std::string(method) == "GET" ? http.Get(path, h) : http.Post(path, h, body, kJsonContentType);
  if (!res) return Fail(Errc::kUnavailable, "the node did not answer (" + path + ")");
  if (res->status != 200) {
    v1::ErrorView e;
    if (FromJson(res->body, &e) && !e.message().empty()) {
      return Fail(ErrcForHttpStatus(res->status), e.message());
    }
    return Fail(Errc::kInternal, "node answered HTTP " + std::to_string(res->status));
  }
  M m;
  if (!FromJson(res->body, &m)) return Fail(Errc::kInternal, "node answered something unreadable");
  return m;
}

}  // namespace

std::optional<ApiClient> ApiClient::Find(const ApiFiles& files) {
  auto address = ReadAddress(files);
  if (!address) return std::nullopt;
  // A stale api.json (the node was killed) names a process that is gone.
  if (address->pid <= 0 || (::kill(static_cast<pid_t>(address->pid), 0) != 0 && errno != EPERM)) {
    return std::nullopt;
  }
  auto token = ReadToken(files);
  if (!token) return std::nullopt;
  httplib::Client http(address->host, address->port);
  http.set_connection_timeout(kProbeConnectTimeout);
  http.set_read_timeout(kProbeReadTimeout);
  auto res = http.Get("/healthz");
  if (!res || res->status != 200) return std::nullopt;
  ApiClient c;
  c.address_ = std::move(*address);
  c.token_ = std::move(*token);
  return c;
}

Result<v1::EventReceipt> ApiClient::Author(const v1::EventBody& body) {
  return Call<v1::EventReceipt>(address_, token_, "POST", "/api/v1/author", ToJson(body));
}

Result<v1::NodeView> ApiClient::NodeInfo() {
  return Call<v1::NodeView>(address_, token_, "GET", "/api/v1/node", "");
}

}  // namespace polder::api
