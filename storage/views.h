// Views: the replica's derived state as people read it — members, proposals with their counts,
// one proposal with its votes, flags, co-sponsors and comments — as plain structs. How they are
// shown (member id text, money with the circle's unit, words for choices and severities, JSON)
// is the caller's: node/api/views.h maps them to the api.proto views the CLI and the API print.
// Read-only.
//
// Thread-safety: not thread-safe; belongs to its Replica.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "polder/v1/event.pb.h"
#include "proto/bytes.h"
#include "proto/money.h"

namespace polder::storage {

class Db;

struct MemberRow {
  MemberKey key;
  std::string name;
  std::string organisation;
  std::string role;
  bool formal_leader = false;
  std::uint64_t head_seq = 0;  // applied events of theirs
  bool forked = false;
  bool founder = false;
  bool founding_partner = false;  // listed in the charter (rules version 10)
  bool operator==(const MemberRow&) const = default;
};

// A member as other rows name them: key and the standing record's name and organisation.
struct MemberName {
  MemberKey key;
  std::string name;  // empty when the key is not (or no longer) a member
  std::string organisation;
  bool operator==(const MemberName&) const = default;
};

struct ProposalRow {
  EventId id;
  std::string title;
  MemberName author;
  Money amount;
  std::int64_t deadline_ms = 0;
  std::int64_t created_ms = 0;
  bool withdrawn = false;
  std::string topic;
  std::string purpose_fit;
  std::string body;
  std::uint32_t votes_for = 0;  // members' latest votes, by choice
  std::uint32_t votes_against = 0;
  std::uint32_t votes_abstain = 0;
  std::uint32_t endorsements = 0;
  std::uint32_t open_flags = 0;  // not withdrawn by their flagger
  bool operator==(const ProposalRow&) const = default;
};

struct VoteRow {
  MemberName voter;
  v1::Choice choice = v1::CHOICE_UNSPECIFIED;
  std::int64_t timestamp_ms = 0;
  bool operator==(const VoteRow&) const = default;
};

struct ResolutionRow {
  EventId event;
  MemberName author;
  v1::FlagResolution::Kind kind = v1::FlagResolution::KIND_UNSPECIFIED;
  std::string mitigation;
  bool operator==(const ResolutionRow&) const = default;
};

struct FlagRow {
  EventId id;
  EventId proposal;
  MemberName flagger;
  v1::Severity severity = v1::SEVERITY_UNSPECIFIED;
  std::string category;
  std::string rationale;
  std::int64_t created_ms = 0;
  std::vector<ResolutionRow> resolutions;  // by (timestamp, id)
  bool operator==(const FlagRow&) const = default;
};

struct CommentRow {
  EventId id;
  MemberName author;
  std::string text;
  std::int64_t timestamp_ms = 0;
  bool operator==(const CommentRow&) const = default;
};

struct ProposalDetail {
  ProposalRow proposal;
  std::vector<VoteRow> votes;         // by (organisation, name)
  std::vector<FlagRow> flags;         // by (time, id)
  std::vector<MemberName> endorsers;  // by (organisation, name)
  std::vector<CommentRow> comments;   // by (time, id)
  bool operator==(const ProposalDetail&) const = default;
};

class Views {
 public:
  explicit Views(Db& db) : db_(db) {}

  // Every member, by (organisation, name, key).
  Result<std::vector<MemberRow>> Members();
  // Every proposal, by (creation time, id).
  Result<std::vector<ProposalRow>> Proposals();
  // One proposal with its votes, flags, co-sponsors and comments; kNotFound if not applied.
  Result<ProposalDetail> Proposal(const EventId& id);
  // How the circle writes money (its charter's unit and decimals; "" and 2 before a charter).
  Currency CircleCurrency();
  // The member's name and organisation (empty when not a member).
  MemberName NameOf(const MemberKey& key);

 private:
  Result<FlagRow> Flag(const EventId& id);
  Db& db_;
};

}  // namespace polder::storage
