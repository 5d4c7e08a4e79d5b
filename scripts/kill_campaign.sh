#!/usr/bin/env bash
# Kill campaign: `scripts/kill_campaign.sh [KILLS] [NODES]` (default 50 kills, 3 nodes).
#
# Runs NODES member nodes (`polder node`) on loopback, each with a writer that authors comments
# (and now and then a proposal with a deadline a few seconds away, so that rounds are sealed all
# along) through the CLI, against its running node or, while the node is down, into its replica.
# Meanwhile it SIGKILLs a random node KILLS times at random moments (while it authors, pushes,
# catches up after the previous kill, seals, or is still starting) and starts it again at once.
# At the end it lets the nodes converge, stops them, and checks that every event whose author was
# told it succeeded (the CLI printed its id) is held by every replica, that every replica passes
# `polder verify`, and that all digests are equal. Prints
#   KILLS kills, L lost acknowledged events, C corrupt replicas
# and fails unless L and C are 0 and the digests converged. Uses the binary of build/ (or
# $POLDER_BIN); ends only the processes it started, by their PIDs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kills=${1:-50}
nodes=${2:-3}
P=${POLDER_BIN:-$root/build/polder}
[ -x "$P" ] || { echo "no polder binary at $P (build first: bash scripts/build.sh build)" >&2; exit 2; }
[ "$nodes" -ge 2 ] && [ "$nodes" -le 8 ] || { echo "NODES must be 2..8" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/polder-kill.XXXXXX")
declare -a pid writer home port
keep_env=POLDER_KILL_KEEP
# shellcheck source=scripts/campaign_lib.sh
source "$root/scripts/campaign_lib.sh"
trap cleanup EXIT
# Fixed ports, so that a restarted node is found where it was.
base=$((20000 + RANDOM % 20000))
for i in $(seq 0 $((nodes - 1))); do
  home[$i]="$work/m$i"
  port[$i]=$((base + i))
  "$P" --home "${home[$i]}" init --name "M$i" --org "Org $((i % 2))" >/dev/null
done
"$P" --home "${home[0]}" circle create --name "Kill campaign" --purpose "Lose nothing acknowledged" \
  --pool 1000000 --unit EUR --organisations "Org 1" >/dev/null
start_node 0
wait_until 300 test -f "${home[0]}/api.json" || { echo "node 0 did not start" >&2; exit 1; }
# Admission (see the demo): M1 by M0 (while only Org 0 has members, all of them admit a
# newcomer); every later one by M0 and M1, members of two organisations.
for i in $(seq 1 $((nodes - 1))); do
  id=$("$P" --home "${home[$i]}" id)
  code=$("$P" --home "${home[0]}" admit "$id" --name "M$i" --org "Org $((i % 2))" --json |
    json_field join_code)
  if [ "$i" -ge 2 ]; then
    "$P" --home "${home[1]}" admit "$id" --name "M$i" --org "Org $((i % 2))" >/dev/null
  fi
  "$P" --home "${home[$i]}" join "$code" >/dev/null
  start_node "$i"
  wait_until 300 members_seen "${home[$i]}" $((i + 1)) || { echo "M$i did not join" >&2; exit 1; }
done
topic=$("$P" --home "${home[0]}" propose --title "Topic of the campaign" --amount 1 \
  --deadline $(($(now_ms) + 86400000)) --json | json_field event_id)
for i in $(seq 0 $((nodes - 1))); do
  wait_until 300 "$P" --home "${home[$i]}" show "${topic:0:16}" ||
    { echo "the topic did not reach M$i" >&2; exit 1; }
done

# One writer per member: what the CLI acknowledged goes to m$i.acked (comments) and
# m$i.acked-proposals; bounded by the stop file and by a count.
write_loop() {
  local i=$1 n=0 out
  while [ ! -f "$work/stop" ] && [ $n -lt 100000 ]; do
    n=$((n + 1))
    if [ $((n % 25)) -eq 0 ]; then
      if out=$("$P" --home "${home[$i]}" propose --title "Round $i.$n" --amount 1 \
        --deadline $(($(now_ms) + 3000)) --json 2>/dev/null); then
        echo "$out" | json_field event_id >>"${home[$i]}.acked-proposals"
      fi
    elif out=$("$P" --home "${home[$i]}" comment "write $i.$n" --on "${topic:0:16}" --json \
      2>/dev/null); then
      echo "$out" | json_field event_id >>"${home[$i]}.acked"
    fi
    sleep "0.0$((RANDOM % 10))"
  done
}
for i in $(seq 0 $((nodes - 1))); do
  : >"${home[$i]}.acked"
  : >"${home[$i]}.acked-proposals"
  write_loop "$i" &
  writer[$i]=$!
done

# The kills: a random node at a random moment (0.2 to 1.2 s apart), started again at once.
corrupt_starts=0
for k in $(seq 1 "$kills"); do
  sleep "$((RANDOM % 2)).$((RANDOM % 10))"
  sleep 0.2
  i=$((RANDOM % nodes))
  kill -KILL "${pid[$i]}" 2>/dev/null || true
  # A node that ended by itself (not by this kill) could not open its replica.
  wait "${pid[$i]}" 2>/dev/null && status=0 || status=$?
  if [ "$status" -ne 137 ]; then
    corrupt_starts=$((corrupt_starts + 1))
    echo "M$i had ended by itself (status $status) before kill $k:" >&2
    tail -3 "${home[$i]}.log" >&2
  fi
  start_node "$i"
done
touch "$work/stop"
for p in "${writer[@]}"; do wait "$p" || true; done
writer=()

# Converge: equal digests (at most 3 minutes: rounds sealed late keep adding seals).
ok=1
wait_until 1800 converged "$nodes" || ok=0

for i in $(seq 0 $((nodes - 1))); do kill -TERM "${pid[$i]}" 2>/dev/null || true; done
for i in $(seq 0 $((nodes - 1))); do wait "${pid[$i]}" 2>/dev/null || true; done
pid=()

# Every replica opens and verifies; every acknowledged event is held by every replica.
corrupt=$corrupt_starts
for i in $(seq 0 $((nodes - 1))); do
  if ! "$P" --home "${home[$i]}" verify >"$work/verify-$i" 2>&1; then
    corrupt=$((corrupt + 1))
    echo "M$i's replica does not verify:" >&2
    tail -5 "$work/verify-$i" >&2
  fi
done
lost=0
acked=0
for i in $(seq 0 $((nodes - 1))); do
  "$P" --home "${home[$i]}" show "${topic:0:16}" --json 2>/dev/null |
    grep '"event_id"' | sed 's/.*: "\(.*\)".*/\1/' | sort -u >"$work/held-$i"
done
for i in $(seq 0 $((nodes - 1))); do
  acked=$((acked + $(wc -l <"${home[$i]}.acked") + $(wc -l <"${home[$i]}.acked-proposals")))
  for j in $(seq 0 $((nodes - 1))); do
    missing=$(sort -u "${home[$i]}.acked" | comm -23 - "$work/held-$j" | wc -l)
    if [ "$missing" -gt 0 ]; then
      echo "M$j lacks $missing comments M$i was told were written" >&2
      lost=$((lost + missing))
    fi
    while read -r p; do
      [ -n "$p" ] || continue
      if ! "$P" --home "${home[$j]}" show "${p:0:16}" >/dev/null 2>&1; then
        echo "M$j lacks proposal ${p:0:12} M$i was told was written" >&2
        lost=$((lost + 1))
      fi
    done <"${home[$i]}.acked-proposals"
  done
done
echo "$kills kills, $lost lost acknowledged events, $corrupt corrupt replicas" \
  "($acked events acknowledged; digests $([ $ok -eq 1 ] && echo equal || echo NOT equal))"
[ "$lost" -eq 0 ] && [ "$corrupt" -eq 0 ] && [ "$ok" -eq 1 ]
