# shellcheck shell=bash
# Shared helpers for the e2e scripts. Source it; do not execute it.
# Every long-running process is started with start_bg: its own session/process group (setsid), PID file in
# .e2e/pids/<name>.pid (PID == PGID), log in .e2e/logs/<name>.log. stop_all kills every group it finds there.
# Cluster processes run inside this checkout's node sandbox (scripts/e2e/sandbox.sh): start_in_sandbox.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_DIR="$E2E_ROOT/.e2e"
E2E_PIDS="$E2E_DIR/pids"
E2E_LOGS="$E2E_DIR/logs"
# shellcheck disable=SC2034 # used by the scripts that source this file
E2E_NODE="$E2E_DIR/node"
E2E_KUBECONFIG="$E2E_DIR/kubeconfig"
export PATH="$E2E_ROOT/.tools/bin:$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

log() { printf '[e2e %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

kc() { kubectl --kubeconfig "$E2E_KUBECONFIG" "$@"; }

# start_bg NAME CMD [ARGS...]  -> starts CMD in a new process group, records its PID.
start_bg() {
  local name=$1; shift
  mkdir -p "$E2E_PIDS" "$E2E_LOGS"
  setsid "$@" >>"$E2E_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$E2E_PIDS/$name.pid"
  echo "$name" >>"$E2E_PIDS/order"
  log "started $name (pid $!), log: ${E2E_LOGS#"$E2E_ROOT"/}/$name.log"
}

# load_sandbox -> the variables sandbox.sh recorded (SLOT, HOLDER_PID, NETNS, NODE_IP, …); false if none.
load_sandbox() {
  [[ -f $E2E_DIR/sandbox.env ]] || return 1
  # shellcheck source=/dev/null
  source "$E2E_DIR/sandbox.env"
}

# sandbox_alive -> true if the recorded holder still runs in the recorded network namespace (guards against
# a reused PID: we never enter a namespace that is not ours).
sandbox_alive() {
  load_sandbox || return 1
  [[ $(stat -L -c %i "/proc/$HOLDER_PID/ns/net" 2>/dev/null) == "$NETNS" ]]
}

# in_sandbox CMD [ARGS...] -> runs CMD in the node sandbox's network and mount namespaces.
in_sandbox() {
  sandbox_alive || die "the node sandbox is not running (npm run e2e:up)"
  nsenter -t "$HOLDER_PID" -n -m -- "$@"
}

# start_in_sandbox NAME CMD [ARGS...] -> start_bg inside the node sandbox, in the CPU cgroup of its kind
# (sandbox.sh up): the control plane's four in control-plane, the node's daemons in system. Whatever the
# process starts (containerd's shims, runc) starts there too, until runc moves a container into kubepods.
start_in_sandbox() {
  local name=$1; shift
  sandbox_alive || die "the node sandbox is not running"
  local group=system
  case $name in etcd | kube-apiserver | kube-controller-manager | kube-scheduler) group=control-plane ;; esac
  local procs=/sys/fs/cgroup/cpu$CGROUP_ROOT/$group/cgroup.procs
  [[ -f $procs ]] || die "cgroup ${procs%/cgroup.procs} is missing; run npm run e2e:down, then npm run e2e:up"
  # Its CPU accounting group too, where the cpuacct controller is a hierarchy of its own (else the same file).
  local acct=/sys/fs/cgroup/cpuacct$CGROUP_ROOT/$group/cgroup.procs
  [[ -f $acct ]] || acct=$procs
  # shellcheck disable=SC2016 # $$, $0 and $1 belong to the inner shell
  start_bg "$name" sh -c 'echo $$ >"$0" && echo $$ >"$1" && shift && exec "$@"' "$procs" "$acct" \
    nsenter -t "$HOLDER_PID" -n -m -- "$@"
}

# alive NAME -> true if the recorded process group still has a member.
alive() {
  local f="$E2E_PIDS/$1.pid"
  [[ -f $f ]] && kill -0 -- "-$(<"$f")" 2>/dev/null
}

# stop_all -> stop every recorded process group, newest first: SIGTERM, up to 5s grace, then SIGKILL; fails
# if a group survives.
stop_all() {
  [[ -d $E2E_PIDS ]] || return 0
  local names=() n f
  [[ -f $E2E_PIDS/order ]] && mapfile -t names < <(tac "$E2E_PIDS/order")
  for f in "$E2E_PIDS"/*.pid; do [[ -f $f ]] && names+=("$(basename "$f" .pid)"); done
  for n in "${names[@]}"; do stop_one "$n"; done
  rm -f "$E2E_PIDS"/*.pid "$E2E_PIDS/order"
}

stop_one() {
  local f="$E2E_PIDS/$1.pid" pg i
  [[ -f $f ]] || return 0
  pg=$(<"$f")
  [[ $pg =~ ^[0-9]+$ ]] || return 0
  kill -TERM -- "-$pg" 2>/dev/null || { rm -f "$f"; return 0; }
  for i in $(seq 1 50); do
    kill -0 -- "-$pg" 2>/dev/null || break
    ((i == 25)) && { log "$1 ignored SIGTERM for 5s, sending SIGKILL"; kill -KILL -- "-$pg" 2>/dev/null || true; }
    sleep 0.2
  done
  if kill -0 -- "-$pg" 2>/dev/null; then die "$1 (process group $pg) survived SIGKILL"; fi
  log "stopped $1 (pgid $pg)"
  rm -f "$f"
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
