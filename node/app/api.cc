#include "node/app/api.h"

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>

#include <asio/post.hpp>
#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include "crypto/identity.h"
#include "crypto/key_file.h"
#include "crypto/member_id.h"

namespace polder::app {
namespace {

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string ErrorJson(const Error& e) {
  v1::ErrorView v;
  v.set_code(ToString(e.code));
  v.set_message(e.message);
  return ToJson(v);
}

int HttpStatus(Errc c) {
  switch (c) {
    case Errc::kInvalidArgument: return 400;
    case Errc::kNotFound: return 404;
    case Errc::kRefused: return 422;
    case Errc::kPermission: return 403;
    case Errc::kUnavailable: return 503;
    default: return 500;
  }
}

// Runs `fn` on the node's thread and waits (bounded) for its result.
template <class F>
auto OnNodeThread(asio::io_context& io, F fn) -> std::optional<decltype(fn())> {
  auto task = std::make_shared<std::packaged_task<decltype(fn())()>>(std::move(fn));
  auto future = task->get_future();
  asio::post(io, [task] { (*task)(); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) return std::nullopt;
  return future.get();
}

}  // namespace

LocalApi::LocalApi(asio::io_context& io, Node& node, Home home, ApiSettings settings)
    : io_(io), node_(node), home_(std::move(home)), settings_(settings) {}

LocalApi::~LocalApi() { Stop(); }

Status LocalApi::Start(const std::string& host, int port) {
  // A fresh token each start; the file is 0600 and never readable by others.
  Bytes raw(32);
  crypto::RandomBytes(std::span(raw.data(), raw.size()));
  std::error_code ec;
  std::filesystem::remove(home_.api_token_file(), ec);
  if (auto s = crypto::WriteSecretFile(home_.api_token_file(), kApiTokenHeader, raw); !s) return s;
  token_ = ToHex(raw);
  server_ = std::make_unique<httplib::Server>();
  server_->set_read_timeout(10, 0);
  server_->set_write_timeout(10, 0);
  server_->set_payload_max_length(1 << 20);
  auto authorized = [this](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") == "Bearer " + token_) return true;
    res.status = 401;
    res.set_content(ErrorJson(Error{Errc::kPermission, "missing or wrong API token"}),
                    "application/json");
    return false;
  };
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/api/v1/node",
               [this, authorized](const httplib::Request& req, httplib::Response& res) {
                 if (!authorized(req, res)) return;
                 auto view = OnNodeThread(io_, [this] { return node_.View(); });
                 if (!view) {
                   res.status = 503;
                   return;
                 }
                 res.set_content(ToJson(*view), "application/json");
               });
  server_->Get("/metrics", [this, authorized](const httplib::Request& req, httplib::Response& res) {
    if (!settings_.metrics_public && !authorized(req, res)) return;
    // The snapshot is taken on the node's thread; the text is rendered on this one.
    auto snapshot = OnNodeThread(io_, [this] { return node_.Metrics(); });
    if (!snapshot) {
      res.status = 503;
      return;
    }
    res.set_content(RenderMetrics(*snapshot), kMetricsContentType);
  });
  server_->Post(
      "/api/v1/author", [this, authorized](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res)) return;
        v1::EventBody body;
        if (!google::protobuf::util::JsonStringToMessage(req.body, &body).ok() ||
            body.payload_case() == v1::EventBody::PAYLOAD_NOT_SET) {
          res.status = 400;
          res.set_content(ErrorJson(Error{Errc::kInvalidArgument, "body is not an event payload"}),
                          "application/json");
          return;
        }
        auto result = OnNodeThread(io_, [this, &body]() -> Result<v1::EventReceipt> {
          auto a = node_.Author([&](v1::EventBody& b) {
            v1::EventBody payload = body;
            payload.clear_author();
            payload.clear_seq();
            payload.clear_prev();
            payload.clear_timestamp_ms();
            if (!b.circle_id().empty()) payload.clear_circle_id();
            b.MergeFrom(payload);
          });
          if (!a) return Unexpected<Error>{a.error()};
          v1::EventReceipt r;
          r.set_event_id(a->id.hex());
          r.set_kind(a->kind);
          r.set_seq(a->seq);
          r.set_author(crypto::FormatMemberId(node_.session().key().public_key()));
          if (auto c = node_.session().replica().circle()) r.set_circle_id(c->hex());
          return r;
        });
        if (!result) {
          res.status = 503;
          res.set_content(ErrorJson(Error{Errc::kUnavailable, "node busy"}), "application/json");
        } else if (!*result) {
          res.status = HttpStatus(result->error().code);
          res.set_content(ErrorJson(result->error()), "application/json");
        } else {
          res.set_content(ToJson(**result), "application/json");
        }
      });
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) return Fail(Errc::kUnavailable, "cannot bind the local API on " + host);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // api.json: written to a temporary file and renamed, so readers never see half of it.
  std::ostringstream j;
  j << "{\"address\": \"" << host << ":" << port_ << "\", \"pid\": " << ::getpid() << "}\n";
  const auto tmp = home_.api_file().string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.str();
    if (!out.flush()) return Fail(Errc::kIo, "cannot write " + tmp);
  }
  std::filesystem::rename(tmp, home_.api_file(), ec);
  if (ec) return Fail(Errc::kIo, "cannot write " + home_.api_file().string());
  return {};
}

