#include "node/api/files.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <span>
#include <sstream>

#include <unistd.h>

#include "crypto/identity.h"
#include "crypto/key_file.h"
#include "node/api/limits.h"

namespace polder::api {

Result<std::string> WriteNewToken(const ApiFiles& files) {
  // A fresh token each start; the file is 0600 and never readable by others.
  Bytes raw(kTokenBytes);
  crypto::RandomBytes(std::span(raw.data(), raw.size()));
  std::error_code ec;
  std::filesystem::remove(files.token, ec);
  if (auto s = crypto::WriteSecretFile(files.token, kApiTokenHeader, raw); !s) {
    return Unexpected<Error>{s.error()};
  }
  return ToHex(raw);
}

std::optional<std::string> ReadToken(const ApiFiles& files) {
  auto raw = crypto::LoadSecretFile(files.token, kApiTokenHeader, kTokenBytes);
  if (!raw) return std::nullopt;
  return ToHex(*raw);
}

Status WriteAddress(const ApiFiles& files, const std::string& host, int port) {
  std::ostringstream j;
  j << "{\"address\": \"" << host << ":" << port << "\", \"pid\": " << ::getpid() << "}\n";
  // Written to a temporary file and renamed, so readers never see half of it.
  const auto tmp = files.address.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.str();
    if (!out.flush()) return Fail(Errc::kIo, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, files.address, ec);
  if (ec) return Fail(Errc::kIo, "cannot write " + files.address.string());
  return {};
}

std::optional<Address> ReadAddress(const ApiFiles& files) {
  std::ifstream in(files.address);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Only WriteAddress writes this file, so its fixed shape is all there is to read.
  const std::string address_key = "\"address\": \"";
  const std::string pid_key = "\"pid\": ";
  const auto a = text.find(address_key);
  const auto p = text.find(pid_key);
  if (a == std::string::npos || p == std::string::npos) return std::nullopt;
  const auto start = a + address_key.size();
  const auto end = text.find('"', start);
  if (end == std::string::npos) return std::nullopt;
  const std::string address = text.substr(start, end - start);
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  Address out;
  out.text = address;
  out.host = address.substr(0, colon);
  out.port = std::atoi(address.c_str() + colon + 1);
  out.pid = std::atol(text.c_str() + p + pid_key.size());
  return out;
}

void RemoveAddress(const ApiFiles& files) {
  std::error_code ec;
  std::filesystem::remove(files.address, ec);
}

}  // namespace polder::api
