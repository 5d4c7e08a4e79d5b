// Bundle files: round trip, and a damaged file is refused whole.
#include "storage/bundle.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/testutil/circle.h"

namespace polder::storage {
namespace {

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        std::filesystem::temp_directory_path() / ("polder-bundle-" + std::to_string(::getpid()));
    std::filesystem::remove(path_);
    c_.Comment(0, "one");
    c_.Comment(0, "two");
    auto w = BundleWriter::Create(path_, c_.circle(), false);
    ASSERT_TRUE(w.has_value());
    for (const auto& ev : c_.events()) ASSERT_TRUE(w->Add(ev).has_value());
    ASSERT_TRUE(w->Finish().has_value());
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::vector<Bytes> ReadAll(Result<BundleInfo>* info) {
    std::vector<Bytes> out;
    *info = ReadBundle(path_, [&](ByteView ev) -> Status {
      out.emplace_back(ev.begin(), ev.end());
      return {};
    });
    return out;
  }

  testutil::TestCircle c_;
  std::filesystem::path path_;
};

TEST_F(BundleTest, RoundTripsEventsAndCircle) {
  Result<BundleInfo> info = Fail(Errc::kInternal, "");
  auto evs = ReadAll(&info);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->circle, c_.circle());
  EXPECT_EQ(info->events, 3u);
  EXPECT_EQ(evs, c_.events());
}

TEST_F(BundleTest, RefusesToOverwriteWithoutForce) {
  auto w = BundleWriter::Create(path_, c_.circle(), false);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code, Errc::kAlreadyExists);
}

TEST_F(BundleTest, EveryFlippedByteIsDetectedBeforeAnyEventIsHandedOut) {
  std::ifstream in(path_, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::string bad = data;
    bad[i] ^= 0x20;
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bad;
    int handed = 0;
    auto r = ReadBundle(path_, [&](ByteView) -> Status {
      ++handed;
      return {};
    });
    EXPECT_FALSE(r.has_value()) << "flip at " << i;
    EXPECT_EQ(handed, 0) << "flip at " << i;
  }
}

TEST_F(BundleTest, TruncationIsDetected) {
  const auto size = std::filesystem::file_size(path_);
  for (auto cut : {std::uintmax_t{0}, std::uintmax_t{10}, size / 2, size - 1}) {
    std::filesystem::resize_file(path_, cut);
    EXPECT_FALSE(ReadBundle(path_, nullptr).has_value()) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace polder::storage

#include "storage/own_log.h"

namespace polder::storage {
namespace {

TEST(OwnLog, TornTailIsIgnoredAndDamageInTheMiddleIsReported) {
  const auto path =
      std::filesystem::temp_directory_path() / ("polder-ownlog-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  {
    OwnLog log(path);
    ASSERT_TRUE(log.Append(AsBytes("first")).has_value());
    ASSERT_TRUE(log.Append(AsBytes("second")).has_value());
  }
  const auto size = std::filesystem::file_size(path);
  {  // a torn append: half a record at the end
    std::ofstream(path, std::ios::binary | std::ios::app) << std::string("\0\0\0\x09thi", 7);
    OwnLog log(path);
    auto all = log.ReadAll();
    ASSERT_TRUE(all.has_value());
    EXPECT_EQ(all->size(), 2u);
    ASSERT_TRUE(log.Append(AsBytes("third")).has_value());
    EXPECT_EQ(OwnLog(path).ReadAll()->size(), 3u);
  }
  {  // a flipped byte inside the first record, with records after it
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(6);
    f.put('X');
  }
  OwnLog log(path);
  auto all = log.ReadAll();
  ASSERT_FALSE(all.has_value());
  EXPECT_EQ(all.error().code, Errc::kCorruption);
  EXPECT_FALSE(log.Append(AsBytes("fourth")).has_value());
  EXPECT_GT(std::filesystem::file_size(path), size);  // nothing was cut away
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace polder::storage