void LocalApi::Withdraw() {
  std::error_code ec;
  std::filesystem::remove(home_.api_file(), ec);
}

void LocalApi::Stop() {
  if (!server_) return;
  Withdraw();
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

std::optional<ApiClient> ApiClient::Find(const Home& home) {
  std::ifstream in(home.api_file());
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // {"address": "127.0.0.1:PORT", "pid": N}
  const auto a = text.find("\"address\": \"");
  const auto p = text.find("\"pid\": ");
  if (a == std::string::npos || p == std::string::npos) return std::nullopt;
  const auto start = a + 12;
  const auto end = text.find('"', start);
  if (end == std::string::npos) return std::nullopt;
  ApiClient c;
  c.address_ = text.substr(start, end - start);
  const auto colon = c.address_.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  c.host_ = c.address_.substr(0, colon);
  c.port_ = std::atoi(c.address_.c_str() + colon + 1);
  const long pid = std::atol(text.c_str() + p + 7);
  if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM)) return std::nullopt;
  auto token = crypto::LoadSecretFile(home.api_token_file(), kApiTokenHeader, 32);
  if (!token) return std::nullopt;
  c.token_ = ToHex(*token);
  httplib::Client http(c.host_, c.port_);
  http.set_connection_timeout(1, 0);
  http.set_read_timeout(2, 0);
  auto res = http.Get("/healthz");
  if (!res || res->status != 200) return std::nullopt;
  return c;
}

namespace {

template <class M>
Result<M> Call(const std::string& host, int port, const std::string& token, const char* method,
               const std::string& path, const std::string& body) {
  httplib::Client http(host, port);
  http.set_connection_timeout(2, 0);
  http.set_read_timeout(40, 0);
  httplib::Headers h = {{"Authorization", "Bearer " + token}};
  auto res = std::string(method) == "GET" ? http.Get(path, h)
                                          : http.Post(path, h, body, "application/json");
  if (!res) return Fail(Errc::kUnavailable, "the node did not answer (" + path + ")");
  if (res->status != 200) {
    v1::ErrorView e;
    if (google::protobuf::util::JsonStringToMessage(res->body, &e).ok() && !e.message().empty()) {
      Errc code = Errc::kInternal;
      if (res->status == 400) code = Errc::kInvalidArgument;
      if (res->status == 404) code = Errc::kNotFound;
      if (res->status == 422) code = Errc::kRefused;
      if (res->status == 401 || res->status == 403) code = Errc::kPermission;
      if (res->status == 503) code = Errc::kUnavailable;
      return Fail(code, e.message());
    }
    return Fail(Errc::kInternal, "node answered HTTP " + std::to_string(res->status));
  }
  M m;
  if (!google::protobuf::util::JsonStringToMessage(res->body, &m).ok()) {
    return Fail(Errc::kInternal, "node answered something unreadable");
  }
  return m;
}

}  // namespace

Result<v1::EventReceipt> ApiClient::Author(const v1::EventBody& body) {
  return Call<v1::EventReceipt>(host_, port_, token_, "POST", "/api/v1/author", ToJson(body));
}

Result<v1::NodeView> ApiClient::NodeInfo() {
  return Call<v1::NodeView>(host_, port_, token_, "GET", "/api/v1/node", "");
}

}  // namespace polder::app
