// Decisions and derived state are a pure function of the event set: any arrival order, in one
// batch or in chunks across several imports, gives one digest.
#include <algorithm>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "storage/replica.h"
#include "tests/testutil/circle.h"

namespace polder::storage {
namespace {

using testutil::TestCircle;

// A busy circle: 8 members of 3 organisations, proposals, votes that change, flags and their
// resolutions, co-sponsoring, comments, delegations and a revocation, a withdrawal, a double
// admission, and one member who equivocates midway.
TestCircle BusyCircle(std::uint32_t seed, std::vector<Bytes>* extra) {
  TestCircle c("Org A");
  std::mt19937 rng(seed);
  std::vector<int> m = {0};
  const char* orgs[] = {"Org A", "Org B", "Org C"};
  for (int i = 1; i < 8; ++i) {
    m.push_back(c.Admit(m[rng() % m.size()], "Member " + std::to_string(i), orgs[i % 3], i == 2));
  }
  std::vector<EventId> proposals;
  std::vector<std::pair<EventId, int>> flags;  // flag, proposer
  std::vector<int> proposer;
  for (int round = 0; round < 60; ++round) {
    const int who = m[rng() % m.size()];
    switch (proposals.empty() ? 0 : rng() % 8) {
      case 0:
        proposals.push_back(c.Propose(who, "P" + std::to_string(round), 1000 + rng() % 50000));
        proposer.push_back(who);
        break;
      case 1:
      case 2: {
        const auto i = rng() % proposals.size();
        c.Vote(who, proposals[i], static_cast<v1::Choice>(1 + rng() % 3));
        break;
      }
      case 3: {
        const auto i = rng() % proposals.size();
        flags.emplace_back(c.Flag(who, proposals[i], static_cast<v1::Severity>(1 + rng() % 5)),
                           proposer[i]);
        flags.back().second = proposer[i];
        break;
      }
      case 4:
        if (!flags.empty()) {
          const auto& [f, owner] = flags[rng() % flags.size()];
          c.Resolve(owner, f, v1::FlagResolution::ANSWER);
        }
        break;
      case 5: c.Endorse(who, proposals[rng() % proposals.size()]); break;
      case 6: {
        const auto target = proposals[rng() % proposals.size()];
        c.Comment(who, "note " + std::to_string(round), &target);
        break;
      }
      case 7: {
        const int to = m[rng() % m.size()];
        if (to != who) c.Delegate(who, to, round % 2 ? "parks" : "");
        break;
      }
    }
  }
  // A revocation, a withdrawal, and a second admission of member 3 by member 1.
  c.Next(m[1], [](v1::EventBody& b) { b.mutable_delegation()->set_revoke(true); });
  c.Withdraw(proposer[0], proposals[0]);
  const std::string key3 = c.key(m[3]).public_key().str();
  c.Next(m[1], [&](v1::EventBody& b) {
    b.mutable_admit()->set_member(key3);
    b.mutable_admit()->mutable_info()->set_name("Member three, renamed");
    b.mutable_admit()->mutable_info()->set_organisation("Org A");
  });
  // Member 5 equivocates: a second event at their next sequence number, kept outside the main log.
  extra->push_back(c.Next(
      m[5], [](v1::EventBody& b) { b.mutable_comment()->set_text("fork A"); }, nullptr, false));
  c.Vote(m[5], proposals[1 % proposals.size()], v1::FOR);  // the recorded branch
  c.Comment(m[5], "after the fork");
  return c;
}

class OrderTest : public ::testing::Test {
 protected:
  std::filesystem::path NewDir(int i) {
    auto d = std::filesystem::temp_directory_path() /
             ("polder-order-" + std::to_string(::getpid()) + "-" + std::to_string(i));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    dirs_.push_back(d);
    return d;
  }
  void TearDown() override {
    for (auto& d : dirs_) std::filesystem::remove_all(d);
  }

  Digest32 IngestChunks(int i, const CircleId& circle, const std::vector<Bytes>& evs,
                        std::mt19937& rng, bool chunked, std::int64_t now) {
    auto r = Replica::Open(NewDir(i) / "r.sqlite3");
    EXPECT_TRUE(r.has_value());
    auto& rep = *r;
    EXPECT_TRUE(rep->SetCircle(circle).has_value());
    std::size_t pos = 0;
    while (pos < evs.size()) {
      std::size_t n = chunked ? 1 + rng() % 40 : evs.size();
      n = std::min(n, evs.size() - pos);
      std::vector<Bytes> chunk(evs.begin() + static_cast<long>(pos),
                               evs.begin() + static_cast<long>(pos + n));
      EXPECT_TRUE(rep->Ingest(chunk, IngestOptions{now}).has_value());
      pos += n;
    }
    auto v = rep->Verify();
    EXPECT_TRUE(v.has_value() && v->derived_state_matches);
    return *rep->StateDigest();
  }

  std::vector<std::filesystem::path> dirs_;
};

TEST_F(OrderTest, FiftyRandomOrdersGiveOneDigest) {
  std::vector<Bytes> extra;
  const TestCircle c = BusyCircle(7, &extra);
  std::vector<Bytes> all = c.events();
  all.insert(all.end(), extra.begin(), extra.end());
  ASSERT_GT(all.size(), 70u);
  std::mt19937 rng(1234);
  const Digest32 reference = IngestChunks(0, c.circle(), all, rng, false, c.now() + 1);
  std::set<std::string> outcomes;
  for (int i = 1; i <= 50; ++i) {
    std::vector<Bytes> shuffled = all;
    std::mt19937 order(static_cast<std::uint32_t>(i));
    std::shuffle(shuffled.begin(), shuffled.end(), order);
    const bool chunked = i % 2 == 0;
    EXPECT_EQ(IngestChunks(i, c.circle(), shuffled, order, chunked, c.now() + 1), reference)
        << "order seed " << i << (chunked ? " (chunked)" : " (one batch)");
  }
}

TEST_F(OrderTest, DifferentEventSetsGiveDifferentDigests) {
  std::vector<Bytes> extra;
  const TestCircle c = BusyCircle(11, &extra);
  std::vector<Bytes> all = c.events();
  std::mt19937 rng(1);
  const Digest32 full = IngestChunks(0, c.circle(), all, rng, false, c.now() + 1);
  all.pop_back();
  EXPECT_NE(IngestChunks(1, c.circle(), all, rng, false, c.now() + 1), full);
}

}  // namespace
}  // namespace polder::storage
