#!/usr/bin/env bash
# npm run e2e:down — stop everything up.sh started in this checkout and remove .e2e/. Judges only what this
# checkout started (its sandbox's namespaces, cgroup subtree, link and slot; its own PID files), so another
# checkout's cluster keeps running. Idempotent.
#   order: the kubelet, then every container (ctr), then the components newest first, then whatever is
#   still in the sandbox (sandbox.sh down kills by network/mount namespace and cgroup), then the files.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=node.sh source-path=SCRIPTDIR
source "$E2E_ROOT/scripts/e2e/node.sh"

if load_sandbox; then
  stop_node_workloads
fi
stop_all
bash "$E2E_ROOT/scripts/e2e/sandbox.sh" down
# Nothing may be left that runs from this checkout's .e2e/ (a process started outside the sandbox, e.g. by hand).
if pgrep -f -- "$E2E_DIR/" >/dev/null; then
  die "processes still use $E2E_DIR: $(pgrep -af -- "$E2E_DIR/")"
fi
rm -rf "$E2E_DIR"
log "e2e cluster down, .e2e/ removed"
