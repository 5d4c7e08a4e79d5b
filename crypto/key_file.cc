#include "crypto/key_file.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace polder::crypto {
namespace {

Status FsyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Fail(Errc::kIo, "cannot open " + dir.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Fail(Errc::kIo, "fsync " + dir.string() + ": " + std::strerror(errno));
  return {};
}

Status WriteSecret(const std::filesystem::path& path, std::string_view header, ByteView secret,
                   bool replace) {
  std::error_code ec;
  if (!replace && std::filesystem::exists(path, ec)) {
    return Fail(Errc::kAlreadyExists, path.string() + " already exists; refusing to overwrite it");
  }
  std::string text(header);
  text += "\n" + ToHex(secret) + "\n";
  const auto tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(Errc::kIo, "cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  std::fill(text.begin(), text.end(), '\0');
  if (!ok) {
    ::unlink(tmp.c_str());
    return Fail(Errc::kIo, "cannot write " + tmp);
  }
  if (replace) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return Fail(Errc::kIo, "cannot replace " + path.string() + ": " + std::strerror(err));
    }
    return FsyncDir(path.parent_path().empty() ? "." : path.parent_path());
  }
  // link() fails if the target exists, so a concurrent init cannot be overwritten either.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return Fail(Errc::kAlreadyExists, path.string() + " already exists");
    return Fail(Errc::kIo, "cannot create " + path.string() + ": " + std::strerror(err));
  }
  ::unlink(tmp.c_str());
  return FsyncDir(path.parent_path().empty() ? "." : path.parent_path());
}

}  // namespace

Status WriteKeyFile(const std::filesystem::path& path, const SigningKey& key) {
  SecretBytes seed = key.Seed();
  return WriteSecretFile(path, kKeyFileHeader, seed.view());
}

Status WriteSecretFile(const std::filesystem::path& path, std::string_view header,
                       ByteView secret) {
  return WriteSecret(path, header, secret, false);
}

Status ReplaceSecretFile(const std::filesystem::path& path, std::string_view header,
                         ByteView secret) {
  return WriteSecret(path, header, secret, true);
}

Result<SigningKey> LoadKeyFile(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Fail(Errc::kNotFound, "no identity at " + path.string() + " (run `polder init` first)");
  }
  auto seed = LoadSecretFile(path, kKeyFileHeader, 32);
  if (!seed) return Unexpected<Error>{seed.error()};
  auto key = SigningKey::FromSeed(*seed);
  std::fill(seed->begin(), seed->end(), 0);
  return key;
}

Result<Bytes> LoadSecretFile(const std::filesystem::path& path, std::string_view header,
                             std::size_t size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Fail(Errc::kNotFound, "no file " + path.string());
  if ((st.st_mode & 077) != 0) {
    return Fail(Errc::kPermission,
                path.string() + " can be read by others; run: chmod 600 " + path.string());
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(Errc::kIo, "cannot open " + path.string() + ": " + std::strerror(errno));
  char buf[1024];  // the largest secret: the retired network keys (640 hex digits)
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return Fail(Errc::kCorruption, path.string() + " is empty");
  std::string_view text(buf, static_cast<std::size_t>(n));
  const auto nl = text.find('\n');
  if (nl == std::string_view::npos || text.substr(0, nl) != header) {
    return Fail(Errc::kCorruption, path.string() + " does not start with " + std::string(header));
  }
  std::string_view hex = text.substr(nl + 1);
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) {
    hex.remove_suffix(1);
  }
  auto seed = FromHex(hex);
  std::fill(std::begin(buf), std::end(buf), '\0');
  if (!seed || seed->size() != size) {
    return Fail(Errc::kCorruption, path.string() + " holds a malformed secret");
  }
  return std::move(*seed);
}

}  // namespace polder::crypto
