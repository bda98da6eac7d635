#!/usr/bin/env bash
# The admission bench's peer: HashiCorp's vault-k8s injector (the Vault Agent mutating webhook), built from its
# Go module (scripts/bench/build-vault-k8s.sh) and run on this machine against the e2e cluster
# (`npm run e2e:up`, docs/e2e.md), as it would run in a pod there:
#   - its ServiceAccount `vault/vault-injector` and RBAC (bench/admission/peer-vault-k8s.yaml) on the cluster;
#   - the pod's service-account files (a TokenRequest token, the cluster CA, the namespace) bind-mounted at
#     /var/run/secrets/kubernetes.io/serviceaccount in a private mount namespace of its own (`unshare -m`,
#     over a tmpfs on /run that only it sees), KUBERNETES_SERVICE_HOST/PORT naming the API server: its
#     in-cluster config, the only one it takes;
#   - a serving cert for localhost and 127.0.0.1 (openssl, as the bench's own servers get);
#   - its log (one line per review at its default level, info) in .e2e/logs/vault-k8s.log.
# It is recorded in .e2e/pids like the cluster's processes, so `npm run e2e:down` stops it too.
#
#   bench/admission/peer-vault-k8s.sh start   start it; print BENCH_PEER_URL=…, BENCH_PEER_PID=…,
#                                             BENCH_PEER_NAME=… (lines for `eval`, or `export`)
#   bench/admission/peer-vault-k8s.sh stop    stop it
#   bench/admission/peer-vault-k8s.sh bench   start it, run `npm run bench:admission` with it as the peer
#                                             (results to bench/results/admission-peer.json), stop it
#                                             (`npm run bench:admission:peer`)
#
# In `bench`, the peer is measured twice per round: on the bench's bodies as they are (no
# `vault.hashicorp.com/agent-inject` annotation: it decodes the review and the pod and answers allowed,
# without a patch) and, as `vault-k8s+inject`, on the same bodies with the annotations in
# BENCH_PEER_ANNOTATIONS (default: agent-inject "true", a role, one secret; it then builds its Vault Agent
# init container, sidecar and volumes patch). BENCH_PEER_ANNOTATIONS='' measures only the first.
set -euo pipefail
# shellcheck source=../../scripts/e2e/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/e2e/lib.sh"

NAME=vault-k8s
STATE="$E2E_DIR/peer-vault-k8s"
SA_DIR=/var/run/secrets/kubernetes.io/serviceaccount
DEFAULT_ANNOTATIONS='{"vault.hashicorp.com/agent-inject":"true","vault.hashicorp.com/role":"checkout","vault.hashicorp.com/agent-inject-secret-db":"secret/data/shop/db"}'

start() {
  if ! load_sandbox || ! kc get --raw /readyz >/dev/null 2>&1; then die "the e2e cluster is not up: npm run e2e:up"; fi
  if alive "$NAME"; then
    log "$NAME already running"
  else
    local bin port
    bin=$(bash "$E2E_ROOT/scripts/bench/build-vault-k8s.sh" | tail -1)
    rm -rf "$STATE" && mkdir -p "$STATE/serviceaccount"
    kc apply -f "$E2E_ROOT/bench/admission/peer-vault-k8s.yaml" >&2
    kc -n vault create token vault-injector --duration=24h >"$STATE/serviceaccount/token"
    cp "$E2E_DIR/pki/ca.crt" "$STATE/serviceaccount/ca.crt"
    printf vault >"$STATE/serviceaccount/namespace"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$STATE/tls.key" \
      -out "$STATE/tls.crt" -days 1 -subj /CN=localhost \
      -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
    port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
    echo "$port" >"$STATE/port"
    # The Vault address is only written into the agent config of the patch; nothing dials it here.
    # shellcheck disable=SC2016 # expanded by the inner shell
    KUBERNETES_SERVICE_HOST=$NODE_IP KUBERNETES_SERVICE_PORT=6443 NAMESPACE=vault \
      start_bg "$NAME" unshare --mount --propagation private -- sh -ec '
        mount -t tmpfs -o mode=0755,size=1m peer-run /run
        mkdir -p "$1"
        mount --bind -o ro "$2" "$1"
        shift 2
        exec "$@"' sh "$SA_DIR" "$STATE/serviceaccount" \
      "$bin" agent-inject -listen "127.0.0.1:$port" -tls-cert-file "$STATE/tls.crt" \
      -tls-key-file "$STATE/tls.key" -vault-address https://vault.vault.svc:8200
    # It serves once its informer has synced and its cert watcher has loaded the cert.
    wait_for "$NAME serving on 127.0.0.1:$port" 60 curl -sfk -o /dev/null "https://127.0.0.1:$port/health/ready" ||
      { tail -20 "$E2E_LOGS/$NAME.log" >&2; die "$NAME did not start"; }
  fi
  local pid
  pid=$(<"$E2E_PIDS/$NAME.pid")
  # start_bg's PID is the injector's own: setsid, unshare and sh each exec the next.
  [[ $(</proc/"$pid"/comm) == vault-k8s ]] || die "pid $pid is $(</proc/"$pid"/comm), not vault-k8s"
  echo "BENCH_PEER_URL=https://127.0.0.1:$(<"$STATE/port")/mutate?timeout=5s"
  echo "BENCH_PEER_PID=$pid"
  echo "BENCH_PEER_NAME=$NAME"
}

case ${1:-} in
  start) start ;;
  stop) stop_one "$NAME" ;;
  bench)
    peer=$(start)
    trap 'stop_one "$NAME"' EXIT
    while IFS= read -r line; do export "${line?}"; done <<<"$peer"
    export BENCH_PEER_ANNOTATIONS="${BENCH_PEER_ANNOTATIONS-$DEFAULT_ANNOTATIONS}"
    export BENCH_OUT="${BENCH_OUT:-$E2E_ROOT/bench/results/admission-peer.json}"
    npm run --prefix "$E2E_ROOT" bench:admission
    ;;
  *)
    echo "usage: $0 start|stop|bench" >&2
    exit 2
    ;;
esac
