#include "node/cli/as_of.h"

#include <ctime>

namespace polder::cli {
namespace {

constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::int64_t kMaxMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z

Unexpected<Error> Bad(std::string_view text) {
  return Fail(Errc::kInvalidArgument,
              "'" + std::string(text) +
                  "' is not a time: give RFC 3339 (2026-12-01T10:00:00Z) or Unix milliseconds");
}

bool Digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`.
bool Number(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!Digit(s[pos + i])) return false;
    out = out * 10 + (s[pos + i] - '0');
  }
  pos += n;
  return true;
}
bool Expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

Result<std::int64_t> ParseAsOf(std::string_view text) {
  if (text.empty()) return Bad(text);
  bool all_digits = true;
  for (char c : text) all_digits &= Digit(c);
  if (all_digits) {
    if (text.size() > 15) return Bad(text);
    std::int64_t ms = 0;
    for (char c : text) ms = ms * 10 + (c - '0');
    return ms;
  }
  std::size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!Number(text, pos, 4, year) || !Expect(text, pos, '-') || !Number(text, pos, 2, month) ||
      !Expect(text, pos, '-') || !Number(text, pos, 2, day)) {
    return Bad(text);
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return Bad(text);
  }
  ++pos;
  if (!Number(text, pos, 2, hour) || !Expect(text, pos, ':') || !Number(text, pos, 2, minute) ||
      !Expect(text, pos, ':') || !Number(text, pos, 2, second)) {
    return Bad(text);
  }
  std::int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && Digit(text[pos])) {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');  // finer digits are truncated
      ++digits;
      ++pos;
    }
    if (digits == 0) return Bad(text);
    for (int d = digits; d < 3; ++d) millis *= 10;
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!Number(text, pos, 2, oh) || !Expect(text, pos, ':') || !Number(text, pos, 2, om) ||
        oh > 23 || om > 59) {
      return Bad(text);
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return Bad(text);  // RFC 3339 requires the offset
  }
  if (pos != text.size()) return Bad(text);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return Bad(text);
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second == 60 ? 59 : second;  // a leap second reads as the second before it
  const std::time_t t = ::timegm(&tm);
  if (tm.tm_mday != day) return Bad(text);  // 31 April and the like were normalised away
  const std::int64_t ms =
      (static_cast<std::int64_t>(t) - std::int64_t{offset_minutes} * 60) * kMsPerSecond + millis;
  if (ms < 0 || ms > kMaxMs) return Bad(text);
  return ms;
}

}  // namespace polder::cli
