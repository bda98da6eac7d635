# shellcheck shell=bash
# Shared helpers for the e2e scripts. Source it; do not execute it.
# Every long-running process is started with start_bg: its own session/process group (setsid), PID file in
# .e2e/pids/<name>.pid (PID == PGID), log in .e2e/logs/<name>.log. stop_all kills every group it finds there.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_DIR="$E2E_ROOT/.e2e"
E2E_PIDS="$E2E_DIR/pids"
E2E_LOGS="$E2E_DIR/logs"

log() { printf '[e2e %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# start_bg NAME CMD [ARGS...]  -> starts CMD in a new process group, records its PID.
start_bg() {
  local name=$1; shift
  mkdir -p "$E2E_PIDS" "$E2E_LOGS"
  setsid "$@" >>"$E2E_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$E2E_PIDS/$name.pid"
  log "started $name (pid $!), log: ${E2E_LOGS#"$E2E_ROOT"/}/$name.log"
}

# alive NAME -> true if the recorded process group still has a member.
alive() {
  local f="$E2E_PIDS/$1.pid"
  [[ -f $f ]] && kill -0 -- "-$(<"$f")" 2>/dev/null
}

# stop_all -> TERM every recorded process group, wait up to 8s, then KILL stragglers.
stop_all() {
  [[ -d $E2E_PIDS ]] || return 0
  local f pg pgs=() i
  for f in "$E2E_PIDS"/*.pid; do
    [[ -f $f ]] || continue
    pg=$(<"$f")
    [[ $pg =~ ^[0-9]+$ ]] || continue
    pgs+=("$pg")
    kill -TERM -- "-$pg" 2>/dev/null && log "stopping $(basename "$f" .pid) (pgid $pg)"
  done
  for i in $(seq 1 50); do
    local left=()
    for pg in "${pgs[@]}"; do kill -0 -- "-$pg" 2>/dev/null && left+=("$pg"); done
    ((${#left[@]} == 0)) && break
    if ((i == 40)); then for pg in "${left[@]}"; do kill -KILL -- "-$pg" 2>/dev/null || true; done; fi
    sleep 0.2
  done
  for pg in "${pgs[@]}"; do
    if kill -0 -- "-$pg" 2>/dev/null; then die "process group $pg survived SIGKILL"; fi
  done
  rm -f "$E2E_PIDS"/*.pid
}

# wait_for DESCRIPTION TIMEOUT_SECONDS CMD... -> polls CMD every 0.5s until it succeeds.
wait_for() {
  local what=$1 timeout=$2 start=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - start < timeout)) || { log "timed out after ${timeout}s waiting for $what"; return 1; }
    sleep 0.5
  done
  log "$what: ok ($((SECONDS - start))s)"
}
