// The Noise handshake and transport against published test vectors (cacophony JSON format):
// every vector in ../shared/noise/vectors.json and published-checks.json, and every vector in the
// file named by $POLDER_NOISE_VECTORS when set. Each is run as initiator and as responder, and
// must reproduce every ciphertext and the handshake hash byte for byte.
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/noise/handshake.h"

namespace polder::crypto::noise {
namespace {

using nlohmann::json;

Bytes Hex(const json& j) {
  auto r = FromHex(j.get<std::string>());
  EXPECT_TRUE(r.has_value());
  return r ? *r : Bytes{};
}

std::array<std::uint8_t, 32> Key32(const json& j) {
  const Bytes b = Hex(j);
  std::array<std::uint8_t, 32> k{};
  EXPECT_EQ(b.size(), 32u);
  std::copy_n(b.begin(), std::min<std::size_t>(32, b.size()), k.begin());
  return k;
}

HandshakeConfig Config(const json& v, bool initiator) {
  const std::string p = initiator ? "init_" : "resp_";
  HandshakeConfig c;
  c.protocol_name = v["protocol_name"];
  c.initiator = initiator;
  c.prologue = Hex(v.value(p + "prologue", json("")));
  if (v.contains(p + "static")) c.s = *KeyPair::FromPrivate(Hex(v[p + "static"]));
  if (v.contains(p + "ephemeral")) c.e = *KeyPair::FromPrivate(Hex(v[p + "ephemeral"]));
  if (v.contains(p + "remote_static")) c.rs = Key32(v[p + "remote_static"]);
  if (v.contains(p + "psks")) {
    for (const auto& k : v[p + "psks"]) c.psks.push_back(Key32(k));
  }
  return c;
}

struct Tally {
  int vectors = 0;
  int messages = 0;
  int skipped = 0;
};

// Runs one vector (counted as skipped if this implementation does not support its protocol).
void RunVector(const json& v, const std::string& where, Tally& tally) {
  auto init = Handshake::Create(Config(v, true));
  auto resp = Handshake::Create(Config(v, false));
  if (!init || !resp) {
    const std::string why = !init ? init.error().message : resp.error().message;
    if (why.find("unsupported") != std::string::npos || why.find("only the") != std::string::npos) {
      ++tally.skipped;
      return;
    }
    ADD_FAILURE() << where << ": " << why;
    return;
  }
  std::optional<TransportKeys> ik, rk;
  const auto& msgs = v["messages"];
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    SCOPED_TRACE(where + " message " + std::to_string(i));
    const Bytes payload = Hex(msgs[i]["payload"]);
    const Bytes expected = Hex(msgs[i]["ciphertext"]);
    const bool from_initiator = i % 2 == 0;
    Handshake& writer = from_initiator ? *init : *resp;
    Handshake& reader = from_initiator ? *resp : *init;
    Bytes ct, pt;
    if (!writer.done()) {
      auto w = writer.Write(payload);
      ASSERT_TRUE(w.has_value()) << w.error().message;
      ct = *w;
      ASSERT_EQ(ToHex(ct), ToHex(expected));
      auto r = reader.Read(ct);
      ASSERT_TRUE(r.has_value()) << r.error().message;
      pt = *r;
      if (init->done() && resp->done()) {
        ik = *init->Split();
        rk = *resp->Split();
        if (v.contains("handshake_hash")) {
          EXPECT_EQ(ToHex(init->handshake_hash()), v["handshake_hash"].get<std::string>());
          EXPECT_EQ(ToHex(resp->handshake_hash()), v["handshake_hash"].get<std::string>());
        }
      }
    } else {
      ASSERT_TRUE(ik && rk);
      CipherState& send = from_initiator ? ik->send : rk->send;
      CipherState& recv = from_initiator ? rk->recv : ik->recv;
      auto w = send.EncryptWithAd({}, payload);
      ASSERT_TRUE(w.has_value()) << w.error().message;
      ct = *w;
      ASSERT_EQ(ToHex(ct), ToHex(expected));
      auto r = recv.DecryptWithAd({}, ct);
      ASSERT_TRUE(r.has_value()) << r.error().message;
      pt = *r;
    }
    ASSERT_EQ(pt, payload);
    ++tally.messages;
  }
  ++tally.vectors;
}

Tally RunFile(const std::string& path) {
  Tally t;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return t;
  }
  const json doc = json::parse(in);
  const json& vectors = doc.is_array() ? doc : doc["vectors"];
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    RunVector(
        vectors[i],
        path + " #" + std::to_string(i) + " " + vectors[i].value("protocol_name", std::string("?")),
        t);
  }
  std::cout << "[ noise ] " << path << ": checked " << t.vectors << " vectors (" << t.messages
            << " messages) as initiator and responder; skipped " << t.skipped
            << " of unsupported suites\n";
  return t;
}

std::string Shared() {
  const char* s = std::getenv("POLDER_SHARED");
  return s && *s ? s : POLDER_SHARED_DIR;
}

TEST(NoiseVectors, SharedVectorsReproduceByteForByte) {
  const Tally t = RunFile(Shared() + "/noise/vectors.json");
  EXPECT_EQ(t.vectors, 12);  // 6 XXpsk3 + 6 XX (shared/noise/README.md)
  EXPECT_EQ(t.messages, 156);
}

TEST(NoiseVectors, PublishedChecksReproduceByteForByte) {
  const Tally t = RunFile(Shared() + "/noise/published-checks.json");
  EXPECT_EQ(t.vectors, 4);
}

TEST(NoiseVectors, ExtraVectorFileFromEnvironment) {
  const char* extra = std::getenv("POLDER_NOISE_VECTORS");
  if (!extra || !*extra) GTEST_SKIP() << "POLDER_NOISE_VECTORS not set";
  const Tally t = RunFile(extra);
  EXPECT_GT(t.vectors, 0);
}

}  // namespace
}  // namespace polder::crypto::noise
