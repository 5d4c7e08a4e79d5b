#include "node/api/local_api.h"

#include <httplib.h>

#include "node/api/limits.h"
#include "node/api/routes.h"

namespace polder::api {

LocalApi::LocalApi(asio::any_io_executor node_executor, NodePort& node, ApiFiles files,
                   ApiSettings settings)
    : node_(std::move(node_executor), node, settings.node_wait),
      files_(std::move(files)),
      settings_(settings) {}

LocalApi::~LocalApi() { Stop(); }

Status LocalApi::Start(const std::string& host, int port) {
  auto token = WriteNewToken(files_);
  if (!token) return Unexpected<Error>{token.error()};
  server_ = std::make_unique<httplib::Server>();
  server_->set_read_timeout(kServerReadTimeout);
  server_->set_write_timeout(kServerWriteTimeout);
  server_->set_payload_max_length(kMaxRequestBodyBytes);
  InstallRoutes(*server_, node_, *token, settings_);
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) return Fail(Errc::kUnavailable, "cannot bind the local API on " + host);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return WriteAddress(files_, host, port_);
}

void LocalApi::Withdraw() { RemoveAddress(files_); }

void LocalApi::Stop() {
  if (!server_) return;
  Withdraw();
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace polder::api
