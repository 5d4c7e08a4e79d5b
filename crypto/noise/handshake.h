// Noise HandshakeState (rev. 34, section 5.3) for the 25519 / ChaChaPoly / BLAKE2b suite and the
// interactive patterns of section 7.5 with any psk modifiers (e.g. XX, XXpsk3, XXpsk0+psk3).
// Polder uses Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b with the circle's network key as the PSK,
// and Noise_XX_25519_ChaChaPoly_BLAKE2b without it. Sans-I/O: Write/Read turn payloads into
// handshake messages and back; the network layer frames and sends them.
//
// Thread-safety: none. Secrets are wiped when the state goes away.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "crypto/noise/symmetric_state.h"

namespace polder::crypto::noise {

inline constexpr std::size_t kDhLen = 32;
inline constexpr std::size_t kPskLen = 32;

// An X25519 key pair.
struct KeyPair {
  std::array<std::uint8_t, kDhLen> public_key{};
  SecretBytes private_key{kDhLen};

  static KeyPair Generate();
  static Result<KeyPair> FromPrivate(ByteView private_key);
};

struct HandshakeConfig {
  std::string protocol_name;  // e.g. "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"
  bool initiator = false;
  Bytes prologue;
  std::optional<KeyPair> s;                        // local static key pair
  std::optional<KeyPair> e;                        // local ephemeral: tests only (else random)
  std::optional<std::array<std::uint8_t, 32>> rs;  // remote static, for patterns that know it
  std::vector<std::array<std::uint8_t, 32>> psks;  // in the order the pattern uses them
};

struct TransportKeys {
  CipherState send;
  CipherState recv;
  Hash64 handshake_hash{};
};

class Handshake {
 public:
  static Result<Handshake> Create(HandshakeConfig config);

  // Next handshake message carrying `payload` (encrypted once a key exists). Fails when it is not
  // our turn, the handshake is over, or the message would exceed 65535 bytes.
  Result<Bytes> Write(ByteView payload);
  // Processes the peer's next handshake message; returns its payload. Any failure (short message,
  // bad point, failed decryption) is final: the handshake must be abandoned.
  Result<Bytes> Read(ByteView message);
  // Other keys the peer may use for a pre-shared key that is the last token of a message we read
  // (XXpsk3's, for a responder): Read tries the configured one, then each of these, in order.
  void SetPskAlternatives(std::vector<std::array<std::uint8_t, 32>> keys) {
    psk_alternatives_ = std::move(keys);
  }
  // Which key the peer used there: 0 the configured one, i the i-th alternative; nullopt before.
  std::optional<std::size_t> matched_psk() const { return matched_psk_; }

  bool done() const { return next_ >= patterns_.size(); }
  bool my_turn() const { return !done() && (next_ % 2 == 0) == initiator_; }
  const Hash64& handshake_hash() const { return ss_.handshake_hash(); }
  // Our static public key (empty if the pattern has none).
  ByteView local_static_public() const {
    return s_ ? ByteView(s_->public_key.data(), s_->public_key.size()) : ByteView();
  }
  // The peer's static public key, once the handshake has revealed it.
  const std::optional<std::array<std::uint8_t, 32>>& remote_static() const { return rs_; }
  // After done(): the transport cipher states (send, recv) for this side.
  Result<TransportKeys> Split();

  enum class Token { kE, kS, kEE, kES, kSE, kSS, kPsk };

 private:
  explicit Handshake(std::string_view name) : ss_(name) {}
  Status Dh(ByteView priv, ByteView pub);
  Status ApplyDh(Token t);

  SymmetricState ss_;
  bool initiator_ = false;
  bool has_psk_ = false;
  std::vector<std::vector<Token>> patterns_;
  std::size_t next_ = 0;
  std::optional<KeyPair> s_, e_;
  std::optional<std::array<std::uint8_t, 32>> rs_, re_;
  std::vector<std::array<std::uint8_t, 32>> psks_;
  std::size_t next_psk_ = 0;
  std::vector<std::array<std::uint8_t, 32>> psk_alternatives_;
  std::optional<std::size_t> matched_psk_;
  bool failed_ = false;
  bool split_ = false;
};

}  // namespace polder::crypto::noise
