// Node: the circle's network key — adopting the key a rotation names, and rotating it after a
// removal or when this node holds no box of the current key (docs/protocol.md §11 "Network key
// rotation").
#include <algorithm>

#include <spdlog/spdlog.h>

#include "crypto/hash.h"
#include "crypto/member_id.h"
#include "node/app/node.h"

namespace polder::app {
namespace {

// Where `me` stands in the line of members who rotate the key after a removal: the recipients
// ordered by a hash of the current key's id (or the time it took effect) and their key, so that
// every node computes the same line and it changes with each key.
std::size_t PlaceInLine(const KeyState& k, const MemberKey& me) {
  std::vector<std::pair<Digest32, MemberKey>> line;
  for (const auto& r : k.recipients) {
    crypto::Hasher h(crypto::kDomainNetworkKeyId);
    if (k.current_id) h.Update(k.current_id->view());
    h.UpdateU64(static_cast<std::uint64_t>(k.since_ms));
    h.Update(r.view());
    line.emplace_back(h.Final(), r);
  }
  std::sort(line.begin(), line.end());
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i].second == me) return i;
  }
  return line.size();
}

std::string Short(const EventId& id) { return id.hex().substr(0, 12); }

}  // namespace

void Node::CheckNetworkKey() {
  if (!access_.ready()) return;
  const KeyState& k = access_.keys();
  const MemberKey me = session_.key().public_key();
  const bool counted = access_.Allows(me);
  bool need = false;
  std::chrono::milliseconds wait{0};
  if (k.current_id && *k.current_id != keys_.current_id()) {
    std::optional<NetworkKey> key = keys_.Find(*k.current_id);
    if (!key) {
      auto opened = OpenNetworkKey(session_.replica(), k.events, *k.current_id, session_.key());
      if (!opened) {
        spdlog::warn("reading the circle's network key: {}", opened.error().message);
        return;
      }
      key = *opened;
    }
    if (key) {
      if (Status s = keys_.Adopt(*key, NowMs()); !s) {
        spdlog::error("cannot store the circle's new network key: {}", s.error().message);
        return;
      }
      spdlog::info(
          "the circle's network key is now {}; the previous one still opens sessions "
          "with members for {} h",
          Short(keys_.current_id()),
          std::chrono::duration_cast<std::chrono::hours>(config_.retired_key_grace).count());
    } else if (counted) {
      spdlog::warn(
          "the circle's network key {} was not sealed to this node; sealing a new one to "
          "every member",
          Short(*k.current_id));
      need = true;
    }
  }
  if (k.due && counted) {
    need = true;
    wait = config_.rotation_stagger * static_cast<long>(PlaceInLine(k, me));
  }
  const auto now = std::chrono::steady_clock::now();
  if (!need) {
    rotate_at_.reset();
    return;
  }
  if (!rotate_at_) rotate_at_ = now + wait;
  if (now < *rotate_at_) return;
  if (last_rotation_ && now - *last_rotation_ < config_.min_rotation_interval) return;
  rotate_at_.reset();
  if (Status s = RotateNetworkKey(); !s) {
    spdlog::warn("rotating the network key: {}", s.error().message);
  }
}

Status Node::RotateNetworkKey() {
  if (!access_.ready()) return Fail(Errc::kRefused, "the circle's members are not known yet");
  const KeyState& k = access_.keys();
  auto rotation = NewRotation(k.recipients, session_.key().public_key());
  if (!rotation) return Unexpected<Error>{rotation.error()};
  // After the removal that made it due, whatever this clock says (it may be behind the remover's;
  // the gate allows a little skew).
  const std::int64_t at = std::max(NowMs(), k.last_removal_ms + 1);
  for (const auto& p : rotation->payloads) {
    auto a = Author([&](v1::EventBody& b) {
      *b.mutable_network_key() = p;
      if (b.timestamp_ms() < at) b.set_timestamp_ms(at);
    });
    if (!a) return Unexpected<Error>{a.error()};
  }
  last_rotation_ = std::chrono::steady_clock::now();
  if (Status s = keys_.Adopt(rotation->key, NowMs()); !s) return s;
  spdlog::info("sealed a new network key {} to {} members and devices", Short(keys_.current_id()),
               k.recipients.size() + 1);
  RefreshAccess(true);  // the rotation just authored is now the circle's
  return {};
}

}  // namespace polder::app
