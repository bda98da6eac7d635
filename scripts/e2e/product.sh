# shellcheck shell=bash
# Starts the product against the e2e control plane: `helm install` of the chart (its RBAC, ServiceAccounts,
# MutatingWebhookConfiguration; its Deployments' pods stay Pending without kubelets), then the rotator (with
# its ServiceAccount token, so exactly the chart's RBAC) and the webhook (no credentials at all) as local
# processes. The API server calls
# the webhook at https://localhost:<port> (chart value webhook.url); the rotator issues its serving
# certificate for "localhost" and sets the caBundle. Writes .e2e/product.env for the tests. Source it.

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# start_rotator NAME PROBE_PORT [extra args...] -> a rotator process with the chart's RBAC.
start_rotator() {
  local name=$1 probe=$2; shift 2
  start_bg "$name" node "$E2E_ROOT/dist/main.js" rotator --kubeconfig "$E2E_DIR/rotator.kubeconfig" \
    --config "$E2E_DIR/config.yaml" --rotator-probe-port "$probe" --probe-host 127.0.0.1 --identity "$name" "$@"
}

# start_webhook -> the webhook, serving the certificate secret-sync projects from the rotator's Secret.
start_webhook() {
  start_bg webhook node "$E2E_ROOT/dist/main.js" webhook --config "$E2E_DIR/config.yaml" \
    --port "$WEBHOOK_PORT" --probe-port "$WEBHOOK_PROBE_PORT" --webhook-host 127.0.0.1 \
    --tls-cert "$E2E_DIR/webhook-tls/tls.crt" --tls-key "$E2E_DIR/webhook-tls/tls.key"
}

start_product() {
  [[ ${MTLS_E2E_PRODUCT:-1} == 0 ]] && return 0
  local helm="$E2E_ROOT/.tools/bin/helm" ns=mtls-injector kc="$E2E_DIR/kubeconfig"
  [[ -x $helm ]] || bash "$E2E_ROOT/scripts/setup-tools.sh" >/dev/null
  [[ ${MTLS_E2E_BUILD:-1} == 0 ]] || (cd "$E2E_ROOT" && npm run --silent build)
  WEBHOOK_PORT=$(free_port); WEBHOOK_PROBE_PORT=$(free_port); ROTATOR_PROBE_PORT=$(free_port)
  # The real `helm install` of the chart (no --wait: without kubelets its own pods never run). The API server
  # accepts every object; the webhook configuration calls the local webhook through webhook.url.
  "$helm" install mtls-injector "$E2E_ROOT/charts/mtls-injector" --kubeconfig "$kc" --namespace "$ns" \
    --create-namespace --set "webhook.url=https://localhost:$WEBHOOK_PORT" --set 'webhook.extraDnsNames={localhost}' \
    --set "leafLifetime=${MTLS_E2E_LEAF_LIFETIME:-3m}" --set "backdate=10s" \
    --set "ca.propagationDelay=${MTLS_E2E_PROPAGATION:-5s}" >/dev/null
  "$helm" get manifest mtls-injector --kubeconfig "$kc" --namespace "$ns" >"$E2E_DIR/chart.yaml"
  node "$E2E_ROOT/scripts/e2e/product.mjs" "$E2E_DIR/chart.yaml"

  start_rotator rotator-0 "$ROTATOR_PROBE_PORT"
  wait_for "rotator /readyz" 60 curl -fsS "http://127.0.0.1:$ROTATOR_PROBE_PORT/readyz"
  wait_for "webhook serving Secret" 60 kubectl --kubeconfig "$kc" -n "$ns" get secret mtls-injector-webhook-tls
  start_bg webhook-tls-sync node "$E2E_ROOT/scripts/e2e/secret-sync.mjs" "$ns" mtls-injector-webhook-tls "$E2E_DIR/webhook-tls" 1000
  wait_for "webhook certificate files" 30 test -s "$E2E_DIR/webhook-tls/tls.key"
  start_webhook
  wait_for "webhook /readyz" 30 curl -fsS "http://127.0.0.1:$WEBHOOK_PROBE_PORT/readyz"
  wait_for "caBundle set" 60 bash -c "kubectl --kubeconfig '$kc' get mutatingwebhookconfiguration mtls-injector -o jsonpath='{.webhooks[0].clientConfig.caBundle}' | grep -q ."
  cat >"$E2E_DIR/product.env" <<ENV
WEBHOOK_PORT=$WEBHOOK_PORT
WEBHOOK_PROBE_PORT=$WEBHOOK_PROBE_PORT
ROTATOR_PROBE_PORT=$ROTATOR_PROBE_PORT
INSTALL_NAMESPACE=$ns
ENV
  log "product up: webhook https://localhost:$WEBHOOK_PORT (probes :$WEBHOOK_PROBE_PORT), rotator probes :$ROTATOR_PROBE_PORT"
}
