#!/usr/bin/env bash
# The main job: installs what is missing, builds, and walks three members of two organisations
# through a circle's life on one machine — charter, admissions, proposals, co-sponsoring, votes, a
# risk flag and its resolution, a delegation — exchanging events by bundle files, and ends by
# showing that every replica holds the same state (equal digests). Leaves nothing running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh "$root/build" >/dev/null
P="$root/build/polder"

work=$(mktemp -d "${TMPDIR:-/tmp}/polder-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
ana="$work/ana" ben="$work/ben" chloe="$work/chloe"
step() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
# Moves every event `from` holds to `to`, as a person would with a USB stick or an e-mail.
sync() { "$P" --home "$1" export "$work/x.bundle" --force >/dev/null; "$P" --home "$2" import "$work/x.bundle" >/dev/null; }

step "Three people create their identities"
"$P" --home "$ana" init --name "Ana" --org "Riverside Co-op" --role "treasurer" --leader
"$P" --home "$ben" init --name "Ben" --org "Riverside Co-op" --role "volunteer" >/dev/null
"$P" --home "$chloe" init --name "Chloé" --org "Hill Foundation" --role "program officer" >/dev/null
echo "(Ben and Chloé did the same)"

step "Ana founds the circle with a charter"
"$P" --home "$ana" circle create --name "Neighbourhood Fund" \
  --purpose "Make the river district greener and safer for everyone who lives there" \
  --pool 20000 --unit EUR --quorum 50% --blocking-severity high

step "Ana admits Ben and Chloé by their member IDs"
"$P" --home "$ana" admit "$("$P" --home "$ben" id)" --name "Ben" --org "Riverside Co-op" --role volunteer
"$P" --home "$ana" admit "$("$P" --home "$chloe" id)" --name "Chloé" --org "Hill Foundation" --role "program officer"
sync "$ana" "$ben"; sync "$ana" "$chloe"

step "Anyone may propose: Ben and Chloé each propose something"
trees=$("$P" --home "$ben" propose --title "Plant 40 street trees" --amount 8000 \
  --purpose-fit "Shade and cooler streets" --json | grep '"event_id"' | sed 's/.*: "\(.*\)".*/\1/')
lights=$("$P" --home "$chloe" propose --title "Solar path lights" --amount 12500.50 \
  --purpose-fit "Safer walks home at night" --json | grep '"event_id"' | sed 's/.*: "\(.*\)".*/\1/')
echo "trees:  ${trees:0:12}"; echo "lights: ${lights:0:12}"
sync "$ben" "$ana"; sync "$chloe" "$ana"; sync "$ana" "$ben"; sync "$ana" "$chloe"

step "Peers co-sponsor, vote, and Ana flags a risky bet"
"$P" --home "$chloe" endorse "${trees:0:8}" --note "We will water them in summer"
"$P" --home "$ana" vote "${trees:0:8}" for
"$P" --home "$chloe" vote "${trees:0:8}" for
flag=$("$P" --home "$ana" flag "${lights:0:8}" --severity high --category delivery \
  --rationale "No quote from an installer yet" --json | grep '"event_id"' | sed 's/.*: "\(.*\)".*/\1/')
echo "flag: ${flag:0:12}"
"$P" --home "$ben" delegate "$("$P" --home "$ana" id)" --topic ""
sync "$ana" "$chloe"; sync "$chloe" "$ana"; sync "$ben" "$ana"

step "Chloé answers the flag with a mitigation; Ana withdraws it"
"$P" --home "$chloe" resolve "${flag:0:8}" --answer "Attached two installer quotes; 10% contingency"
sync "$chloe" "$ana"
"$P" --home "$ana" resolve "${flag:0:8}" --withdraw
"$P" --home "$ana" vote "${lights:0:8}" for
"$P" --home "$ben" comment "Happy to help plant on Saturdays" --on "${trees:0:8}"

step "A refused command changes nothing (Ben may not withdraw Chloé's proposal)"
sync "$ana" "$ben"
if "$P" --home "$ben" withdraw "${lights:0:8}"; then echo "unexpected success"; exit 1; fi

step "Everyone exchanges everything"
for a in "$ana" "$ben" "$chloe"; do for b in "$ana" "$ben" "$chloe"; do [ "$a" != "$b" ] && sync "$a" "$b"; done; done
for a in "$ana" "$ben" "$chloe"; do for b in "$ana" "$ben" "$chloe"; do [ "$a" != "$b" ] && sync "$a" "$b"; done; done

step "The circle as Ben sees it"
"$P" --home "$ben" list
echo
"$P" --home "$ben" show "${lights:0:8}"

step "Every replica shows the same state"
digests=()
for h in "$ana" "$ben" "$chloe"; do
  d=$("$P" --home "$h" status --json | grep '"digest"' | sed 's/.*: "\(.*\)".*/\1/')
  "$P" --home "$h" verify >/dev/null
  printf '%-6s %s  (verified)\n' "$(basename "$h")" "$d"
  digests+=("$d")
done
if [ "${digests[0]}" = "${digests[1]}" ] && [ "${digests[1]}" = "${digests[2]}" ]; then
  echo "✓ all three replicas converged"
else
  echo "✗ replicas differ" >&2
  exit 1
fi
