#include "crypto/noise/handshake.h"

#include <cstring>
#include <map>

#include <sodium.h>

namespace polder::crypto::noise {
namespace {

using Token = Handshake::Token;

struct PatternDef {
  std::vector<Token> pre_initiator;  // keys the responder knows before the handshake
  std::vector<Token> pre_responder;  // keys the initiator knows before the handshake
  std::vector<std::vector<Token>> messages;
};

// The interactive fundamental patterns (Noise spec, section 7.5).
const std::map<std::string, PatternDef, std::less<>>& Patterns() {
  using T = Token;
  static const std::map<std::string, PatternDef, std::less<>> kPatterns = {
      {"NN", {{}, {}, {{T::kE}, {T::kE, T::kEE}}}},
      {"NK", {{}, {T::kS}, {{T::kE, T::kES}, {T::kE, T::kEE}}}},
      {"NX", {{}, {}, {{T::kE}, {T::kE, T::kEE, T::kS, T::kES}}}},
      {"KN", {{T::kS}, {}, {{T::kE}, {T::kE, T::kEE, T::kSE}}}},
      {"KK", {{T::kS}, {T::kS}, {{T::kE, T::kES, T::kSS}, {T::kE, T::kEE, T::kSE}}}},
      {"KX", {{T::kS}, {}, {{T::kE}, {T::kE, T::kEE, T::kSE, T::kS, T::kES}}}},
      {"XN", {{}, {}, {{T::kE}, {T::kE, T::kEE}, {T::kS, T::kSE}}}},
      {"XK", {{}, {T::kS}, {{T::kE, T::kES}, {T::kE, T::kEE}, {T::kS, T::kSE}}}},
      {"XX", {{}, {}, {{T::kE}, {T::kE, T::kEE, T::kS, T::kES}, {T::kS, T::kSE}}}},
      {"IN", {{}, {}, {{T::kE, T::kS}, {T::kE, T::kEE, T::kSE}}}},
      {"IK", {{}, {T::kS}, {{T::kE, T::kES, T::kS, T::kSS}, {T::kE, T::kEE, T::kSE}}}},
      {"IX", {{}, {}, {{T::kE, T::kS}, {T::kE, T::kEE, T::kSE, T::kS, T::kES}}}},
  };
  return kPatterns;
}

constexpr std::string_view kPrefix = "Noise_";
constexpr std::string_view kSuite = "_25519_ChaChaPoly_BLAKE2b";

}  // namespace

KeyPair KeyPair::Generate() {
  InitSodium();
  KeyPair kp;
  randombytes_buf(kp.private_key.data(), kDhLen);
  crypto_scalarmult_base(kp.public_key.data(), kp.private_key.data());
  return kp;
}

Result<KeyPair> KeyPair::FromPrivate(ByteView private_key) {
  InitSodium();
  if (private_key.size() != kDhLen) return Fail(Errc::kInvalidArgument, "X25519 keys are 32 bytes");
  KeyPair kp;
  std::memcpy(kp.private_key.data(), private_key.data(), kDhLen);
  crypto_scalarmult_base(kp.public_key.data(), kp.private_key.data());
  return kp;
}

Result<Handshake> Handshake::Create(HandshakeConfig config) {
  const std::string_view name = config.protocol_name;
  if (name.substr(0, kPrefix.size()) != kPrefix || name.size() < kPrefix.size() + kSuite.size() ||
      name.substr(name.size() - kSuite.size()) != kSuite) {
    return Fail(
        Errc::kInvalidArgument,
        "noise: only the 25519_ChaChaPoly_BLAKE2b suite is supported, not " + std::string(name));
  }
  const std::string_view pattern =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuite.size());
  const std::string_view base = pattern.substr(0, 2);
  const auto def = Patterns().find(base);
  if (def == Patterns().end()) {
    return Fail(Errc::kInvalidArgument, "noise: unsupported pattern " + std::string(pattern));
  }
  Handshake hs(name);
  hs.initiator_ = config.initiator;
  hs.patterns_ = def->second.messages;
  // Modifiers: psk0, psk1, ... joined by '+'.
  std::string_view mods = pattern.substr(2);
  while (!mods.empty()) {
    const auto plus = mods.find('+');
    const std::string_view mod = mods.substr(0, plus);
    mods = plus == std::string_view::npos ? std::string_view() : mods.substr(plus + 1);
    if (mod.size() != 4 || mod.substr(0, 3) != "psk" || mod[3] < '0' || mod[3] > '9') {
      return Fail(Errc::kInvalidArgument, "noise: unsupported modifier " + std::string(mod));
    }
    const std::size_t n = static_cast<std::size_t>(mod[3] - '0');
    if (n == 0) {
      hs.patterns_.front().insert(hs.patterns_.front().begin(), Token::kPsk);
    } else if (n <= hs.patterns_.size()) {
      hs.patterns_[n - 1].push_back(Token::kPsk);
    } else {
      return Fail(Errc::kInvalidArgument, "noise: psk modifier beyond the last message");
    }
    hs.has_psk_ = true;
  }
  std::size_t psk_tokens = 0;
  for (const auto& m : hs.patterns_) {
    for (auto t : m) psk_tokens += t == Token::kPsk;
  }
  if (config.psks.size() != psk_tokens) {
    return Fail(Errc::kInvalidArgument, "noise: pattern needs " + std::to_string(psk_tokens) +
                                            " pre-shared keys, " +
                                            std::to_string(config.psks.size()) + " given");
  }
  hs.psks_ = std::move(config.psks);
  hs.s_ = std::move(config.s);
  hs.e_ = std::move(config.e);
  hs.rs_ = config.rs;

