#!/usr/bin/env bash
# Fails when a module includes a module above it, or another module's internals:
#   proto <- crypto <- storage/rulebook <- storage <- node/{net,decide} <- node/sync <- node/api
#   <- node/app <- node/cli   (docs/architecture.md has the table of who may include whom).
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
bad=0
check() {  # check DIR FORBIDDEN-PATTERN
  local dir=$1 pattern=$2
  if grep -rnE "#include \"($pattern)/" "$dir" --include='*.h' --include='*.cc' ; then
    echo "layering: $dir must not include $pattern" >&2
    bad=1
  fi
}
check_re() {  # check_re DIR FORBIDDEN-INCLUDE-REGEX (the whole quoted path)
  local dir=$1 pattern=$2
  if grep -rnE "#include \"($pattern)\"" "$dir" --include='*.h' --include='*.cc' ; then
    echo "layering: $dir must not include $pattern" >&2
    bad=1
  fi
}
check proto 'crypto|storage|node'
check crypto 'storage|node'
check storage 'node'
# The replica's internals (SQLite connection, the gate and its parts) stay inside storage/.
if grep -rnE '#include "storage/(db|sql_state|effects|pending_set|gate|digest|schema)\.h"' \
    proto crypto node tests bench --include='*.h' --include='*.cc'; then
  echo "layering: the replica's internal headers are included only inside storage/" >&2; bad=1
fi
# The rulebook (what an event is and does) is pure: proto/ and crypto/ only, no SQLite.
check_re storage/rulebook 'storage/[a-z_]+\.h|node/.*'
# node/decide is pure (decisions are functions of their inputs): proto/, crypto/ and the
# rulebook only.
check_re node/decide 'storage/[a-z_]+\.h'
check node/decide 'node/(net|sync|api|app|cli|insights)'
# node/decide's internal headers (they say so at their top) are included only inside node/decide.
for h in $(grep -l '^// Internal to node/decide' node/decide/*.h); do
  if grep -rn "#include \"$h\"" proto crypto storage node tests bench \
      --include='*.h' --include='*.cc' | grep -v '^node/decide/'; then
    echo "layering: $h is internal to node/decide" >&2; bad=1
  fi
done
check node/net 'storage|node/(decide|sync|api|app|cli|insights)'
check node/sync 'node/(decide|api|app|cli|insights)'
# The syncer sees storage only through its EventStore; replica_store.cc adapts the replica.
if grep -rn '#include "storage/replica.h"' node/sync --include='*.h' --include='*.cc' \
    | grep -v '^node/sync/replica_store.cc:'; then
  echo "layering: in node/sync only replica_store.cc includes storage/replica.h" >&2; bad=1
fi
# Its clock and randomness come in through Syncer::Options (deterministic simulation).
if grep -rnE 'random_device|steady_clock::now|system_clock' node/sync --include='*.h' --include='*.cc' \
    | grep -vE '^[^:]+:[0-9]+:\s*//'; then
  echo "layering: node/sync takes its clock and randomness from Syncer::Options" >&2; bad=1
fi
# node/api reaches the node only through its own NodePort (node/app implements it).
check node/api 'node/(app|cli)'
check node/app 'node/cli'
if grep -rnE '#include <(asio|asio/.*)\.hpp>|#include <(chrono|ctime|thread|fstream|filesystem|random)>' \
    node/decide --include='*.h' --include='*.cc'; then
  echo "layering: node/decide must not use asio, clocks, threads, files or randomness" >&2; bad=1
fi
# Third-party libraries stay in their module.
if grep -rnE '#include <(sodium|sodium/.*)\.h>' storage node --include='*.h' --include='*.cc'; then
  echo "layering: libsodium is private to crypto/" >&2; bad=1
fi
if grep -rnE '#include <(SQLiteCpp/|sqlite3\.h)' proto crypto node --include='*.h' --include='*.cc'; then
  echo "layering: SQLite is private to storage/" >&2; bad=1
fi
if grep -rnE '#include <prometheus/' proto crypto storage node/net node/sync node/decide node/app \
    node/cli --include='*.h' --include='*.cc'; then
  echo "layering: prometheus-cpp is private to node/api (node/sync keeps plain counters)" >&2; bad=1
fi
if grep -rnE '#include <httplib\.h>' proto crypto storage node/net node/sync node/decide node/app \
    node/cli --include='*.h' --include='*.cc'; then
  echo "layering: cpp-httplib is private to node/api" >&2; bad=1
fi
if [ $bad -eq 0 ]; then echo "layering ok"; fi
exit $bad
