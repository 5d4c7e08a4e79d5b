// Transport: one encrypted session's protocol, sans-I/O (no socket, no clock). Bytes from the
// peer go in through Feed(); bytes to send and application messages come out. The Asio Session
// (session.h) drives it; tests and fuzzers drive it directly.
//
//   handshake  Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b, PSK = the circle's network key,
//              prologue = "polder/1" || circle id
//   identity   HandshakeIdentity (the sender's Ed25519 member key and its signature over the
//              sender's Noise static key) travels only under keys that include the PSK: the
//              initiator's in message 3, the responder's as its first transport message; the
//              receiver checks both and membership before accepting anything else
//   framing    frame.h; rekey of each direction every `rekey_every` transport messages
//
// Any failure is final: the session must be closed with the returned reason.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "crypto/noise/handshake.h"
#include "node/net/frame.h"
#include "node/net/limits.h"

namespace polder::net {

enum class CloseReason {
  kHandshakeTimeout,
  kHandshakeFailed,  // wrong network key, wrong circle (prologue), tampered or malformed
  kBadIdentity,      // missing or invalid identity binding
  kNotMember,        // a valid key that is not admitted to the circle
  kBadFrame,         // malformed framing
  kDecryptFailed,    // tampered, replayed or out-of-order transport message
  kMessageTooLarge,  // application message over the limit
  kIdle,             // no complete message within the idle timeout
  kProtocol,         // the peer broke the session protocol
  kShutdown,         // we are closing
  kPeerClosed,       // the peer closed the connection
  kIoError,
  kOverloaded,  // our send queue to the peer reached its bound: it does not read its replies
};
const char* ToString(CloseReason r);

struct Closed {
  CloseReason reason;
  std::string message;
};

inline constexpr std::string_view kNoiseProtocol = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";
inline constexpr std::string_view kBindingContext = "polder/v1/noise-static";

struct TransportConfig {
  bool initiator = false;
  CircleId circle;
  std::array<std::uint8_t, 32> network_key{};
  // A responder also accepts these (network keys retired by a rotation, in their grace period:
  // docs/protocol.md §11); an initiator always uses network_key.
  std::vector<std::array<std::uint8_t, 32>> also_accept;
  const crypto::SigningKey* identity = nullptr;  // must outlive the Transport
  std::function<bool(const MemberKey&)> is_member;
  std::size_t max_app_message = kDefaultMaxAppMessageBytes;
  std::uint64_t rekey_every = kDefaultRekeyEveryMessages;
  std::optional<crypto::noise::KeyPair> noise_static;  // default: a fresh key per session
};

class Transport {
 public:
  static Result<Transport, Closed> Create(TransportConfig config);

  // The first bytes to send: the initiator's first handshake message; nothing for a responder.
  Result<Bytes, Closed> Start();

  struct Output {
    Bytes to_send;                // write these to the peer
    std::vector<Bytes> messages;  // application messages received
    bool keepalive = false;       // a keepalive (or any complete transport message) arrived
    bool became_ready = false;    // the handshake finished with this input
  };
  Result<Output, Closed> Feed(ByteView incoming);

  // Encrypts one application message. REQUIRES: ready().
  Result<Bytes, Closed> Send(ByteView message);
  // The same, appended to `out` (so callers can reuse buffers). On failure `out` is unchanged.
  std::optional<Closed> SendInto(ByteView message, Bytes& out);
  // Hands a received message's buffer back for reuse (optional).
  void Recycle(Bytes message) { app_.Recycle(std::move(message)); }
  // An empty transport message, to show liveness. REQUIRES: ready().
  Result<Bytes, Closed> Keepalive();

  bool ready() const { return ready_; }
  const MemberKey& peer() const { return peer_; }
  // Once ready, the network key the session was opened with: 0 network_key, i also_accept[i-1].
  std::size_t key_used() const { return key_used_; }
  // Bytes held for partly received frames and messages (for memory accounting and tests).
  std::size_t buffered() const { return frames_.buffered(); }

 private:
  explicit Transport(TransportConfig config, crypto::noise::Handshake hs)
      : config_(std::move(config)), hs_(std::move(hs)), app_(config_.max_app_message) {}
  Result<Bytes, Closed> IdentityPayload() const;
  std::optional<Closed> CheckIdentity(ByteView payload, ByteView remote_static);
  // Appends one framed transport message carrying `plaintext` to `out`.
  std::optional<Closed> SealInto(ByteView plaintext, Bytes& out);

  TransportConfig config_;
  std::optional<crypto::noise::Handshake> hs_;
  std::optional<crypto::noise::TransportKeys> keys_;
  FrameReader frames_;
  AppReader app_;
  bool ready_ = false;
  MemberKey peer_{};
  std::size_t key_used_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t received_ = 0;
  std::array<std::uint8_t, 32> local_static_{};   // our Noise static public key
  std::array<std::uint8_t, 32> remote_static_{};  // the peer's, once the handshake revealed it
  Bytes plain_;                                   // decrypted chunk, reused
  Bytes scratch_;                                 // first chunk of an outgoing message, reused
};

// The prologue both sides mix into the handshake: "polder/1" || circle id.
Bytes Prologue(const CircleId& circle);

}  // namespace polder::net
