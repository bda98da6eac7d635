#!/usr/bin/env bash
# npm run test:e2e — up, run the e2e suites, then the disruptive suites (they take the product's own pods
# away, so they run alone), then the teardown suite (it runs `npm run e2e:down` itself and checks nothing is
# left); down always runs. Exits non-zero if any suite failed. Arguments go to the first vitest run only.
#   MTLS_E2E_DISRUPTIVE=0      skip the disruptive suites
#   MTLS_E2E_TEARDOWN_TEST=0   skip the teardown suite (plain down instead)
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
T2=$SECONDS
if [[ ${MTLS_E2E_DISRUPTIVE:-1} != 0 ]]; then
  npx vitest run --config test/e2e/vitest.disruptive.config.ts || { r=$?; ((rc != 0)) || rc=$r; }
fi
T3=$SECONDS
if [[ ${MTLS_E2E_TEARDOWN_TEST:-1} != 0 ]]; then
  npx vitest run --config test/e2e/vitest.teardown.config.ts || { r=$?; ((rc != 0)) || rc=$r; }
fi
log "up $((T1 - T0))s, tests $((T2 - T1))s, disruptive $((T3 - T2))s, teardown $((SECONDS - T3))s, exit $rc"
exit "$rc"