  hs.ss_.MixHash(config.prologue);
  // Pre-messages: the initiator's keys first, then the responder's (section 7.1).
  auto pre = [&](const std::vector<Token>& tokens, bool ours) -> Status {
    for (auto t : tokens) {
      if (t != Token::kS) return Fail(Errc::kInvalidArgument, "noise: unsupported pre-message");
      if (ours) {
        if (!hs.s_) return Fail(Errc::kInvalidArgument, "noise: pattern needs a local static key");
        hs.ss_.MixHash(hs.s_->public_key);
      } else {
        if (!hs.rs_)
          return Fail(Errc::kInvalidArgument, "noise: pattern needs the remote static key");
        hs.ss_.MixHash(*hs.rs_);
      }
    }
    return {};
  };
  if (auto s = pre(def->second.pre_initiator, hs.initiator_); !s)
    return Unexpected<Error>{s.error()};
  if (auto s = pre(def->second.pre_responder, !hs.initiator_); !s)
    return Unexpected<Error>{s.error()};
  return hs;
}

Status Handshake::Dh(ByteView priv, ByteView pub) {
  std::uint8_t shared[kDhLen];
  if (crypto_scalarmult(shared, priv.data(), pub.data()) != 0) {
    return Fail(Errc::kRefused, "noise: peer sent a low-order public key");
  }
  ss_.MixKey(ByteView(shared, kDhLen));
  sodium_memzero(shared, sizeof shared);
  return {};
}

Status Handshake::ApplyDh(Token t) {
  // es: initiator's e with responder's s; se: initiator's s with responder's e.
  const bool i = initiator_;
  auto need = [](bool ok) {
    return ok ? Status{} : Fail(Errc::kInvalidArgument, "noise: missing key");
  };
  switch (t) {
    case Token::kEE:
      if (auto s = need(e_ && re_); !s) return s;
      return Dh(e_->private_key.view(), *re_);
    case Token::kES:
      if (i) {
        if (auto s = need(e_ && rs_); !s) return s;
        return Dh(e_->private_key.view(), *rs_);
      }
      if (auto s = need(s_ && re_); !s) return s;
      return Dh(s_->private_key.view(), *re_);
    case Token::kSE:
      if (i) {
        if (auto s = need(s_ && re_); !s) return s;
        return Dh(s_->private_key.view(), *re_);
      }
      if (auto s = need(e_ && rs_); !s) return s;
      return Dh(e_->private_key.view(), *rs_);
    case Token::kSS:
      if (auto s = need(s_ && rs_); !s) return s;
      return Dh(s_->private_key.view(), *rs_);
    default: return Fail(Errc::kInternal, "noise: not a DH token");
  }
}

