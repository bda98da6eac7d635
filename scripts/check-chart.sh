#!/usr/bin/env bash
# Checks charts/mtls-injector with the real helm binary (CI: npm run chart:check):
#   1. helm lint --strict, with default values and with each value set below
#   2. helm template with each value set (what the e2e suite later installs into a real API server)
#   3. the strict values schema rejects an unknown value (--set bogus=1 must fail)
#   4. manifests/mtls-injector.yaml has not drifted from the chart (scripts/render-manifests.sh --check)
#   5. the structural tests in test/chart (vitest): securityContexts, RBAC, selectors, config, schemas, …
#      and test/alerts: promtool check/test rules on the alerts, rule and dashboard metrics vs the code's
# Needs .tools/bin/helm (bash scripts/setup-tools.sh); HELM=/path/to/helm overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."
CHART=charts/mtls-injector
HELM=${HELM:-.tools/bin/helm}
[[ -x $HELM ]] || { echo "check-chart: $HELM not found; run bash scripts/setup-tools.sh" >&2; exit 1; }

# Keep in step with VALUE_SETS in test/chart/helm.ts.
value_sets=(
  ""
  "--set webhook.failurePolicy=Ignore"
  "--set networkPolicy.enabled=true"
  "--set serviceMonitor.enabled=true"
  "--set rotator.onboardingAuto=true"
  "--set prometheusRule.enabled=true --set grafanaDashboard.enabled=true"
  "--set webhook.failurePolicy=Ignore --set networkPolicy.enabled=true --set serviceMonitor.enabled=true --set rotator.onboardingAuto=true --set prometheusRule.enabled=true --set grafanaDashboard.enabled=true --set webhook.topologySpread.enabled=true"
)

step() { printf '\n== check-chart: %s\n' "$*"; }

step "$($HELM version --short)"
for set in "${value_sets[@]}"; do
  # shellcheck disable=SC2086 # each set is a list of flags
  "$HELM" lint --strict --namespace mtls-injector $set "$CHART" >/dev/null ||
    { "$HELM" lint --strict $set "$CHART"; echo "check-chart: helm lint failed for [${set:-defaults}]" >&2; exit 1; }
  # shellcheck disable=SC2086
  objects=$("$HELM" template mtls-injector "$CHART" --namespace mtls-injector $set | grep -c '^kind:')
  echo "lint + template ok: ${set:-defaults} ($objects objects)"
done

step "strict schema"
if out=$("$HELM" template mtls-injector "$CHART" --set bogus=1 2>&1); then
  echo "check-chart: --set bogus=1 was accepted; values.schema.json must reject unknown values" >&2
  exit 1
fi
grep -q 'Additional property bogus is not allowed' <<<"$out" ||
  { echo "check-chart: --set bogus=1 failed for the wrong reason:" >&2; echo "$out" >&2; exit 1; }
echo "--set bogus=1 rejected: $(grep -m1 'Additional property' <<<"$out" | sed 's/^ *//')"

step "rendered manifests"
bash scripts/render-manifests.sh --check

step "structural tests (test/chart) and alerts (test/alerts)"
npx vitest run test/chart test/alerts
