// The CLI tests' fixture: a fresh folder for the homes of one test, and `polder` commands that
// must succeed, returning their --json (or text) output.
#pragma once

#include <filesystem>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testutil/run.h"

namespace polder::testutil {

class CliFixture : public ::testing::Test {
 protected:
  explicit CliFixture(std::string tag) : tag_(std::move(tag)) {}
  void SetUp() override { root_ = TempDir(tag_); }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string Home(const std::string& name) const { return root_ + "/" + name; }

  // Runs a command that must succeed and returns its --json output.
  nlohmann::json Ok(const std::string& home, const std::string& args) {
    auto r = RunPolder(home, args + " --json");
    EXPECT_EQ(r.code, 0) << "polder " << args << "\nstdout: " << r.out << "\nstderr: " << r.err;
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception&) {
      ADD_FAILURE() << "not JSON from `" << args << "`: " << r.out;
      return nlohmann::json::object();
    }
  }
  // Runs a command that must succeed and returns its text output.
  std::string Text(const std::string& home, const std::string& args) {
    auto r = RunPolder(home, args);
    EXPECT_EQ(r.code, 0) << "polder " << args << "\nstderr: " << r.err;
    return r.out;
  }
  std::string Id(const std::string& home) { return Ok(home, "id")["member_id"]; }
  std::string Digest(const std::string& home) { return Ok(home, "status")["digest"]; }
  // Moves every event `from` holds to `to` in a bundle file.
  void Sync(const std::string& from, const std::string& to) {
    const std::string file = root_ + "/x.bundle";
    Ok(from, "export " + Sh(file) + " --force");
    Ok(to, "import " + Sh(file));
  }

  std::string root_;

 private:
  std::string tag_;
};

}  // namespace polder::testutil
