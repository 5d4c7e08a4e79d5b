#include "proto/time_text.h"

#include <cstdio>
#include <ctime>

namespace polder {

std::string FormatRfc3339(std::int64_t ms) {
  constexpr std::int64_t kMsPerSecond = 1000;
  const std::int64_t sec = ms >= 0 ? ms / kMsPerSecond : (ms - (kMsPerSecond - 1)) / kMsPerSecond;
  const std::int64_t frac = ms - sec * kMsPerSecond;
  const std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    char f[8];
    std::snprintf(f, sizeof f, ".%03d", static_cast<int>(frac));
    out += f;
  }
  return out + "Z";
}

}  // namespace polder
