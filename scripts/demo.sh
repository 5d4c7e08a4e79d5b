#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a circle of five members from three
# organisations on this machine. Each member runs their own node (`polder node`, own home folder,
# own port on 127.0.0.1); the founder names two founding partners in the charter and admits the
# others with a partner; everyone joins with their own join code; they propose, co-sponsor,
# vote, delegate, flag a risky bet and resolve it, all through the CLI against their running
# nodes, which sync over encrypted sessions. It ends by printing every node's state and checking
# that all five digests are equal, then stops the nodes it started. Leaves nothing running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh "$root/build" >/dev/null
P="$root/build/polder"

work=$(mktemp -d "${TMPDIR:-/tmp}/polder-demo.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${POLDER_DEMO_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
json_field() { grep "\"$1\"" | head -1 | sed 's/.*: "\(.*\)".*/\1/'; }
# Waits (at most 30 s) until the command succeeds.
wait_until() {
  local what=$1
  shift
  for _ in $(seq 1 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "✗ timed out waiting for: $what" >&2
  for h in "${homes[@]}"; do echo "--- $(basename "$h") log:" >&2; tail -5 "$h.log" >&2; done
  exit 1
}
start_node() {  # start_node HOME [NODE-OPTION...]
  local home=$1
  shift
  "$P" --home "$home" node --listen 127.0.0.1:0 "$@" >"$home.log" 2>&1 &
  pids+=($!)
  wait_until "$(basename "$home")'s node to start" test -f "$home/api.json"
}
has_members() { [ "$("$P" --home "$1" members --json | grep -c '"member_id"')" -ge "$2" ]; }
has_proposal() { "$P" --home "$1" show "$2" >/dev/null; }

names=(ana ben chloe dev eli)
declare -A org=([ana]="Riverside Co-op" [ben]="Riverside Co-op" [chloe]="Hill Foundation"
  [dev]="Hill Foundation" [eli]="City Youth Trust")
declare -A role=([ana]="treasurer" [ben]="volunteer" [chloe]="program officer" [dev]="analyst"
  [eli]="youth worker")
homes=()
for n in "${names[@]}"; do homes+=("$work/$n"); done
ana="$work/ana"

step "Five people of three organisations create their identities"
for n in "${names[@]}"; do
  "$P" --home "$work/$n" init --name "${n^}" --org "${org[$n]}" --role "${role[$n]}" >/dev/null
  printf '%-6s %-17s %s\n' "${n^}" "${org[$n]}" "$("$P" --home "$work/$n" id)"
done

step "Ana founds the circle with two founding partners, Chloe and Eli, and starts her node"
# The charter names the founding partners: members from it on, and with Ana the committee that
# seals the first round's admissions (so none can be backdated into it later).
created=$("$P" --home "$ana" circle create --name "Neighbourhood Fund" \
  --purpose "Make the river district greener and safer for everyone who lives there" \
  --pool 20000 --unit EUR --quorum 50% --blocking-severity high \
  --partner "$("$P" --home "$work/chloe" id),${org[chloe]},Chloe" \
  --partner "$("$P" --home "$work/eli" id),${org[eli]},Eli" --json)
start_node "$ana"
sed -n 's/^polder node: /  /p' "$ana.log"
partner_code() { grep -A3 "\"member_id\": \"$("$P" --home "$work/$1" id)\"" | json_field join_code; }
# The partners' codes were made before Ana's node picked its free port (`circle create --address`
# names one known in advance): they dial it with --peer.
ana_address=$(sed -n 's/.*listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$ana.log" | head -1)
for n in chloe eli; do
  code=$(partner_code "$n" <<<"$created")
  echo "${n^}: founding partner, join code ${code:0:32}… (secret, shown once)"
  "$P" --home "$work/$n" join "$code" | head -1
  start_node "$work/$n" --peer "$ana_address"
  wait_until "${n^} to see the charter" has_members "$work/$n" 3
done

step "Ana admits Ben and Dev; Chloe, of a second organisation, admits them too; they join"
# No one member can mint voters: a newcomer counts (and may connect) once members of two
# organisations have admitted them.
count=3
for n in ben dev; do
  code=$("$P" --home "$ana" admit "$("$P" --home "$work/$n" id)" --name "${n^}" \
    --org "${org[$n]}" --role "${role[$n]}" --json | json_field join_code)
  "$P" --home "$work/chloe" admit "$("$P" --home "$work/$n" id)" --name "${n^}" \
    --org "${org[$n]}" --role "${role[$n]}" --json >/dev/null
  echo "${n^}: admitted by Ana (${org[ana]}) and Chloe (${org[chloe]})"
  echo "${n^}: join code ${code:0:32}… (secret, shown once)"
  "$P" --home "$work/$n" join "$code" | head -1
  start_node "$work/$n"
  count=$((count + 1))
  wait_until "${n^} to see their admission" has_members "$work/$n" "$count"
done
"$P" --home "$ana" members

step "Anyone may propose: Ben and Chloé propose spending, Ana a rule change (one round, 40 s)"
# A shared deadline makes a funding round; the demo's closes 40 s from now.
deadline=$(( $(date +%s) * 1000 + 40000 ))
trees=$("$P" --home "$work/ben" propose --title "Plant 40 street trees" --amount 8000 \
  --purpose-fit "Shade and cooler streets" --deadline "$deadline" --json | json_field event_id)
lights=$("$P" --home "$work/chloe" propose --title "Solar path lights" --amount 12500.50 \
  --purpose-fit "Safer walks home at night" --deadline "$deadline" --json | json_field event_id)
cap=$("$P" --home "$ana" propose-rules --title "No organisation takes more than 60% of the pool" \
  --max-org-share 60% --deadline "$deadline" --json | json_field event_id)
echo "trees:  ${trees:0:12}"
echo "lights: ${lights:0:12}"
echo "rules:  ${cap:0:12} (a rule change: needs two thirds, applies to later rounds)"
for h in "${homes[@]}"; do
  wait_until "the proposals at $(basename "$h")" has_proposal "$h" "${trees:0:12}"
  wait_until "the proposals at $(basename "$h")" has_proposal "$h" "${lights:0:12}"
  wait_until "the proposals at $(basename "$h")" has_proposal "$h" "${cap:0:12}"
done

step "Peers co-sponsor, vote and delegate; Dev flags a risky bet"
"$P" --home "$work/chloe" endorse "${trees:0:8}" --note "We will water them in summer"
"$P" --home "$ana" vote "${trees:0:8}" for
"$P" --home "$work/chloe" vote "${trees:0:8}" for
"$P" --home "$work/eli" vote "${trees:0:8}" for
"$P" --home "$work/dev" vote "${lights:0:8}" against
for n in ana chloe dev eli; do "$P" --home "$work/$n" vote "${cap:0:8}" for >/dev/null; done
"$P" --home "$work/ben" delegate "$("$P" --home "$ana" id)"
flag=$("$P" --home "$work/dev" flag "${lights:0:8}" --severity high --category delivery \
  --rationale "No quote from an installer yet" --json | json_field event_id)
echo "flag:   ${flag:0:12}"
wait_until "the flag at Chloé's node" "$P" --home "$work/chloe" resolve "${flag:0:8}" \
  --answer "Attached two installer quotes; 10% contingency"
echo "Chloé answered the flag with a mitigation"

step "Dev is satisfied and withdraws his flag; Eli votes for the lights"
has_answer() { "$P" --home "$work/dev" show "${lights:0:8}" | grep "answer" >/dev/null; }
wait_until "the answer at Dev's node" has_answer
"$P" --home "$work/dev" resolve "${flag:0:8}" --withdraw
"$P" --home "$work/eli" vote "${lights:0:8}" for
"$P" --home "$ana" vote "${lights:0:8}" for
"$P" --home "$work/ben" comment "Happy to help plant on Saturdays" --on "${trees:0:8}"

step "A refused command changes nothing (Ben may not withdraw Chloé's proposal)"
if "$P" --home "$work/ben" withdraw "${lights:0:8}"; then echo "unexpected success"; exit 1; fi

step "Waiting for every node to converge"
digest_of() { "$P" --home "$1" status --json | json_field digest; }
converged() {
  local first
  first=$(digest_of "$ana")
  for h in "${homes[@]}"; do [ "$(digest_of "$h")" = "$first" ] || return 1; done
}
wait_until "all five digests to be equal" converged

step "The circle as Eli's node sees it"
"$P" --home "$work/eli" list
echo
"$P" --home "$work/eli" show "${lights:0:8}"
echo
"$P" --home "$work/eli" status

step "The round closes; each node seals it, and the outcome becomes final (Eli's node)"
"$P" --home "$work/eli" tally
# (grep reads all of it: with -q it could exit first, and pipefail would see polder's SIGPIPE)
is_final() { "$P" --home "$work/eli" tally --json | grep '"finality": "final"' >/dev/null; }
for _ in $(seq 1 900); do is_final && break; sleep 0.1; done
if ! is_final; then
  echo "✗ the round did not become final" >&2
  for h in "${homes[@]}"; do echo "--- $(basename "$h") log:" >&2; tail -8 "$h.log" >&2; done
  exit 1
fi
wait_until "all five digests to be equal again (with the seals)" converged
echo
"$P" --home "$work/eli" tally
echo
"$P" --home "$work/eli" tally --explain "${trees:0:8}"
echo "(\`polder audit ${trees:0:8} --json\` prints everything needed to re-check it)"

step "Every node holds the same state"
for h in "${homes[@]}"; do
  printf '%-6s %s  %s\n' "$(basename "$h")" "$(digest_of "$h")" \
    "$("$P" --home "$h" status | sed -n 's/^node: *//p')"
done
echo "✓ all five nodes converged (equal digests)"

step "Stopping the nodes"
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid" || true; done
pids=()
for h in "${homes[@]}"; do "$P" --home "$h" verify >/dev/null; done
echo "✓ stopped; every replica verifies"
