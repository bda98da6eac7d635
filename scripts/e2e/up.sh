#!/usr/bin/env bash
# npm run e2e:up — binaries (cached) + control plane on 127.0.0.1 + the product under test.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T0=$SECONDS

# ---------------------------------------------------------------------------------------------------------
# HOOK: start_product — start the webhook and rotator against the control plane (not wired yet).
# Start every long-running process with `start_bg <name> <cmd...>` (lib.sh) so down.sh stops it, e.g.
#   npm run build
#   start_bg webhook node "$E2E_ROOT/dist/main.js" webhook --kubeconfig "$E2E_DIR/kubeconfig" ...
#   start_bg rotator node "$E2E_ROOT/dist/main.js" rotator --kubeconfig "$E2E_DIR/kubeconfig" ...
#   wait_for "webhook /readyz" 30 curl -fsSk https://127.0.0.1:<port>/readyz
# then register the MutatingWebhookConfiguration (url: https://127.0.0.1:<port>/..., caBundle from the
# webhook's serving CA) with kubectl --kubeconfig "$E2E_DIR/kubeconfig" apply -f -.
# Set MTLS_E2E_PRODUCT=0 to skip it (control-plane-only runs).
# ---------------------------------------------------------------------------------------------------------
start_product() {
  [[ ${MTLS_E2E_PRODUCT:-1} == 0 ]] && return 0
  log "start_product: nothing to start yet (webhook/rotator not wired into e2e)"
}

bash "$E2E_ROOT/scripts/e2e/build-binaries.sh" >/dev/null
bash "$E2E_ROOT/scripts/e2e/control-plane.sh" up
start_product
log "e2e environment up in $((SECONDS - T0))s"
