#include "node/net/frame.h"

#include <random>

#include <gtest/gtest.h>

namespace polder::net {
namespace {

TEST(FrameReader, ReassemblesFramesFedOneByteAtATime) {
  Bytes wire;
  AppendFrame(wire, AsBytes("hello"));
  AppendFrame(wire, Bytes(65535, 9));
  AppendFrame(wire, AsBytes("x"));
  FrameReader r;
  std::vector<Bytes> got;
  for (auto b : wire) {
    auto f = r.Feed(ByteView(&b, 1));
    ASSERT_TRUE(f.has_value());
    for (auto& x : *f) got.push_back(std::move(x));
    EXPECT_LE(r.buffered(), 65535u);
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].size(), 65535u);
  EXPECT_EQ(std::string(got[2].begin(), got[2].end()), "x");
}

TEST(FrameReader, RefusesEmptyFrame) {
  FrameReader r;
  EXPECT_FALSE(r.Feed(Bytes{0, 0}).has_value());
}

TEST(AppReader, RejectsLengthAboveLimitWithoutAllocating) {
  AppReader r(1000);
  Bytes header = {0xff, 0xff, 0xff, 0xff};
  auto out = r.Feed(header);
  ASSERT_FALSE(out.has_value());
  EXPECT_NE(out.error().message.find("exceeds"), std::string::npos);
}

TEST(AppReader, SplitsAndJoinsAcrossChunks) {
  std::mt19937 rng(3);
  Bytes msg(300'000);
  for (auto& b : msg) b = static_cast<std::uint8_t>(rng());
  std::vector<Bytes> chunks;
  Bytes scratch;
  ChunkAppMessage(msg, scratch, [&](ByteView c) {
    EXPECT_LE(c.size(), kMaxChunkBytes);
    chunks.emplace_back(c.begin(), c.end());
    return true;
  });
  EXPECT_EQ(chunks.size(), (msg.size() + 4 + kMaxChunkBytes - 1) / kMaxChunkBytes);
  AppReader r(1 << 20);
  std::vector<Bytes> got;
  for (const auto& c : chunks) {
    auto out = r.Feed(c);
    ASSERT_TRUE(out.has_value());
    for (auto& m : *out) got.push_back(std::move(m));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], msg);
  // An empty message is a message too.
  ChunkAppMessage(ByteView(), scratch, [&](ByteView c) {
    auto out = r.Feed(c);
    EXPECT_TRUE(out.has_value() && out->size() == 1 && (*out)[0].empty());
    return true;
  });
}

}  // namespace
}  // namespace polder::net
