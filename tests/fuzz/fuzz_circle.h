// The circle the fuzz targets share: four fixed member keys (seeds 1..4) and the charter founded
// by the first, so that inputs (and the corpora) mean the same thing run after run.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "storage/rulebook/sign.h"

namespace polder::fuzz {

struct FuzzCircle {
  std::vector<crypto::SigningKey> keys;
  CircleId circle;
  Bytes charter;
  EventId charter_id;
  FuzzCircle() {
    for (int i = 0; i < 4; ++i) {
      std::array<std::uint8_t, 32> seed{};
      seed.fill(static_cast<std::uint8_t>(i + 1));
      keys.push_back(*crypto::SigningKey::FromSeed(seed));
    }
    v1::EventBody b;
    b.set_author(keys[0].public_key().str());
    b.set_seq(1);
    b.set_timestamp_ms(1'700'000'000'000);
    auto* c = b.mutable_charter();
    c->set_name("fuzz");
    c->set_purpose("fuzz");
    c->set_unit("EUR");
    c->set_salt(std::string(16, 's'));
    c->mutable_founder()->set_name("f");
    c->mutable_founder()->set_organisation("o");
    circle = rulebook::BindCharter(b);
    charter = rulebook::Sign(keys[0], b, &charter_id);
  }
};

}  // namespace polder::fuzz
