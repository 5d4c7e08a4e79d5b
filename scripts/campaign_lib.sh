# Helpers shared by the campaigns that run real nodes (kill_campaign.sh, soak.sh); sourced, not run.
# The caller sets P (the polder binary), work (its folder), keep_env (the variable that keeps
# it) and the arrays home, port, pid and writer; `trap cleanup EXIT` ends only what it started.

cleanup() {
  touch "$work/stop"
  for p in "${writer[@]}" "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${writer[@]}" "${pid[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${!keep_env:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
json_field() { grep "\"$1\"" | head -1 | sed 's/.*: "\(.*\)".*/\1/'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_until TENTHS COMMAND...: until the command succeeds, at most TENTHS tenths of a second.
wait_until() {
  local tenths=$1
  shift
  for _ in $(seq 1 "$tenths"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}
# start_node I: (re)starts node I on its fixed port, so that a restarted node is found where it was.
start_node() {
  local i=$1
  "$P" --home "${home[$i]}" node --listen "127.0.0.1:${port[$i]}" >>"${home[$i]}.log" 2>&1 &
  pid[$i]=$!
}
members_seen() { [ "$("$P" --home "$1" members --json | grep -c '"member_id"')" -ge "$2" ]; }
digest_of() { "$P" --home "$1" status --json 2>/dev/null | json_field digest; }
# converged N: the first N homes show one digest.
converged() {
  local first
  first=$(digest_of "${home[0]}")
  [ -n "$first" ] || return 1
  for i in $(seq 1 $(($1 - 1))); do [ "$(digest_of "${home[$i]}")" = "$first" ] || return 1; done
}
