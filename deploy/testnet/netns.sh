#!/usr/bin/env bash
# A five-host testnet on one machine: 5 network namespaces, each with one `polder node`, joined by
# veth pairs to a bridge that lives in a sixth ("hub") namespace, so the host's own network is
# never touched. Runs a funding round, cuts one host off (`ip link set … down`), keeps voting on
# both sides, brings it back and checks that all five digests become equal. Cleans up everything
# it made (namespaces, links, processes it started, files) and ends by itself.
#
#   sudo deploy/testnet/netns.sh [path/to/polder]
#
# Needs root and iproute2. Without them it says it was skipped and exits 0.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
P=${1:-$root/build/polder}
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null 2>&1; then
  echo "testnet: skipped (needs root and iproute2's ip)"
  exit 0
fi
[ -x "$P" ] || { echo "testnet: no polder binary at $P (build first)" >&2; exit 1; }

tag="pd$$"
hub="${tag}hub"
work=$(mktemp -d "${TMPDIR:-/tmp}/polder-testnet.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for i in 1 2 3 4 5; do ip netns del "${tag}n$i" 2>/dev/null || true; done
  ip netns del "$hub" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
inns() { local i=$1; shift; ip netns exec "${tag}n$i" "$@"; }
pol() { local i=$1; shift; inns "$i" "$P" --home "$work/h$i" "$@"; }
json_field() { grep "\"$1\"" | head -1 | sed 's/.*: "\(.*\)".*/\1/'; }
wait_until() {  # wait_until WHAT SECONDS CMD...
  local what=$1 secs=$2
  shift 2
  for _ in $(seq 1 $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "testnet: timed out waiting for $what" >&2
  for i in 1 2 3 4 5; do echo "--- host $i:" >&2; tail -5 "$work/h$i.log" >&2 || true; done
  exit 1
}

say "Creating 5 namespaces on a bridge (10.77.0.1-5/24)"
# Some sandboxes (a chroot, a container without CAP_SYS_ADMIN) cannot make namespaces at all.
if ! ip netns add "$hub" 2>"$work/netns.err" || ! ip netns exec "$hub" true 2>>"$work/netns.err"; then
  echo "testnet: skipped (cannot create network namespaces here: $(head -1 "$work/netns.err"))"
  exit 0
fi
ip -n "$hub" link add br0 type bridge
ip -n "$hub" link set br0 up
for i in 1 2 3 4 5; do
  ns="${tag}n$i"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "${tag}a$i" type veth peer name "${tag}b$i"
  ip link set "${tag}a$i" netns "$ns"
  ip link set "${tag}b$i" netns "$hub"
  ip -n "$ns" link set "${tag}a$i" name eth0
  ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$hub" link set "${tag}b$i" master br0
  ip -n "$hub" link set "${tag}b$i" up
done

start_node() {
  # ip netns exec execs polder in place, so $! is the node's own PID.
  ip netns exec "${tag}n$1" "$P" --home "$work/h$1" node --listen "10.77.0.$1:7714" \
    >"$work/h$1.log" 2>&1 &
  pids+=($!)
  wait_until "node $1 to start" 10 test -f "$work/h$1/api.json"
}
members_at() { [ "$(pol "$1" members --json | grep -c '"member_id"')" -ge "$2" ]; }

say "Identities; host 1 founds the circle; the others join with join codes"
orgs=("" "Riverside Co-op" "Riverside Co-op" "Hill Foundation" "Hill Foundation" "City Youth Trust")
for i in 1 2 3 4 5; do pol "$i" init --name "member$i" --org "${orgs[$i]}" >/dev/null; done
pol 1 circle create --name "Testnet Fund" --purpose "Test across hosts" --pool 10000 \
  --organisations "Hill Foundation,City Youth Trust" >/dev/null
start_node 1
# A newcomer counts (and may connect) once members of two organisations admitted them: host 1,
# and then host 2 (Riverside, for the first Hill member) or host 3 (Hill).
second=("" "" "" 2 3 3)
for i in 2 3 4 5; do
  code=$(pol 1 admit "$(pol "$i" id)" --name "member$i" --org "${orgs[$i]}" --json | json_field join_code)
  if [ -n "${second[$i]}" ]; then
    pol "${second[$i]}" admit "$(pol "$i" id)" --name "member$i" --org "${orgs[$i]}" >/dev/null
  fi
  pol "$i" join "$code" >/dev/null
  start_node "$i"
  wait_until "host $i to see its admission" 20 members_at "$i" "$i"
done
echo "5 hosts, 5 members"

say "A funding round"
p1=$(pol 2 propose --title "Community garden" --amount 3000 --json | json_field event_id)
p2=$(pol 3 propose --title "Repair cafe" --amount 2000 --json | json_field event_id)
for i in 1 2 3 4 5; do wait_until "proposals at host $i" 20 pol "$i" show "${p2:0:12}"; done
for i in 1 2 3 4 5; do pol "$i" vote "${p1:0:12}" for >/dev/null; done
pol 4 flag "${p2:0:12}" --severity high --category cost --rationale "No budget breakdown" >/dev/null

digest() { pol "$1" status --json | json_field digest; }
all_equal() {
  local d
  d=$(digest 1)
  for i in 2 3 4 5; do [ "$(digest "$i")" = "$d" ] || return 1; done
}
wait_until "all five to converge" 30 all_equal
echo "converged: $(digest 1)"

say "Cutting host 5 off (its link to the bridge goes down); both sides keep voting"
ip -n "$hub" link set "${tag}b5" down
for i in 1 2 3; do pol "$i" vote "${p2:0:12}" against >/dev/null; done
pol 5 vote "${p2:0:12}" for >/dev/null
pol 5 comment "voted while cut off" >/dev/null
sleep 2
if [ "$(digest 5)" = "$(digest 1)" ]; then echo "testnet: host 5 was not cut off" >&2; exit 1; fi
echo "host 5: $(digest 5)"
echo "others: $(digest 1)"

say "Bringing host 5 back"
ip -n "$hub" link set "${tag}b5" up
wait_until "all five to converge after the cut" 60 all_equal
for i in 1 2 3 4 5; do printf 'host %d  %s\n' "$i" "$(digest "$i")"; done
echo "✓ testnet: all five digests are equal"
