#!/usr/bin/env bash
# npm run e2e:up — a one-node Kubernetes cluster in this checkout's node sandbox, with the product installed
# by its chart: binaries and images (both cached), sandbox, control plane, node, `helm install`.
# Idempotent: a running, ready cluster is left as it is; a half-dead one is torn down and started afresh.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=pki.sh source-path=SCRIPTDIR
source "$E2E_ROOT/scripts/e2e/pki.sh"
# shellcheck source=control-plane.sh source-path=SCRIPTDIR
source "$E2E_ROOT/scripts/e2e/control-plane.sh"
# shellcheck source=node.sh source-path=SCRIPTDIR
source "$E2E_ROOT/scripts/e2e/node.sh"
# shellcheck source=product.sh source-path=SCRIPTDIR
source "$E2E_ROOT/scripts/e2e/product.sh"
T0=$SECONDS

# How to reach the cluster, as the last thing printed: kubectl from .tools/bin (scripts/setup-tools.sh), the
# same version the tests use.
usage() {
  cat >&2 <<USAGE

──── e2e cluster ready ─────────────────────────────────────────────────────────
  export KUBECONFIG=$E2E_KUBECONFIG
  export PATH=$E2E_ROOT/.tools/bin:\$PATH     # kubectl and helm
  kubectl get nodes; kubectl get pods -A
  node dist/main.js check                      # the CLI of this checkout (npm run build)
  npm run e2e:down                             # when done
────────────────────────────────────────────────────────────────────────────────
USAGE
}

if sandbox_alive && [[ -f $E2E_DIR/up.done ]] && kc get --raw /readyz >/dev/null 2>&1; then
  log "e2e cluster already up (slot $SLOT, API server https://$NODE_IP:6443)"
  usage
  exit 0
fi
[[ -e $E2E_DIR/sandbox.env || -e $E2E_DIR/pids ]] && { log "stale .e2e/ found, cleaning up first"; bash "$E2E_ROOT/scripts/e2e/down.sh"; }

bash "$E2E_ROOT/scripts/e2e/setup-node.sh"
E2E_BIN=$(bash "$E2E_ROOT/scripts/e2e/build-binaries.sh" | tail -1)
bash "$E2E_ROOT/scripts/e2e/images.sh" >/dev/null
T1=$SECONDS
bash "$E2E_ROOT/scripts/e2e/sandbox.sh" up
load_sandbox
printf 'E2E_BIN=%s\n' "$E2E_BIN" >"$E2E_DIR/env"
start_control_plane
start_node
start_product
touch "$E2E_DIR/up.done"
log "e2e cluster up in $((SECONDS - T0))s (binaries and images $((T1 - T0))s, cluster $((SECONDS - T1))s)"
usage
