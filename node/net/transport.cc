#include "node/net/transport.h"

#include "polder/v1/wire.pb.h"

namespace polder::net {
namespace {

Unexpected<Closed> Close(CloseReason r, std::string message) {
  return {Closed{r, std::move(message)}};
}

}  // namespace

const char* ToString(CloseReason r) {
  switch (r) {
    case CloseReason::kHandshakeTimeout: return "handshake_timeout";
    case CloseReason::kHandshakeFailed: return "handshake_failed";
    case CloseReason::kBadIdentity: return "bad_identity";
    case CloseReason::kNotMember: return "not_member";
    case CloseReason::kBadFrame: return "bad_frame";
    case CloseReason::kDecryptFailed: return "decrypt_failed";
    case CloseReason::kMessageTooLarge: return "message_too_large";
    case CloseReason::kIdle: return "idle";
    case CloseReason::kProtocol: return "protocol";
    case CloseReason::kShutdown: return "shutdown";
    case CloseReason::kPeerClosed: return "peer_closed";
    case CloseReason::kIoError: return "io_error";
    case CloseReason::kOverloaded: return "send_queue_full";
  }
  return "unknown";
}

Bytes Prologue(const CircleId& circle) {
  constexpr std::string_view kTag = "polder/1";
  Bytes p(kTag.size() + circle.bytes.size());
  std::copy(kTag.begin(), kTag.end(), p.begin());
  std::copy(circle.bytes.begin(), circle.bytes.end(), p.begin() + static_cast<long>(kTag.size()));
  return p;
}

Result<Transport, Closed> Transport::Create(TransportConfig config) {
  if (!config.identity || !config.is_member) {
    return Close(CloseReason::kProtocol, "transport needs an identity and a membership check");
  }
  if (config.rekey_every == 0 || config.max_app_message == 0 ||
      config.max_app_message > 0xffffffffu) {
    return Close(CloseReason::kProtocol, "rekey interval and message limit must be 1 .. 2^32-1");
  }
  crypto::noise::HandshakeConfig hc;
  hc.protocol_name = std::string(kNoiseProtocol);
  hc.initiator = config.initiator;
  hc.prologue = Prologue(config.circle);
  hc.s = config.noise_static ? std::move(config.noise_static) : crypto::noise::KeyPair::Generate();
  config.noise_static.reset();
  const auto local_static = hc.s->public_key;
  hc.psks = {config.network_key};
  auto hs = crypto::noise::Handshake::Create(std::move(hc));
  if (!hs) return Close(CloseReason::kProtocol, hs.error().message);
  if (!config.initiator) hs->SetPskAlternatives(config.also_accept);
  Transport t(std::move(config), std::move(*hs));
  std::copy(local_static.begin(), local_static.end(), t.local_static_.begin());
  return t;
}

Result<Bytes, Closed> Transport::IdentityPayload() const {
  // Bind our member key to the Noise static key this session uses.
  v1::HandshakeIdentity id;
  id.set_version(kSessionProtocolVersion);
  id.set_member_key(config_.identity->public_key().str());
  const auto sig = config_.identity->Sign(kBindingContext, local_static_);
  id.set_binding(std::string(reinterpret_cast<const char*>(sig.data()), sig.size()));
  Bytes out(id.ByteSizeLong());
  id.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

std::optional<Closed> Transport::CheckIdentity(ByteView payload, ByteView remote_static) {
  v1::HandshakeIdentity id;
  if (!id.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Closed{CloseReason::kBadIdentity, "identity payload does not parse"};
  }
  if (id.version() != kSessionProtocolVersion) {
    return Closed{CloseReason::kProtocol,
                  "peer speaks session protocol " + std::to_string(id.version())};
  }
  auto key = MemberKey::FromBytes(AsBytes(id.member_key()));
  if (!key) return Closed{CloseReason::kBadIdentity, "member key is not 32 bytes"};
  if (remote_static.size() != 32 ||
      !crypto::Verify(*key, kBindingContext, remote_static, AsBytes(id.binding()))) {
    return Closed{CloseReason::kBadIdentity, "member key is not bound to the session key"};
  }
  if (!config_.is_member(*key)) {
    return Closed{CloseReason::kNotMember, "peer is not a member of this circle"};
  }
  peer_ = *key;
  return std::nullopt;
}

Result<Bytes, Closed> Transport::Start() {
  Bytes out;
  if (!config_.initiator) return out;
  auto m = hs_->Write({});
  if (!m) return Close(CloseReason::kHandshakeFailed, m.error().message);
  AppendFrame(out, *m);
  return out;
}

Result<Transport::Output, Closed> Transport::Feed(ByteView incoming) {
  Output out;
  std::optional<Closed> closed;
  auto close = [&](CloseReason r, std::string m) -> Status {
    closed = Closed{r, std::move(m)};
    return Fail(Errc::kRefused, "closed");
  };
  Status fed = frames_.FeedFrames(incoming, [&](ByteView frame) -> Status {
    if (!keys_) {
      // The handshake. Identities travel only under keys that include the network key (PSK):
      // the initiator's in message 3, the responder's in its first transport message. So a
      // node without the network key learns no member's identity, and the initiator is ready
      // only once the responder has proved it holds the key.
      auto payload = hs_->Read(frame);
      if (!payload) return close(CloseReason::kHandshakeFailed, payload.error().message);
      if (!hs_->done()) {
        if (!payload->empty()) {
          return close(CloseReason::kProtocol, "unexpected payload in a handshake message");
        }
        auto id = config_.initiator ? IdentityPayload() : Result<Bytes, Closed>(Bytes());
        if (!id) return close(id.error().reason, id.error().message);
        auto m = hs_->Write(*id);
        if (!m) return close(CloseReason::kHandshakeFailed, m.error().message);
        AppendFrame(out.to_send, *m);
      } else {  // the responder has read message 3
        const auto& rs = *hs_->remote_static();
        if (auto bad = CheckIdentity(*payload, ByteView(rs.data(), rs.size()))) {
          return close(bad->reason, bad->message);
        }
      }
      if (hs_->done()) {
        remote_static_ = *hs_->remote_static();
        key_used_ = hs_->matched_psk().value_or(0);
        auto keys = hs_->Split();
        if (!keys) return close(CloseReason::kHandshakeFailed, keys.error().message);
        keys_.emplace(std::move(*keys));
        hs_.reset();  // wipes handshake secrets
        if (!config_.initiator) {
          auto id = IdentityPayload();
          if (!id) return close(id.error().reason, id.error().message);
          if (auto e = SealInto(*id, out.to_send)) return close(e->reason, e->message);
          ready_ = true;
          out.became_ready = true;
        }
      }
      return {};
    }
    if (!ready_) {  // the initiator, waiting for the responder's identity
      plain_.clear();
      if (auto d = keys_->recv.DecryptAppend({}, frame, plain_); !d) {
        return close(CloseReason::kDecryptFailed, d.error().message);
      }
      if (++received_ % config_.rekey_every == 0) keys_->recv.Rekey();
      if (auto bad = CheckIdentity(plain_, remote_static_)) return close(bad->reason, bad->message);
      ready_ = true;
      out.became_ready = true;
      return {};
    }
    plain_.clear();
    if (auto d = keys_->recv.DecryptAppend({}, frame, plain_); !d) {
      return close(CloseReason::kDecryptFailed, d.error().message);
    }
    if (++received_ % config_.rekey_every == 0) keys_->recv.Rekey();
    out.keepalive = true;
    if (plain_.empty()) return {};
    auto msgs = app_.Feed(plain_);
    if (!msgs) return close(CloseReason::kMessageTooLarge, msgs.error().message);
    for (auto& m : *msgs) out.messages.push_back(std::move(m));
    return {};
  });
  if (closed) return Unexpected<Closed>{std::move(*closed)};
  if (!fed) return Close(CloseReason::kBadFrame, fed.error().message);
  return out;
}

std::optional<Closed> Transport::SealInto(ByteView plaintext, Bytes& out) {
  const std::size_t len = plaintext.size() + kNoiseTagBytes;
  out.push_back(static_cast<std::uint8_t>(len >> 8));
  out.push_back(static_cast<std::uint8_t>(len & 0xff));
  if (auto c = keys_->send.EncryptAppend({}, plaintext, out); !c) {
    return Closed{CloseReason::kProtocol, c.error().message};
  }
  if (++sent_ % config_.rekey_every == 0) keys_->send.Rekey();
  return std::nullopt;
}

Result<Bytes, Closed> Transport::Send(ByteView message) {
  Bytes out;
  if (auto e = SendInto(message, out)) return Unexpected<Closed>{std::move(*e)};
  return out;
}

std::optional<Closed> Transport::SendInto(ByteView message, Bytes& out) {
  if (!ready_) {
    return Closed{CloseReason::kProtocol, "send before the handshake finished"};
  }
  if (message.size() > config_.max_app_message) {
    return Closed{CloseReason::kMessageTooLarge, "outgoing message over the limit"};
  }
  // Each chunk is sealed straight into the output: one buffer, no copies but the first chunk's.
  const std::size_t start = out.size();
  out.reserve(start + message.size() +
              (message.size() / kMaxChunkBytes + 1) * (2 + kNoiseTagBytes) + 4);
  std::optional<Closed> err;
  ChunkAppMessage(message, scratch_, [&](ByteView chunk) {
    err = SealInto(chunk, out);
    return !err;
  });
  if (err) out.resize(start);
  return err;
}

Result<Bytes, Closed> Transport::Keepalive() {
  if (!ready_) return Close(CloseReason::kProtocol, "keepalive before the handshake finished");
  Bytes out;
  if (auto e = SealInto({}, out)) return Unexpected<Closed>{std::move(*e)};
  return out;
}

}  // namespace polder::net
