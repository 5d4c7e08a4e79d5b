#include "storage/own_log.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "storage/limits.h"
#include "storage/rulebook/limits.h"

namespace polder::storage {
namespace {

std::array<std::uint8_t, 4> Check(ByteView event) {
  const auto d = crypto::DomainHash(crypto::kDomainOwnLog, event);
  return {d.bytes[0], d.bytes[1], d.bytes[2], d.bytes[3]};
}

}  // namespace

Result<std::vector<Bytes>> OwnLog::ReadAll() {
  std::vector<Bytes> out;
  read_ = true;
  damaged_ = false;
  valid_bytes_ = 0;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return out;
  std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t pos = 0;
  while (data.size() - pos >= 4) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(data.data() + pos);
    const std::uint32_t len = static_cast<std::uint32_t>(p[0]) << 24 |
                              static_cast<std::uint32_t>(p[1]) << 16 |
                              static_cast<std::uint32_t>(p[2]) << 8 | p[3];
    if (len > rulebook::kMaxEventBytes || data.size() - pos - 4 < static_cast<std::size_t>(len) + 4)
      break;
    ByteView event(p + 4, len);
    const auto check = Check(event);
    if (std::memcmp(check.data(), p + 4 + len, 4) != 0) {
      // A bad last record is a torn append (it was never committed); a bad record with more
      // after it is damage, and appending past it would throw the later records away.
      if (pos + 4 + len + 4 < data.size()) {
        damaged_ = true;
        return Fail(Errc::kCorruption, path_.string() + " is damaged at offset " +
                                           std::to_string(pos) +
                                           "; restore it from a backup (records after it exist)");
      }
      break;
    }
    out.emplace_back(event.begin(), event.end());
    pos += 4 + len + 4;
  }
  valid_bytes_ = pos;
  return out;
}

Status OwnLog::Append(ByteView event) {
  if (!read_ || damaged_) {
    if (auto r = ReadAll(); !r) return Unexpected<Error>{r.error()};
  }
  const bool created = !std::filesystem::exists(path_);
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(Errc::kIo, "cannot open " + path_.string() + ": " + std::strerror(errno));
  // Cut off a torn tail first, so the new record follows the last complete one.
  Bytes rec;
  rec.reserve(event.size() + 8);
  const auto n = static_cast<std::uint32_t>(event.size());
  rec.insert(rec.end(), {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                         static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  rec.insert(rec.end(), event.begin(), event.end());
  const auto check = Check(event);
  rec.insert(rec.end(), check.begin(), check.end());
  bool ok = ::ftruncate(fd, static_cast<off_t>(valid_bytes_)) == 0 &&
            ::pwrite(fd, rec.data(), rec.size(), static_cast<off_t>(valid_bytes_)) ==
                static_cast<ssize_t>(rec.size()) &&
            ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return Fail(Errc::kIo, "cannot append to " + path_.string() + ": " + std::strerror(err));
  valid_bytes_ += rec.size();
  if (created) {
    int dfd = ::open(path_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  return {};
}

}  // namespace polder::storage
