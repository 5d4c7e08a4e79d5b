// Reader for Pabulib `.pb` files (http://pabulib.org/format): participatory-budgeting elections
// as three sections, META, PROJECTS and VOTES, each a header line then `;`-separated rows
// (CSV quoting allowed, "" for a quote inside a quoted field).
//
//   META               key;value rows; needs `budget`; `vote_type` is approval (the default),
//   key;value          cumulative, scoring or ordinal; `num_projects` / `num_votes`, when
//   budget;214386.4    present, must match the rows. (A missing key;value header is tolerated:
//   vote_type;approval a real file lacks it.)
//   PROJECTS           needs `project_id` and `cost`; an optional `selected` column (0/1) holds
//   project_id;cost    the official outcome. Other columns are ignored.
//   1;700
//   VOTES              needs `voter_id` and `vote` (comma-separated project ids). A project a
//   voter_id;vote      voter lists counts as approved; with cumulative, scoring and ordinal
//   1;1,2              ballots and a `points` column, only those given positive points do.
//
// Costs and the budget are decimal numbers read exactly: all of them are scaled by one power of
// ten (the most decimals any of them has, at most kMaxDecimals) into integer minor units.
//
// Input is untrusted: every error is a value naming the line, and every size is bounded
// (limits.h). No I/O happens here beyond reading the given stream. Amounts print with
// FormatMoney(amount, decimals) (proto/money.h).
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "node/decide/allocate.h"
#include "proto/result.h"

namespace polder::decide {

struct PabulibFile {
  PbInstance instance;  // unit = 10^decimals
  std::map<std::string, std::string> meta;
  std::string vote_type;       // approval, cumulative, scoring or ordinal
  std::uint32_t decimals = 0;  // minor-unit digits of costs and budget
  // The official outcome from the `selected` column, per project; empty if there is none.
  std::vector<bool> selected;

  // The META value of `key`, or "" if absent.
  std::string Meta(const std::string& key) const;
};

// Parses a whole file held in memory.
[[nodiscard]] Result<PabulibFile> ParsePabulib(std::string_view text);
// Reads at most kMaxPbFileBytes from `in`, then parses.
[[nodiscard]] Result<PabulibFile> ReadPabulib(std::istream& in);

}  // namespace polder::decide
