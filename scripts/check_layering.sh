#!/usr/bin/env bash
# Fails when a module includes a module above it: proto <- crypto <- storage <- node.
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
check proto 'crypto|storage|node'
check crypto 'storage|node'
check storage 'node'
# Third-party libraries stay in their module.
if grep -rnE '#include <(sodium|sodium/.*)\.h>' storage node --include='*.h' --include='*.cc'; then
  echo "layering: libsodium is private to crypto/" >&2; bad=1
fi
if grep -rnE '#include <(SQLiteCpp/|sqlite3\.h)' proto crypto node --include='*.h' --include='*.cc'; then
  echo "layering: SQLite is private to storage/" >&2; bad=1
fi
if [ $bad -eq 0 ]; then echo "layering ok"; fi
exit $bad
