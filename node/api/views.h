// The replica's views for people (storage/views.h, plain structs) as the api.proto messages the
// CLI prints with --json and the local API serves: member ids in their text form, amounts
// formatted with the circle's unit, stable words for choices, severities and resolutions. One
// place, so the CLI and the API cannot show the same state two ways.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "polder/v1/api.pb.h"
#include "proto/money.h"
#include "storage/replica.h"
#include "storage/views.h"

namespace polder::api {

// "name (FINGERP)", or "(FINGERP)" for a key that is not a member.
std::string MemberLabel(const storage::MemberName& member);

v1::MemberView MemberViewOf(const storage::MemberRow& member);
v1::MemberList MemberListOf(const std::vector<storage::MemberRow>& members);
v1::ProposalView ProposalViewOf(const storage::ProposalRow& proposal, const Currency& currency);
v1::ProposalList ProposalListOf(const std::vector<storage::ProposalRow>& proposals,
                                const Currency& currency);
v1::FlagView FlagViewOf(const storage::FlagRow& flag);
v1::ProposalDetail ProposalDetailOf(const storage::ProposalDetail& detail,
                                    const Currency& currency);
v1::VerifyReport VerifyReportOf(const storage::VerifyReport& report);

}  // namespace polder::api
