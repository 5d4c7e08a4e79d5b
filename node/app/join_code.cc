#include "node/app/join_code.h"

#include <cctype>

#include "crypto/hash.h"
#include "crypto/member_id.h"

namespace polder::app {
namespace {

constexpr std::size_t kChecksum = 4;
constexpr int kMaxAddresses = 16;

}  // namespace

std::string EncodeJoinCode(const v1::JoinCode& code) {
  const std::string payload = code.SerializeAsString();
  Bytes raw(payload.begin(), payload.end());
  const Digest32 sum = crypto::DomainHash(crypto::kDomainJoinCode, AsBytes(payload));
  raw.insert(raw.end(), sum.bytes.begin(), sum.bytes.begin() + kChecksum);
  std::string b32 = crypto::Base32Encode(raw);
  for (auto& c : b32) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string out(kJoinCodePrefix);
  for (std::size_t i = 0; i < b32.size(); i += 8) {
    if (i > 0) out += '-';
    out += b32.substr(i, 8);
  }
  return out;
}

Result<v1::JoinCode> DecodeJoinCode(std::string_view text) {
  if (text.size() > kMaxJoinCodeChars) return Fail(Errc::kInvalidArgument, "join code too long");
  std::string s;
  for (char c : text) {
    if (c == '-' || std::isspace(static_cast<unsigned char>(c))) continue;
    s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  const std::string prefix = "POLDER1";
  if (s.rfind(prefix, 0) != 0) {
    return Fail(Errc::kInvalidArgument, "not a join code (it starts with polder1-)");
  }
  s.erase(0, prefix.size());
  auto raw = crypto::Base32Decode(s);
  if (!raw || raw->size() <= kChecksum) {
    return Fail(Errc::kInvalidArgument, "join code is garbled (not base32); copy it again");
  }
  const ByteView payload(raw->data(), raw->size() - kChecksum);
  const Digest32 sum = crypto::DomainHash(crypto::kDomainJoinCode, payload);
  if (!std::equal(sum.bytes.begin(), sum.bytes.begin() + kChecksum,
                  raw->end() - static_cast<long>(kChecksum))) {
    return Fail(Errc::kInvalidArgument, "join code checksum does not match: a character is wrong");
  }
  v1::JoinCode code;
  if (!code.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Fail(Errc::kInvalidArgument, "join code content is malformed");
  }
  if (code.circle_id().size() != 32 || code.network_key().size() != 32) {
    return Fail(Errc::kInvalidArgument, "join code lacks the circle id or network key");
  }
  if ((!code.member().empty() && code.member().size() != 32) ||
      (!code.inviter().empty() && code.inviter().size() != 32) ||
      (!code.device_of().empty() && code.device_of().size() != 32)) {
    return Fail(Errc::kInvalidArgument, "join code names a malformed member key");
  }
  if (code.addresses_size() > kMaxAddresses) {
    return Fail(Errc::kInvalidArgument, "join code lists too many addresses");
  }
  for (const auto& a : code.addresses()) {
    if (a.empty() || a.size() > 255)
      return Fail(Errc::kInvalidArgument, "bad address in join code");
  }
  return code;
}

}  // namespace polder::app
