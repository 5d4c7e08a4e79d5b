// Views: the replica's derived state as people read it — members, proposals with their counts,
// one proposal with its votes, flags, co-sponsors and comments. Read-only.
//
// Thread-safety: not thread-safe; belongs to its Replica.
#pragma once

#include <cstdint>
#include <string>

#include "polder/v1/api.pb.h"
#include "polder/v1/event.pb.h"
#include "proto/bytes.h"

namespace polder::storage {

class Db;

class Views {
 public:
  explicit Views(Db& db) : db_(db) {}

  Result<v1::MemberList> Members();
  Result<v1::ProposalList> Proposals();
  Result<v1::ProposalDetail> ShowProposal(const EventId& id);
  Result<v1::FlagView> ShowFlag(const EventId& id);
  std::string FormatAmount(std::int64_t minor);
  std::string MemberLabel(const MemberKey& key);  // "name (FINGERP)"

 private:
  Db& db_;
};

}  // namespace polder::storage
