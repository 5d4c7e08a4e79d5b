// Noise handshake behaviour beyond the vectors: what fails, and that it fails closed.
#include <gtest/gtest.h>

#include "crypto/noise/handshake.h"

namespace polder::crypto::noise {
namespace {

constexpr const char* kXXpsk3 = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b";

HandshakeConfig Cfg(bool initiator, std::uint8_t psk_byte = 7,
                    std::string prologue = "polder/1 circle") {
  HandshakeConfig c;
  c.protocol_name = kXXpsk3;
  c.initiator = initiator;
  c.prologue = Bytes(prologue.begin(), prologue.end());
  c.s = KeyPair::Generate();
  std::array<std::uint8_t, 32> psk;
  psk.fill(psk_byte);
  c.psks = {psk};
  return c;
}

struct Pair {
  Handshake i, r;
};

// Runs a full handshake; returns the error of the first failing step, if any.
std::optional<std::string> RunHandshake(Handshake& i, Handshake& r, int tamper_message = -1,
                                        std::size_t tamper_byte = 0) {
  Handshake* w = &i;
  Handshake* rd = &r;
  for (int m = 0; m < 3; ++m) {
    auto msg = w->Write(AsBytes("hello " + std::to_string(m)));
    if (!msg) return msg.error().message;
    if (m == tamper_message) (*msg)[tamper_byte % msg->size()] ^= 0x01;
    auto p = rd->Read(*msg);
    if (!p) return p.error().message;
    std::swap(w, rd);
  }
  return std::nullopt;
}

TEST(Noise, HandshakeSucceedsAndBothSidesAgree) {
  auto i = Handshake::Create(Cfg(true));
  auto r = Handshake::Create(Cfg(false));
  ASSERT_TRUE(i && r);
  ASSERT_FALSE(RunHandshake(*i, *r).has_value());
  EXPECT_TRUE(i->done() && r->done());
  EXPECT_EQ(i->handshake_hash(), r->handshake_hash());
  ASSERT_TRUE(i->remote_static().has_value());
  ASSERT_TRUE(r->remote_static().has_value());
  auto ik = i->Split();
  auto rk = r->Split();
  ASSERT_TRUE(ik && rk);
  auto ct = ik->send.EncryptWithAd({}, AsBytes("transport"));
  ASSERT_TRUE(ct.has_value());
  auto pt = rk->recv.DecryptWithAd({}, *ct);
  ASSERT_TRUE(pt.has_value());
  EXPECT_EQ(std::string(pt->begin(), pt->end()), "transport");
}

TEST(Noise, WrongPskFailsTheHandshake) {
  auto i = Handshake::Create(Cfg(true, 1));
  auto r = Handshake::Create(Cfg(false, 2));
  auto err = RunHandshake(*i, *r);
  ASSERT_TRUE(err.has_value());
  // The responder notices on the last message: without the PSK nobody finishes.
  EXPECT_FALSE(r->done());
}

TEST(Noise, WrongPrologueFailsTheHandshake) {
  auto i = Handshake::Create(Cfg(true, 7, "polder/1 circle A"));
  auto r = Handshake::Create(Cfg(false, 7, "polder/1 circle B"));
  EXPECT_TRUE(RunHandshake(*i, *r).has_value());
}

TEST(Noise, EveryTamperedHandshakeByteIsCaught) {
  for (int m = 0; m < 3; ++m) {
    for (std::size_t b = 0; b < 200; b += 7) {
      auto i = Handshake::Create(Cfg(true));
      auto r = Handshake::Create(Cfg(false));
      auto err = RunHandshake(*i, *r, m, b);
      // Message 0 is only an ephemeral key and a plaintext payload: a flipped byte there changes
      // the transcript, so the failure shows on a later message. Either way nobody finishes.
      EXPECT_TRUE(err.has_value()) << "message " << m << " byte " << b;
      EXPECT_FALSE(i->done() && r->done());
    }
  }
}

TEST(Noise, TamperedOrReplayedTransportMessageIsRefused) {
  auto i = Handshake::Create(Cfg(true));
  auto r = Handshake::Create(Cfg(false));
  ASSERT_FALSE(RunHandshake(*i, *r).has_value());
  auto ik = *i->Split();
  auto rk = *r->Split();
  auto c1 = *ik.send.EncryptWithAd({}, AsBytes("one"));
  auto c2 = *ik.send.EncryptWithAd({}, AsBytes("two"));
  Bytes bad = c1;
  bad[1] ^= 0x80;
  EXPECT_FALSE(rk.recv.DecryptWithAd({}, bad).has_value());
  EXPECT_TRUE(rk.recv.DecryptWithAd({}, c1).has_value());
  EXPECT_FALSE(rk.recv.DecryptWithAd({}, c1).has_value()) << "replay accepted";
  EXPECT_TRUE(rk.recv.DecryptWithAd({}, c2).has_value());
}

TEST(Noise, RekeyKeepsBothSidesInStep) {
  auto i = Handshake::Create(Cfg(true));
  auto r = Handshake::Create(Cfg(false));
  ASSERT_FALSE(RunHandshake(*i, *r).has_value());
  auto ik = *i->Split();
  auto rk = *r->Split();
  auto before = *ik.send.EncryptWithAd({}, AsBytes("x"));
  ik.send.Rekey();
  rk.recv.Rekey();
  auto after = *ik.send.EncryptWithAd({}, AsBytes("x"));
  EXPECT_NE(before, after);
  EXPECT_FALSE(rk.recv.DecryptWithAd({}, before).has_value());  // old key no longer works
  rk.recv.SetNonce(1);
  EXPECT_TRUE(rk.recv.DecryptWithAd({}, after).has_value());
}

TEST(Noise, NonceExhaustionIsAnErrorNotAWrap) {
  CipherState c;
  std::array<std::uint8_t, 32> k{};
  c.InitializeKey(k);
  c.SetNonce(kMaxNonce);
  EXPECT_TRUE(c.EncryptWithAd({}, AsBytes("last")).has_value());
  EXPECT_FALSE(c.EncryptWithAd({}, AsBytes("one too many")).has_value());
}

TEST(Noise, RefusesOversizeAndOutOfTurnMessages) {
  auto i = Handshake::Create(Cfg(true));
  auto r = Handshake::Create(Cfg(false));
  EXPECT_FALSE(r->Write(AsBytes("responder first")).has_value());
  Bytes huge(kMaxMessageLen, 0);
  EXPECT_FALSE(i->Write(huge).has_value());
  auto r2 = Handshake::Create(Cfg(false));
  EXPECT_FALSE(r2->Read(Bytes(kMaxMessageLen + 1, 0)).has_value());
  auto r3 = Handshake::Create(Cfg(false));
  EXPECT_FALSE(r3->Read(Bytes(5, 0)).has_value());  // shorter than an ephemeral key
}

TEST(Noise, LowOrderEphemeralIsRefused) {
  auto i = Handshake::Create(Cfg(true));
  auto r = Handshake::Create(Cfg(false));
  auto m0 = *i->Write({});
  ASSERT_TRUE(r->Read(m0).has_value());
  auto m1 = *r->Write({});
  std::fill(m1.begin(), m1.begin() + 32, 0);  // the all-zero point
  auto p = i->Read(m1);
  ASSERT_FALSE(p.has_value());
  EXPECT_FALSE(i->Write({}).has_value()) << "a failed handshake must stay failed";
}

TEST(Noise, RefusesUnsupportedProtocols) {
  for (const char* name :
       {"Noise_XX_448_ChaChaPoly_BLAKE2b", "Noise_XX_25519_AESGCM_SHA256",
        "Noise_QQ_25519_ChaChaPoly_BLAKE2b", "Noise_XXfallback_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXpsk9_25519_ChaChaPoly_BLAKE2b", "garbage"}) {
    HandshakeConfig c = Cfg(true);
    c.protocol_name = name;
    EXPECT_FALSE(Handshake::Create(std::move(c)).has_value()) << name;
  }
  HandshakeConfig c = Cfg(true);
  c.psks.clear();
  EXPECT_FALSE(Handshake::Create(std::move(c)).has_value()) << "XXpsk3 without a PSK";
}

}  // namespace
}  // namespace polder::crypto::noise
