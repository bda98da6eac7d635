#!/usr/bin/env bash
# The node sandbox: one per checkout, so two checkouts can run their clusters side by side and each
# `e2e:down` judges only what its own checkout started.
#
#   sandbox.sh up         claim a slot, start the holder, wire its network, create its cgroups
#   sandbox.sh down       kill everything in the sandbox, remove its cgroups, link and slot
#   sandbox.sh status     print the recorded sandbox and whether it is alive
#   sandbox.sh leftovers ENVFILE   print what of a (downed) sandbox still exists; exit 1 if anything
#
# A holder process (`unshare --net --mount`) owns a network namespace and a private mount namespace; every
# cluster process is started inside both (lib.sh start_in_sandbox). Bridges, veths, pod network namespaces,
# iptables chains (kube-proxy's fixed KUBE-* names), tmpfs volume mounts, /run (containerd's shim sockets are
# hard-coded under /run/containerd/s), /var/log (the kubelet's /var/log/containers) and /var/lib/cni (the CNI
# result cache) exist only in there and die with it. A veth pair host <-> sandbox gives the node an address of
# its own (the kubelet refuses loopback) that the host's tests and kubectl reach the API server on; host
# routes for the pod and service ranges through it make pod IPs and ClusterIPs reachable from the host.
#
# Slots: /run/mtls-e2e/slot-N (N < 32), claimed under a lock, record the checkout and the holder. Slot N owns
# node link 198.19.255.4N/30 (host .4N+1, node .4N+2), pods 198.18.N.0/24, Services 198.19.N.0/24 and the
# cgroup /mtls-e2e-N (kubelet cgroupRoot, cgroup v1 hybrid). 198.18.0.0/15 is reserved for network testing
# (RFC 2544): nothing on this machine or outside it uses it, and nothing there is ever reached.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SLOTS_DIR=${MTLS_E2E_SLOTS_DIR:-/run/mtls-e2e}
MAX_SLOTS=32
CGROUP_FS=/sys/fs/cgroup
SANDBOX_CPU_SHARES=8192

ino() { stat -L -c %i "$1" 2>/dev/null || true; }

# slot_env N -> the addresses and names of slot N, as KEY=value lines.
slot_env() {
  local n=$1
  cat <<EOF
SLOT=$n
HOST_LINK=mtls-e2e-$n
HOST_IP=198.19.255.$((4 * n + 1))
NODE_IP=198.19.255.$((4 * n + 2))
POD_CIDR=198.18.$n.0/24
SERVICE_CIDR=198.19.$n.0/24
SERVICE_IP=198.19.$n.1
CGROUP_ROOT=/mtls-e2e-$n
NODE_NAME=e2e-node
EOF
}

# holder_alive DIR -> true if the slot's recorded holder still runs in the recorded network namespace.
holder_alive() {
  local pid netns
  [[ -f $1/holder ]] || return 1
  read -r pid netns <"$1/holder"
  [[ -n $pid && $(ino "/proc/$pid/ns/net") == "$netns" ]]
}

# claim_slot -> prints the slot number this checkout now owns (call with the lock held).
claim_slot() {
  local d n
  for d in "$SLOTS_DIR"/slot-*; do
    [[ -f $d/checkout && $(<"$d/checkout") == "$E2E_ROOT" ]] && { echo "${d##*-}"; return 0; }
  done
  for ((n = 0; n < MAX_SLOTS; n++)); do
    d=$SLOTS_DIR/slot-$n
    if [[ -d $d ]]; then
      holder_alive "$d" && continue
      # A dead holder whose link is still there has processes left in its namespace: not ours to reuse.
      ip link show "mtls-e2e-$n" >/dev/null 2>&1 && { log "slot $n: holder gone but link mtls-e2e-$n remains (owner $(cat "$d/checkout" 2>/dev/null)); skipping"; continue; }
      # Containers live in pod namespaces, not the holder's: a cgroup with processes is still someone's.
      cgroup_busy "/mtls-e2e-$n" && { log "slot $n: holder gone but processes remain in cgroup /mtls-e2e-$n (owner $(cat "$d/checkout" 2>/dev/null)); skipping"; continue; }
      log "slot $n: reclaiming the stale slot of $(cat "$d/checkout" 2>/dev/null || echo '?')"
      rm -rf "$d"
    fi
    ip link show "mtls-e2e-$n" >/dev/null 2>&1 && continue
    mkdir "$d" && echo "$E2E_ROOT" >"$d/checkout" && { echo "$n"; return 0; }
  done
  die "no free sandbox slot in $SLOTS_DIR (all $MAX_SLOTS in use)"
}

