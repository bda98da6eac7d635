#!/usr/bin/env bash
# A real Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager, no kubelet, no scheduler)
# on 127.0.0.1, state in .e2e/ of the repo.
#   control-plane.sh up      build/lookup binaries (cached), generate PKI, start, wait until usable
#   control-plane.sh down    stop every process recorded in .e2e/pids and remove .e2e/
#   control-plane.sh status  show processes and /readyz
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PKI="$E2E_DIR/pki"
KUBECONFIG_FILE="$E2E_DIR/kubeconfig"
COMPONENTS=(etcd kube-apiserver kube-controller-manager)

kc() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }

free_ports() { # N free loopback TCP ports
  node -e 'const n=require("net");const s=[];let k=+process.argv[1];
    for(let i=0;i<k;i++){const v=n.createServer();s.push(v);v.listen(0,"127.0.0.1",()=>{if(--k===0){
    console.log(s.map(x=>x.address().port).join(" "));s.forEach(x=>x.close());}})}' "$1"
}

# cert NAME SUBJ EXT  -> $PKI/NAME.{key,crt} signed by the cluster CA (EC P-256)
cert() {
  local name=$1 subj=$2 ext=$3
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
    -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 30 -out "$PKI/$name.crt" -extfile <(printf '%s\n' "$ext") 2>/dev/null
  rm -f "$PKI/$name.csr"
}

gen_pki() {
  mkdir -p "$PKI" && chmod 700 "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=mtls-injector-e2e-ca" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  cert admin "/O=system:masters/CN=e2e-admin" "$client"
  cert kube-controller-manager "/CN=system:kube-controller-manager" "$client"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
}

# kubeconfig FILE USER (client cert $PKI/USER.{crt,key}), certs embedded so any client can use the file alone.
kubeconfig() {
  local file=$1 user=$2 b64='base64 -w0'
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $($b64 <"$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $($b64 <"$PKI/$user.crt")
    client-key-data: $($b64 <"$PKI/$user.key")
contexts:
- name: e2e
  context: {cluster: e2e, user: $user, namespace: default}
current-context: e2e
EOF
  chmod 600 "$file"
}

running() { local c; for c in "${COMPONENTS[@]}"; do alive "$c" || return 1; done; }

up() {
  if running && kc get --raw /readyz >/dev/null 2>&1; then
    log "control plane already running"; usage; return 0
  fi
  [[ -d $E2E_DIR ]] && { log "stale .e2e/ found, cleaning up first"; down; }
  local t0=$SECONDS bin
  bin=$(bash "$E2E_ROOT/scripts/e2e/build-binaries.sh" | tail -1)
  mkdir -p "$E2E_DIR" "$E2E_PIDS" "$E2E_LOGS"
  read -r ETCD_PORT ETCD_PEER_PORT APISERVER_PORT KCM_PORT < <(free_ports 4)
  printf 'E2E_BIN=%s\nETCD_PORT=%s\nAPISERVER_PORT=%s\nKCM_PORT=%s\n' \
    "$bin" "$ETCD_PORT" "$APISERVER_PORT" "$KCM_PORT" >"$E2E_DIR/env"
  gen_pki
  kubeconfig "$KUBECONFIG_FILE" admin
  kubeconfig "$E2E_DIR/kube-controller-manager.kubeconfig" kube-controller-manager
  log "PKI + kubeconfigs ready ($((SECONDS - t0))s); ports etcd=$ETCD_PORT apiserver=$APISERVER_PORT kcm=$KCM_PORT"

  start_bg etcd "$bin/etcd" --name e2e --data-dir "$E2E_DIR/etcd" --log-level warn --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT"
  wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health" || fail etcd

  # Admission: the v1.34 default-on set, written out, plus MutatingAdmissionWebhook/PodSecurity made explicit.
  start_bg kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --cert-dir "$PKI" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NamespaceLifecycle,LimitRanger,ServiceAccount,TaintNodesByCondition,PodSecurity,Priority,DefaultTolerationSeconds,DefaultStorageClass,StorageObjectInUseProtection,PersistentVolumeClaimResize,RuntimeClass,CertificateApproval,CertificateSigning,ClusterTrustBundleAttest,CertificateSubjectRestriction,DefaultIngressClass,PodTopologyLabels,MutatingAdmissionPolicy,MutatingAdmissionWebhook,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook,ResourceQuota \
    --allow-privileged=true \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --profiling=false --v=1
  wait_for "kube-apiserver /readyz" 90 kc get --raw /readyz || fail kube-apiserver

  start_bg kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$E2E_DIR/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$E2E_DIR/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$E2E_DIR/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --cert-dir "$PKI/kcm" \
    --controllers garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,replicaset-controller,deployment-controller,statefulset-controller,daemonset-controller,job-controller,root-ca-certificate-publisher-controller \
    --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --leader-elect=false --v=1
  wait_for "default serviceaccount" 60 kc -n default get serviceaccount default || fail kube-controller-manager
  wait_for "kube-root-ca.crt in default" 30 kc -n default get configmap kube-root-ca.crt \
    || fail kube-controller-manager
  log "control plane up in $((SECONDS - t0))s"
  usage
}

fail() { # show the failing component's log and stop everything
  log "$1 failed to come up; last log lines:"; tail -n 30 "$E2E_LOGS/$1.log" >&2 || true
  stop_all; exit 1
}

down() {
  stop_all
  local c
  for c in "${COMPONENTS[@]}"; do # belt and braces: nothing started from our bin dir may survive
    if [[ -f $E2E_DIR/env ]] && pgrep -f "$(sed -n 's/^E2E_BIN=//p' "$E2E_DIR/env")/$c" >/dev/null; then
      die "$c still running: $(pgrep -af "$c")"
    fi
  done
  rm -rf "$E2E_DIR"
  log "control plane down, .e2e/ removed"
}

status() {
  local c rc=0
  for c in "${COMPONENTS[@]}"; do
    if alive "$c"; then echo "$c: running (pid $(<"$E2E_PIDS/$c.pid"))"; else echo "$c: not running"; rc=1; fi
  done
  if [[ -f $KUBECONFIG_FILE ]] && kc get --raw /readyz >/dev/null 2>&1; then echo "apiserver /readyz: ok"
  else echo "apiserver /readyz: not ready"; rc=1; fi
  return $rc
}

usage() {
  cat >&2 <<EOF

  export KUBECONFIG=$KUBECONFIG_FILE
  kubectl get ns
EOF
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
