// Running build/polder from tests: exit code, stdout and stderr of one command.
#pragma once

#include <string>

namespace polder::testutil {

struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Path of the polder binary under test ($POLDER_BIN, set by CTest).
std::string PolderBin();
// Runs `polder --home HOME ARGS` through the shell (ARGS is shell text).
RunResult RunPolder(const std::string& home, const std::string& args);
// Quotes a string for the shell.
std::string Sh(const std::string& s);
// A fresh, empty temporary folder named after the running test.
std::string TempDir(const std::string& tag);

}  // namespace polder::testutil
