#!/usr/bin/env bash
# Soak: `scripts/soak.sh [NODES] [MINUTES]` (default 16 nodes, 30 minutes).
#
# Runs NODES member nodes (`polder node`) on loopback for MINUTES under a steady write load through
# the CLI: every member comments every few seconds and proposes about once a minute with a deadline
# half a minute away, so rounds close and are sealed all along. Once a minute it samples each
# node's resident memory (VmRSS) and open file descriptors from /proc, and prints one line:
#   minute M: events E; RSS min/median/max KB; fds max; WAL max MB
# At the end it lets the nodes converge (equal digests), stops them, checks that every replica
# passes `polder verify`, and prints each node's RSS and fd count at the first and the last sample.
# Fails if the digests do not converge or a replica does not verify. Uses the binary of build/ (or
# $POLDER_BIN); ends only the processes it started, by their PIDs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
nodes=${1:-16}
minutes=${2:-30}
P=${POLDER_BIN:-$root/build/polder}
[ -x "$P" ] || { echo "no polder binary at $P (build first: bash scripts/build.sh build)" >&2; exit 2; }
[ "$nodes" -ge 2 ] && [ "$nodes" -le 64 ] || { echo "NODES must be 2..64" >&2; exit 2; }
[ "$minutes" -ge 1 ] && [ "$minutes" -le 1440 ] || { echo "MINUTES must be 1..1440" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/polder-soak.XXXXXX")
declare -a pid writer home port
keep_env=POLDER_SOAK_KEEP
# shellcheck source=scripts/campaign_lib.sh
source "$root/scripts/campaign_lib.sh"
trap cleanup EXIT

base=$((20000 + RANDOM % 20000))
for i in $(seq 0 $((nodes - 1))); do
  home[$i]="$work/m$i"
  port[$i]=$((base + i))
  "$P" --home "${home[$i]}" init --name "M$i" --org "Org $((i % 2))" >/dev/null
done
# M1 is a founding partner (Org 1): M0 and M1 admit the others, members of two organisations.
created=$("$P" --home "${home[0]}" circle create --name "Soak" --purpose "Run for a long time" \
  --pool 100000000 --unit EUR --partner "$("$P" --home "${home[1]}" id),Org 1,M1" \
  --address "127.0.0.1:${port[0]}" --json)
start_node 0
wait_until 300 test -f "${home[0]}/api.json" || { echo "node 0 did not start" >&2; exit 1; }
"$P" --home "${home[1]}" join "$(echo "$created" | grep '"join_code": "polder1' | json_field join_code)" \
  >/dev/null
start_node 1
wait_until 300 members_seen "${home[1]}" 2 || { echo "M1 did not join" >&2; exit 1; }
for i in $(seq 2 $((nodes - 1))); do
  id=$("$P" --home "${home[$i]}" id)
  code=$("$P" --home "${home[0]}" admit "$id" --name "M$i" --org "Org $((i % 2))" --json |
    json_field join_code)
  "$P" --home "${home[1]}" admit "$id" --name "M$i" --org "Org $((i % 2))" >/dev/null
  "$P" --home "${home[$i]}" join "$code" >/dev/null
  start_node "$i"
done
for i in $(seq 0 $((nodes - 1))); do
  wait_until 1200 members_seen "${home[$i]}" "$nodes" || { echo "M$i did not join" >&2; exit 1; }
done
topic=$("$P" --home "${home[0]}" propose --title "Topic of the soak" --amount 1 \
  --deadline $(($(now_ms) + 86400000 * 2)) --json | json_field event_id)
for i in $(seq 0 $((nodes - 1))); do
  wait_until 600 "$P" --home "${home[$i]}" show "${topic:0:16}" ||
    { echo "the topic did not reach M$i" >&2; exit 1; }
done
echo "soak: $nodes nodes up, $minutes minutes of load"

write_loop() {  # comments every 2-5 s, a proposal about once a minute (deadline 30 s away)
  local i=$1 n=0
  while [ ! -f "$work/stop" ] && [ $n -lt 1000000 ]; do
    n=$((n + 1))
    if [ $((n % 20)) -eq 0 ]; then
      "$P" --home "${home[$i]}" propose --title "Round $i.$n" --amount 1 \
        --deadline $(($(now_ms) + 30000)) >/dev/null 2>&1 || true
    else
      "$P" --home "${home[$i]}" comment "soak $i.$n" --on "${topic:0:16}" >/dev/null 2>&1 || true
    fi
    sleep "$((2 + RANDOM % 4))"
  done
}
for i in $(seq 0 $((nodes - 1))); do
  write_loop "$i" &
  writer[$i]=$!
done

rss_of() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
declare -a rss_first fds_first rss_last fds_last
for m in $(seq 1 "$minutes"); do
  sleep 60
  rss=() fds=()
  wal=0
  for i in $(seq 0 $((nodes - 1))); do
    w=$(stat -c %s "${home[$i]}/replica.sqlite3-wal" 2>/dev/null || echo 0)
    [ "$w" -gt "$wal" ] && wal=$w
    r=$(rss_of "${pid[$i]}")
    f=$(fds_of "${pid[$i]}")
    rss+=("$r")
    fds+=("$f")
    if [ "$m" -eq 1 ]; then rss_first[$i]=$r fds_first[$i]=$f; fi
    rss_last[$i]=$r fds_last[$i]=$f
  done
  sorted=$(printf '%s\n' "${rss[@]}" | sort -n)
  held=$("$P" --home "${home[0]}" status 2>/dev/null | sed -n 's/^events: *\([0-9]*\) applied.*/\1/p')
  echo "minute $m: events ${held:-?}; RSS KB min $(echo "$sorted" | head -1)" \
    "median $(echo "$sorted" | sed -n "$(((nodes + 1) / 2))p") max $(echo "$sorted" | tail -1);" \
    "fds max $(printf '%s\n' "${fds[@]}" | sort -n | tail -1); WAL max $((wal / 1048576)) MB"
done
touch "$work/stop"
for p in "${writer[@]}"; do wait "$p" || true; done
writer=()

ok=1
wait_until 1800 converged "$nodes" || ok=0
for i in $(seq 0 $((nodes - 1))); do kill -TERM "${pid[$i]}" 2>/dev/null || true; done
for i in $(seq 0 $((nodes - 1))); do wait "${pid[$i]}" 2>/dev/null || true; done
pid=()
corrupt=0
for i in $(seq 0 $((nodes - 1))); do
  "$P" --home "${home[$i]}" verify >/dev/null 2>&1 || corrupt=$((corrupt + 1))
  echo "M$i: RSS ${rss_first[$i]} -> ${rss_last[$i]} KB, fds ${fds_first[$i]} -> ${fds_last[$i]}"
done
echo "soak: $nodes nodes, $minutes minutes; digests $([ $ok -eq 1 ] && echo equal || echo NOT equal);" \
  "$corrupt replicas that do not verify"
[ "$ok" -eq 1 ] && [ "$corrupt" -eq 0 ]