# cgroup_busy ROOT -> true if any process runs in the cgroup subtree ROOT of any hierarchy.
cgroup_busy() {
  local h
  for h in $(cgroup_hierarchies); do
    [[ -d $h$1 && -n $(find "$h$1" -name cgroup.procs -exec cat {} + 2>/dev/null) ]] && return 0
  done
  return 1
}

cgroup_hierarchies() { # every mounted cgroup hierarchy (v1 controllers, name=systemd, the v2 'unified')
  local d
  for d in "$CGROUP_FS"/*/; do [[ -f $d/cgroup.procs ]] && echo "${d%/}"; done
}

up() {
  if sandbox_alive; then log "node sandbox already up (slot $SLOT, holder $HOLDER_PID)"; return 0; fi
  [[ -f $E2E_DIR/sandbox.env ]] && { log "stale sandbox record found, cleaning up first"; down; }
  local tool
  for tool in ip nsenter unshare flock iptables; do
    command -v "$tool" >/dev/null || die "$tool not found (bash scripts/e2e/setup-node.sh installs what the node needs)"
  done
  # The CNI result cache path is hard-coded (libcni: /var/lib/cni); the sandbox mounts a tmpfs over it, which
  # needs the directory to exist on the host (the containernetworking-plugins package's own path, left empty).
  [[ -d /var/lib/cni ]] || mkdir -p /var/lib/cni
  mkdir -p "$SLOTS_DIR" "$E2E_DIR"
  exec 9>"$SLOTS_DIR/.lock"
  flock 9
  local slot
  slot=$(claim_slot)
  slot_env "$slot" >"$E2E_DIR/sandbox.env.tmp"
  # shellcheck source=/dev/null
  source "$E2E_DIR/sandbox.env.tmp"
  local self_net holder
  self_net=$(ino /proc/self/ns/net)
  setsid unshare --net --mount --propagation private -- sleep infinity </dev/null >/dev/null 2>&1 &
  holder=$!
  local i
  for i in $(seq 1 100); do
    [[ -n $(ino "/proc/$holder/ns/net") && $(ino "/proc/$holder/ns/net") != "$self_net" ]] && break
    sleep 0.05
  done
  [[ $(ino "/proc/$holder/ns/net") != "$self_net" ]] || die "the sandbox holder did not enter a new network namespace"
  {
    cat "$E2E_DIR/sandbox.env.tmp"
    echo "HOLDER_PID=$holder"
    echo "NETNS=$(ino "/proc/$holder/ns/net")"
    echo "MNTNS=$(ino "/proc/$holder/ns/mnt")"
    echo "SLOTS_DIR=$SLOTS_DIR"
  } >"$E2E_DIR/sandbox.env"
  rm -f "$E2E_DIR/sandbox.env.tmp"
  echo "$holder $(ino "/proc/$holder/ns/net")" >"$SLOTS_DIR/slot-$slot/holder"
  flock -u 9
  load_sandbox

  # Mounts that exist only in the sandbox's mount namespace.
  in_sandbox sh -ec 'mount -t tmpfs -o mode=0755 e2e-run /run; mkdir -p /run/netns /run/containerd /run/lock
    mount -t tmpfs -o mode=0755 e2e-log /var/log; mount -t tmpfs -o mode=0755 e2e-cni /var/lib/cni'

  # Network: lo, the veth to the host, forwarding, the routes of this slot's ranges on the host. Inside, a
  # route for the Service range (a ClusterIP must be routable before kube-proxy's DNAT rewrites it) and no
  # default route: nothing in the sandbox can reach beyond this machine.
  ip link add "$HOST_LINK" type veth peer name eth0 netns "$HOLDER_PID"
  ip addr add "$HOST_IP/30" dev "$HOST_LINK"
  ip link set "$HOST_LINK" up
  in_sandbox sh -ec "ip link set lo up; ip addr add $NODE_IP/30 dev eth0; ip link set eth0 up
    echo 1 >/proc/sys/net/ipv4/ip_forward; echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
    ip route add $SERVICE_CIDR dev eth0 src $NODE_IP"
  ip route add "$POD_CIDR" via "$NODE_IP" dev "$HOST_LINK"
  ip route add "$SERVICE_CIDR" via "$NODE_IP" dev "$HOST_LINK"

  # cgroups: the kubelet's cgroupRoot must exist in every hierarchy (cpuset needs its cpus/mems filled in).
  local h
  for h in $(cgroup_hierarchies); do
    mkdir -p "$h$CGROUP_ROOT"
    if [[ -f $h/cpuset.cpus ]]; then
      cat "$h/cpuset.cpus" >"$h$CGROUP_ROOT/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h$CGROUP_ROOT/cpuset.mems"
    fi
  done
  # CPU weights like a systemd node's, where the kubelet, the runtime and its shims share system.slice and the
  # pods share kubepods (weighted by the node's allocatable CPU): every cluster process is started in
  # $CGROUP_ROOT/system (kubelet, containerd and its shims, kube-proxy) or $CGROUP_ROOT/control-plane (etcd,
  # kube-apiserver, controller-manager, scheduler; on a real cluster those run on other machines), each at the
  # default weight of 1024, beside the kubelet's kubepods. Without them each of those processes competed with
  # the whole of kubepods one to one, and while 50 pods started the product's pods got a small fraction of a
  # CPU (docs/e2e.md, "CPU weights"). The sandbox as a whole weighs as much as eight busy host processes, so
  # the test runners beside it on this machine do not starve it either.
  local cpu=$CGROUP_FS/cpu
  if [[ -f $cpu/cpu.shares ]]; then
    echo "$SANDBOX_CPU_SHARES" >"$cpu$CGROUP_ROOT/cpu.shares"
    mkdir -p "$cpu$CGROUP_ROOT/system" "$cpu$CGROUP_ROOT/control-plane"
  fi
  # The same two groups for CPU accounting (a hierarchy of its own here, or the same one as cpu), so the
  # start-up bench can say whose CPU a burst of pods used (bench/pod-startup.mjs, `cpuSeconds`).
  local acct=$CGROUP_FS/cpuacct
  [[ -f $acct/cpuacct.usage ]] && mkdir -p "$acct$CGROUP_ROOT/system" "$acct$CGROUP_ROOT/control-plane"
  log "node sandbox up: slot $SLOT, holder $HOLDER_PID, node $NODE_IP (host $HOST_IP via $HOST_LINK), pods $POD_CIDR, services $SERVICE_CIDR"
}

# sandbox_pids -> every process in the sandbox's network or mount namespace, or in its cgroup subtree. Once a
# namespace is freed the kernel hands its number to the next one; the namespaces of other slots' live holders
# are never taken for ours.
sandbox_pids() {
  local p net mnt h other=" "
  for h in "$SLOTS_DIR"/slot-*/holder; do
    [[ -f $h ]] || continue
    read -r p net <"$h"
    [[ $p == "$HOLDER_PID" ]] && continue
    [[ -n $(ino "/proc/$p/ns/net") && $(ino "/proc/$p/ns/net") == "$net" ]] &&
      other+="$(ino "/proc/$p/ns/net") $(ino "/proc/$p/ns/mnt") "
  done
  for p in /proc/[0-9]*; do
    net=$(ino "$p/ns/net")
    mnt=$(ino "$p/ns/mnt")
    [[ -n $net && ($net == "$NETNS" || $mnt == "$MNTNS") ]] || continue
    [[ $other == *" $net "* || $other == *" $mnt "* ]] && continue
    echo "${p#/proc/}"
  done
  for h in $(cgroup_hierarchies); do
    [[ -d $h$CGROUP_ROOT ]] && find "$h$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  return 0
}

