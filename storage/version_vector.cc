#include "storage/version_vector.h"

#include "crypto/hash.h"

namespace polder::storage {

Digest32 VersionVector::Digest() const {
  crypto::Hasher h(crypto::kDomainVector);
  h.UpdateU64(heads.size());
  for (const auto& [author, head] : heads) {
    h.Update(author.view());
    h.UpdateU64(head.seq);
    h.Update(head.id.view());
    h.UpdateU64(head.forked ? 1 : 0);
  }
  return h.Final();
}

std::uint64_t VersionVector::AheadOf(const VersionVector& other) const {
  std::uint64_t n = 0;
  for (const auto& [author, head] : heads) {
    const std::uint64_t theirs = other.SeqOf(author);
    if (head.seq > theirs) n += head.seq - theirs;
  }
  return n;
}

}  // namespace polder::storage
