#!/usr/bin/env bash
# npm run test:e2e — up, run the e2e suites, always down; exits with the suites' status.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$E2E_ROOT"
trap 'bash scripts/e2e/down.sh' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
T0=$SECONDS
bash scripts/e2e/up.sh
T1=$SECONDS
rc=0
npx vitest run --config test/e2e/vitest.config.ts "$@" || rc=$?
log "up $((T1 - T0))s, tests $((SECONDS - T1))s, exit $rc"
exit "$rc"