down() {
  load_sandbox || { log "no node sandbox recorded"; return 0; }
  # Under the slot lock: a stale record's slot may have been reclaimed (its holder and link were gone) and
  # now be another checkout's, with the same cgroup root and link name. Then nothing of the slot is ours.
  mkdir -p "$SLOTS_DIR"
  exec 9>"$SLOTS_DIR/.lock"
  flock 9
  local d=$SLOTS_DIR/slot-$SLOT
  if ! [[ -f $d/checkout && $(<"$d/checkout") == "$E2E_ROOT" ]]; then
    log "slot $SLOT is no longer this checkout's (now: $(cat "$d/checkout" 2>/dev/null || echo free)); forgetting the stale record, touching nothing of the slot"
    rm -f "$E2E_DIR/sandbox.env"
    flock -u 9
    return 0
  fi
  local pids i h
  for i in $(seq 1 50); do
    mapfile -t pids < <(sandbox_pids | sort -un)
    ((${#pids[@]} == 0)) && break
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep 0.1
  done
  ((${#pids[@]} == 0)) || die "processes in the node sandbox survived SIGKILL: ${pids[*]}"
  # The namespace is gone with its last process; so are the veth pair and the routes through it.
  ip link del "$HOST_LINK" 2>/dev/null || true
  for h in $(cgroup_hierarchies); do
    [[ -d $h$CGROUP_ROOT ]] && find "$h$CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null
    [[ -d $h$CGROUP_ROOT ]] && die "cgroup $h$CGROUP_ROOT could not be removed"
  done
  rm -rf "$d"
  rm -f "$E2E_DIR/sandbox.env"
  flock -u 9
  log "node sandbox down: slot $SLOT released"
}

status() {
  load_sandbox || { echo "no node sandbox"; return 1; }
  if sandbox_alive; then echo "node sandbox: slot $SLOT, holder $HOLDER_PID, node $NODE_IP"
  else echo "node sandbox: slot $SLOT recorded, holder $HOLDER_PID not running"; return 1; fi
}

# leftovers ENVFILE -> what of that sandbox still exists, one line each; exit 1 if anything.
leftovers() {
  # shellcheck source=/dev/null
  source "$1"
  local found=() p h
  mapfile -t p < <(sandbox_pids | sort -un)
  ((${#p[@]} == 0)) || found+=("processes: ${p[*]}")
  ip link show "$HOST_LINK" >/dev/null 2>&1 && found+=("link $HOST_LINK")
  [[ -z $(ip route show "$POD_CIDR") ]] || found+=("route $POD_CIDR")
  [[ -z $(ip route show "$SERVICE_CIDR") ]] || found+=("route $SERVICE_CIDR")
  for h in $(cgroup_hierarchies); do [[ -d $h$CGROUP_ROOT ]] && found+=("cgroup $h$CGROUP_ROOT"); done
  [[ -d $SLOTS_DIR/slot-$SLOT && $(cat "$SLOTS_DIR/slot-$SLOT/checkout" 2>/dev/null) == "$E2E_ROOT" ]] &&
    found+=("slot $SLOTS_DIR/slot-$SLOT")
  grep -F " $E2E_DIR" /proc/self/mountinfo >/dev/null && found+=("mounts under $E2E_DIR")
  iptables-save 2>/dev/null | grep -E -- "${POD_CIDR%/*}|${SERVICE_CIDR%/*}|$HOST_LINK" >/dev/null &&
    found+=("host iptables rules naming this slot")
  [[ -e $E2E_DIR ]] && found+=("$E2E_DIR")
  ((${#found[@]} == 0)) && { echo "nothing left"; return 0; }
  printf '%s\n' "${found[@]}"
  return 1
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  leftovers) leftovers "${2:?usage: sandbox.sh leftovers ENVFILE}" ;;
  *) echo "usage: $0 up|down|status|leftovers ENVFILE" >&2; exit 2 ;;
esac
