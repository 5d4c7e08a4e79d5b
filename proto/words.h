// Stable lower-case words for enum values shown to people and in --json (one list for all modules).
#pragma once

namespace polder {

// info, low, medium, high, critical; "unknown" otherwise.
const char* SeverityWord(int severity);
// for, against, abstain; "unknown" otherwise.
const char* ChoiceWord(int choice);

}  // namespace polder
