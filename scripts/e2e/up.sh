#!/usr/bin/env bash
# npm run e2e:up — binaries (cached) + control plane on 127.0.0.1 + the product under test.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T0=$SECONDS

# The product (webhook + rotator as local processes, the chart's RBAC and webhook configuration).
# Set MTLS_E2E_PRODUCT=0 to skip it (control-plane-only runs).
# shellcheck source=product.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/product.sh"

bash "$E2E_ROOT/scripts/e2e/build-binaries.sh" >/dev/null
bash "$E2E_ROOT/scripts/e2e/control-plane.sh" up
start_product
log "e2e environment up in $((SECONDS - T0))s"
