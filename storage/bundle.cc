#include "storage/bundle.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "storage/limits.h"
#include "storage/rulebook/limits.h"

namespace polder::storage {
namespace {

constexpr std::size_t kHeaderBytes = 8 + 32 + 8;
constexpr std::size_t kTrailerBytes = 32;

void PutU64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}
std::uint64_t GetU64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}
std::uint32_t GetU32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

struct File {
  std::FILE* f = nullptr;
  ~File() {
    if (f) std::fclose(f);
  }
};

}  // namespace

struct BundleWriter::State {
  std::filesystem::path path;
  std::filesystem::path tmp;
  File file;
  std::uint64_t count = 0;
  bool finished = false;

  Status Write(ByteView data) {
    if (std::fwrite(data.data(), 1, data.size(), file.f) != data.size()) {
      return Fail(Errc::kIo, "cannot write " + tmp.string() + ": " + std::strerror(errno));
    }
    return {};
  }
};

BundleWriter::BundleWriter(BundleWriter&&) noexcept = default;
BundleWriter::~BundleWriter() {
  if (s_ && !s_->finished) {
    std::error_code ec;
    std::filesystem::remove(s_->tmp, ec);
  }
}

Result<BundleWriter> BundleWriter::Create(const std::filesystem::path& path, const CircleId& circle,
                                          bool overwrite) {
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec)) {
    return Fail(Errc::kAlreadyExists,
                path.string() + " exists; choose another name or use --force");
  }
  BundleWriter w;
  w.s_ = std::make_unique<State>();
  w.s_->path = path;
  w.s_->tmp = path.string() + ".partial";
  w.s_->file.f = std::fopen(w.s_->tmp.c_str(), "wb");
  if (!w.s_->file.f) {
    return Fail(Errc::kIo, "cannot create " + w.s_->tmp.string() + ": " + std::strerror(errno));
  }
  std::uint8_t header[kHeaderBytes] = {};
  std::memcpy(header, kBundleMagic.data(), 8);
  std::memcpy(header + 8, circle.bytes.data(), 32);  // the count is patched in Finish()
  if (auto s = w.s_->Write(ByteView(header, kHeaderBytes)); !s) return Unexpected<Error>{s.error()};
  return w;
}

Status BundleWriter::Add(ByteView event) {
  if (event.size() > rulebook::kMaxEventBytes)
    return Fail(Errc::kLimit, "event too large for a bundle");
  std::uint8_t len[4] = {
      static_cast<std::uint8_t>(event.size() >> 24), static_cast<std::uint8_t>(event.size() >> 16),
      static_cast<std::uint8_t>(event.size() >> 8), static_cast<std::uint8_t>(event.size())};
  if (auto s = s_->Write(ByteView(len, 4)); !s) return s;
  if (auto s = s_->Write(event); !s) return s;
  ++s_->count;
  return {};
}

Status BundleWriter::Finish() {
  // The count is known only now: patch it into the header, then hash the file as it is on disk,
  // so the checksum covers exactly the bytes a reader will see.
  std::uint8_t count[8];
  PutU64(count, s_->count);
  if (std::fflush(s_->file.f) != 0 || std::fseek(s_->file.f, 40, SEEK_SET) != 0 ||
      std::fwrite(count, 1, 8, s_->file.f) != 8 || std::fflush(s_->file.f) != 0) {
    return Fail(Errc::kIo, "cannot write " + s_->tmp.string());
  }
  // Re-read to hash exactly what is on disk.
  crypto::Hasher h(crypto::kDomainBundle);
  std::FILE* rf = std::fopen(s_->tmp.c_str(), "rb");
  if (!rf) return Fail(Errc::kIo, "cannot reopen " + s_->tmp.string());
  std::vector<std::uint8_t> buf(1 << 16);
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), rf)) > 0) h.Update(ByteView(buf.data(), n));
  std::fclose(rf);
  const Digest32 d = h.Final();
  if (std::fseek(s_->file.f, 0, SEEK_END) != 0 ||
      std::fwrite(d.bytes.data(), 1, 32, s_->file.f) != 32 || std::fflush(s_->file.f) != 0 ||
      ::fsync(fileno(s_->file.f)) != 0) {
    return Fail(Errc::kIo, "cannot finish " + s_->tmp.string());
  }
  std::fclose(s_->file.f);
  s_->file.f = nullptr;
  std::error_code ec;
  std::filesystem::rename(s_->tmp, s_->path, ec);
  if (ec) return Fail(Errc::kIo, "cannot rename to " + s_->path.string() + ": " + ec.message());
  s_->finished = true;
  return {};
}

