#include "node/app/network_keys.h"

#include <algorithm>

#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "storage/rulebook/limits.h"

namespace polder::app {
namespace {

constexpr std::size_t kRetiredRecord = 8 + 32;  // retired_ms (big-endian), key

NetworkKey ToKey(ByteView b) {
  NetworkKey k{};
  std::copy_n(b.begin(), k.size(), k.begin());
  return k;
}

}  // namespace

EventId NetworkKeyId(const NetworkKey& key) {
  const auto d = crypto::DomainHash(crypto::kDomainNetworkKeyId, ByteView(key.data(), key.size()));
  return *EventId::FromBytes(d.view());
}

NetworkKeys::NetworkKeys(const NetworkKey& current)
    : current_(current), current_id_(NetworkKeyId(current)) {}

Result<NetworkKeys> NetworkKeys::Load(const Home& home) {
  auto key = crypto::LoadSecretFile(home.network_key_file(), kNetworkKeyHeader, 32);
  if (!key) return Unexpected<Error>{key.error()};
  NetworkKeys keys(ToKey(ByteView(key->data(), key->size())));
  std::fill(key->begin(), key->end(), 0);
  keys.home_ = home;
  auto retired = crypto::LoadSecretFile(home.retired_keys_file(), kRetiredKeysHeader,
                                        kMaxRetiredKeys * kRetiredRecord);
  if (!retired) {
    if (retired.error().code == Errc::kNotFound) return keys;
    return Unexpected<Error>{retired.error()};
  }
  for (std::size_t i = 0; i < kMaxRetiredKeys; ++i) {
    const std::uint8_t* r = retired->data() + i * kRetiredRecord;
    std::uint64_t ms = 0;
    for (int b = 0; b < 8; ++b) ms = (ms << 8) | r[b];
    if (ms == 0) continue;  // an empty slot
    keys.retired_.push_back({ToKey(ByteView(r + 8, 32)), static_cast<std::int64_t>(ms)});
  }
  std::fill(retired->begin(), retired->end(), 0);
  return keys;
}

std::vector<NetworkKey> NetworkKeys::Accepted(std::int64_t now_ms,
                                              std::chrono::milliseconds grace) const {
  std::vector<NetworkKey> out;
  for (const auto& r : retired_) {
    if (now_ms - r.retired_ms <= grace.count() && r.key != current_) out.push_back(r.key);
  }
  return out;
}

std::optional<NetworkKey> NetworkKeys::Find(const EventId& id) const {
  if (id == current_id_) return current_;
  for (const auto& r : retired_) {
    if (NetworkKeyId(r.key) == id) return r.key;
  }
  return std::nullopt;
}

Status NetworkKeys::Adopt(const NetworkKey& key, std::int64_t now_ms) {
  if (key == current_) return {};
  std::vector<Retired> retired;
  retired.push_back({current_, std::max<std::int64_t>(now_ms, 1)});
  for (const auto& r : retired_) {
    if (r.key != key && r.key != current_ && retired.size() < kMaxRetiredKeys) retired.push_back(r);
  }
  if (home_) {
    Bytes file(kMaxRetiredKeys * kRetiredRecord, 0);
    for (std::size_t i = 0; i < retired.size(); ++i) {
      std::uint8_t* r = file.data() + i * kRetiredRecord;
      const auto ms = static_cast<std::uint64_t>(retired[i].retired_ms);
      for (int b = 0; b < 8; ++b) r[b] = static_cast<std::uint8_t>(ms >> (56 - 8 * b));
      std::copy(retired[i].key.begin(), retired[i].key.end(), r + 8);
    }
    // The retired keys first: a crash between the two writes leaves the old key current and
    // also listed as retired, which is harmless.
    Status wrote = crypto::ReplaceSecretFile(home_->retired_keys_file(), kRetiredKeysHeader, file);
    std::fill(file.begin(), file.end(), 0);
    if (!wrote) return wrote;
    if (Status s = crypto::ReplaceSecretFile(home_->network_key_file(), kNetworkKeyHeader,
                                             ByteView(key.data(), key.size()));
        !s) {
      return s;
    }
  }
  current_ = key;
  current_id_ = NetworkKeyId(key);
  retired_ = std::move(retired);
  return {};
}

Result<std::vector<v1::NetworkKey>> SealNetworkKey(const NetworkKey& key,
                                                   std::vector<MemberKey> recipients) {
  std::sort(recipients.begin(), recipients.end());
  recipients.erase(std::unique(recipients.begin(), recipients.end()), recipients.end());
  if (recipients.empty()) return Fail(Errc::kInvalidArgument, "a network key needs recipients");
  const EventId id = NetworkKeyId(key);
  std::vector<v1::NetworkKey> out;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    if (i % rulebook::kMaxKeyBoxes == 0) {
      out.emplace_back();
      out.back().set_key_id(id.str());
    }
    auto sealed = crypto::SealTo(recipients[i], ByteView(key.data(), key.size()));
    if (!sealed) return Unexpected<Error>{sealed.error()};
    auto* box = out.back().add_boxes();
    box->set_recipient(recipients[i].str());
    box->set_sealed(std::string(sealed->begin(), sealed->end()));
  }
  return out;
}

Result<Rotation> NewRotation(std::vector<MemberKey> recipients, const MemberKey& me) {
  Rotation r;
  crypto::RandomBytes(std::span(r.key.data(), r.key.size()));
  recipients.push_back(me);
  auto payloads = SealNetworkKey(r.key, std::move(recipients));
  if (!payloads) return Unexpected<Error>{payloads.error()};
  r.payloads = std::move(*payloads);
  return r;
}

Result<std::optional<NetworkKey>> OpenNetworkKey(storage::Replica& replica,
                                                 const std::vector<EventId>& events,
                                                 const EventId& key_id,
                                                 const crypto::SigningKey& me) {
  const std::string mine = me.public_key().str();
  for (const auto& id : events) {
    auto bytes = replica.events().EventBytes(id);
    if (!bytes) return Unexpected<Error>{bytes.error()};
    if (!*bytes) continue;
    v1::SignedEvent signed_event;
    v1::EventBody body;
    if (!signed_event.ParseFromArray((*bytes)->data(), static_cast<int>((*bytes)->size())) ||
        !body.ParseFromString(signed_event.body()) || !body.has_network_key() ||
        body.network_key().key_id() != key_id.str()) {
      continue;
    }
    const auto& boxes = body.network_key().boxes();
    const auto it =
        std::lower_bound(boxes.begin(), boxes.end(), mine,
                         [](const auto& b, const std::string& k) { return b.recipient() < k; });
    if (it == boxes.end() || it->recipient() != mine) continue;
    auto opened = me.OpenSealed(AsBytes(it->sealed()));
    if (!opened || opened->size() != 32) continue;
    const NetworkKey key = ToKey(opened->view());
    if (NetworkKeyId(key) == key_id) return std::optional<NetworkKey>(key);
  }
  return std::optional<NetworkKey>();
}

}  // namespace polder::app