Result<Bytes> Handshake::Write(ByteView payload) {
  if (failed_) return Fail(Errc::kRefused, "noise: handshake already failed");
  if (!my_turn()) return Fail(Errc::kInvalidArgument, "noise: not our turn to write");
  Bytes out;
  for (auto t : patterns_[next_]) {
    Status st;
    switch (t) {
      case Token::kE: {
        if (!e_) e_ = KeyPair::Generate();
        out.insert(out.end(), e_->public_key.begin(), e_->public_key.end());
        ss_.MixHash(e_->public_key);
        if (has_psk_) ss_.MixKey(e_->public_key);
        break;
      }
      case Token::kS: {
        if (!s_) {
          st = Fail(Errc::kInvalidArgument, "noise: no local static key");
          break;
        }
        auto c = ss_.EncryptAndHash(s_->public_key);
        if (!c) {
          st = Unexpected<Error>{c.error()};
          break;
        }
        out.insert(out.end(), c->begin(), c->end());
        break;
      }
      case Token::kPsk: ss_.MixKeyAndHash(psks_[next_psk_++]); break;
      default: st = ApplyDh(t);
    }
    if (!st) {
      failed_ = true;
      return Unexpected<Error>{st.error()};
    }
  }
  if (out.size() + payload.size() + (ss_.HasKey() ? kTagLen : 0) > kMaxMessageLen) {
    failed_ = true;
    return Fail(Errc::kLimit, "noise: handshake message would exceed 65535 bytes");
  }
  auto c = ss_.EncryptAndHash(payload);
  if (!c) {
    failed_ = true;
    return Unexpected<Error>{c.error()};
  }
  out.insert(out.end(), c->begin(), c->end());
  ++next_;
  return out;
}

Result<Bytes> Handshake::Read(ByteView message) {
  if (failed_) return Fail(Errc::kRefused, "noise: handshake already failed");
  if (done() || my_turn()) return Fail(Errc::kRefused, "noise: unexpected handshake message");
  auto fail = [&](std::string why) -> Result<Bytes> {
    failed_ = true;
    return Fail(Errc::kRefused, "noise: " + std::move(why));
  };
  if (message.size() > kMaxMessageLen) return fail("handshake message larger than 65535 bytes");
  std::size_t pos = 0;
  const auto& tokens = patterns_[next_];
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token t = tokens[i];
    if (t == Token::kPsk && i + 1 == tokens.size() && !psk_alternatives_.empty()) {
      // The payload that follows is the first thing this key decides: try each key from a copy
      // of the state (no DH is repeated).
      const SymmetricState before = ss_.Clone();
      for (std::size_t k = 0; k <= psk_alternatives_.size(); ++k) {
        ss_ = before.Clone();
        ss_.MixKeyAndHash(k == 0 ? psks_[next_psk_] : psk_alternatives_[k - 1]);
        auto payload = ss_.DecryptAndHash(message.subspan(pos));
        if (payload) {
          ++next_psk_;
          ++next_;
          matched_psk_ = k;
          return payload;
        }
      }
      return fail(
          "cannot decrypt the handshake payload under any of the keys (wrong key, "
          "prologue or tampered)");
    }
    switch (t) {
      case Token::kE: {
        if (message.size() - pos < kDhLen) return fail("handshake message too short (e)");
        std::array<std::uint8_t, 32> re;
        std::memcpy(re.data(), message.data() + pos, kDhLen);
        pos += kDhLen;
        re_ = re;
        ss_.MixHash(re);
        if (has_psk_) ss_.MixKey(re);
        break;
      }
      case Token::kS: {
        const std::size_t len = kDhLen + (ss_.HasKey() ? kTagLen : 0);
        if (message.size() - pos < len) return fail("handshake message too short (s)");
        auto p = ss_.DecryptAndHash(message.subspan(pos, len));
        if (!p) return fail("cannot decrypt the peer's static key (wrong key or tampered)");
        pos += len;
        std::array<std::uint8_t, 32> rs;
        std::memcpy(rs.data(), p->data(), kDhLen);
        rs_ = rs;
        break;
      }
      case Token::kPsk: ss_.MixKeyAndHash(psks_[next_psk_++]); break;
      default:
        if (auto st = ApplyDh(t); !st) return fail(st.error().message);
    }
  }
  auto payload = ss_.DecryptAndHash(message.subspan(pos));
  if (!payload)
    return fail("cannot decrypt the handshake payload (wrong key, prologue or tampered)");
  ++next_;
  if (next_psk_ > 0 && !matched_psk_) matched_psk_ = 0;
  return payload;
}

Result<TransportKeys> Handshake::Split() {
  if (!done() || failed_) return Fail(Errc::kInvalidArgument, "noise: handshake not finished");
  if (split_) return Fail(Errc::kInvalidArgument, "noise: already split");
  split_ = true;
  auto [c1, c2] = ss_.Split();
  TransportKeys keys;
  keys.handshake_hash = ss_.handshake_hash();
  if (initiator_) {
    keys.send = std::move(c1);
    keys.recv = std::move(c2);
  } else {
    keys.send = std::move(c2);
    keys.recv = std::move(c1);
  }
  return keys;
}

}  // namespace polder::crypto::noise