Result<BundleInfo> ReadBundle(const std::filesystem::path& path,
                              const std::function<Status(ByteView)>& sink) {
  File file;
  file.f = std::fopen(path.c_str(), "rb");
  if (!file.f)
    return Fail(Errc::kNotFound, "cannot open " + path.string() + ": " + std::strerror(errno));
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size < kHeaderBytes + kTrailerBytes) {
    return Fail(Errc::kInvalidArgument, path.string() + " is not a Polder bundle (too short)");
  }
  std::uint8_t header[kHeaderBytes];
  if (std::fread(header, 1, kHeaderBytes, file.f) != kHeaderBytes ||
      std::memcmp(header, kBundleMagic.data(), 8) != 0) {
    return Fail(Errc::kInvalidArgument, path.string() + " is not a Polder bundle (bad magic)");
  }
  BundleInfo info;
  std::memcpy(info.circle.bytes.data(), header + 8, 32);
  info.events = GetU64(header + 40);
  if (info.events > kMaxBundleEvents) {
    return Fail(Errc::kLimit, path.string() + " claims more events than a bundle may hold");
  }

  // Pass 1: hash and structure, without keeping anything.
  const std::uint64_t body_end = size - kTrailerBytes;
  crypto::Hasher h(crypto::kDomainBundle);
  h.Update(ByteView(header, kHeaderBytes));
  std::vector<std::uint8_t> buf(rulebook::kMaxEventBytes);
  std::uint64_t pos = kHeaderBytes;
  std::uint64_t records = 0;
  while (pos < body_end) {
    std::uint8_t len_bytes[4];
    if (body_end - pos < 4 || std::fread(len_bytes, 1, 4, file.f) != 4) {
      return Fail(Errc::kCorruption, path.string() + " is truncated or damaged (record length)");
    }
    const std::uint32_t len = GetU32(len_bytes);
    if (len > rulebook::kMaxEventBytes) {
      return Fail(Errc::kCorruption, path.string() + " is damaged: record of " +
                                         std::to_string(len) + " bytes at offset " +
                                         std::to_string(pos));
    }
    if (body_end - pos - 4 < len) {
      return Fail(Errc::kCorruption, path.string() + " is truncated or damaged: record at offset " +
                                         std::to_string(pos) + " runs past the end");
    }
    if (std::fread(buf.data(), 1, len, file.f) != len) {
      return Fail(Errc::kCorruption, path.string() + " is truncated");
    }
    h.Update(ByteView(len_bytes, 4)).Update(ByteView(buf.data(), len));
    pos += 4 + len;
    ++records;
  }
  std::uint8_t trailer[kTrailerBytes];
  if (std::fread(trailer, 1, kTrailerBytes, file.f) != kTrailerBytes) {
    return Fail(Errc::kCorruption, path.string() + " is truncated (no checksum)");
  }
  if (std::memcmp(h.Final().bytes.data(), trailer, kTrailerBytes) != 0) {
    return Fail(Errc::kCorruption, path.string() + " is damaged: checksum does not match");
  }
  if (records != info.events) {
    return Fail(Errc::kCorruption, path.string() + " holds " + std::to_string(records) +
                                       " events but its header says " +
                                       std::to_string(info.events));
  }
  if (!sink) return info;

  // Pass 2: hand out the events.
  if (std::fseek(file.f, static_cast<long>(kHeaderBytes), SEEK_SET) != 0) {
    return Fail(Errc::kIo, "cannot seek in " + path.string());
  }
  for (std::uint64_t i = 0; i < records; ++i) {
    std::uint8_t len_bytes[4];
    if (std::fread(len_bytes, 1, 4, file.f) != 4) return Fail(Errc::kIo, "read error");
    const std::uint32_t len = GetU32(len_bytes);
    if (len > rulebook::kMaxEventBytes || std::fread(buf.data(), 1, len, file.f) != len) {
      return Fail(Errc::kIo, path.string() + " changed while it was being read");
    }
    if (auto s = sink(ByteView(buf.data(), len)); !s) return Unexpected<Error>{s.error()};
  }
  return info;
}

}  // namespace polder::storage
