# shellcheck shell=bash
# The control plane: etcd, kube-apiserver, kube-controller-manager and kube-scheduler, started inside the
# node sandbox (scripts/e2e/sandbox.sh). The API server listens on the node address, port 6443 (each sandbox
# has its own network namespace, so fixed ports never clash between checkouts); etcd and the controllers'
# own ports are on the sandbox's loopback. Source it after lib.sh, pki.sh and load_sandbox; E2E_BIN is the
# binaries directory.

# start_control_plane -> PKI, kubeconfigs, the four components; returns when the API server is ready and the
# default ServiceAccount exists.
start_control_plane() {
  local t0=$SECONDS bin=$E2E_BIN
  gen_pki
  kubeconfig "$E2E_KUBECONFIG" admin
  local c
  for c in kube-controller-manager kube-scheduler kube-proxy kubelet; do kubeconfig "$E2E_DIR/$c.kubeconfig" "$c"; done
  log "PKI + kubeconfigs ready ($((SECONDS - t0))s)"

  start_in_sandbox etcd "$bin/etcd" --name e2e --data-dir "$E2E_DIR/etcd" --log-level warn --unsafe-no-fsync \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster e2e=http://127.0.0.1:2380
  wait_for etcd 30 in_sandbox curl -fsS http://127.0.0.1:2379/health || fail etcd

  # Admission: the release's default-on plugins plus NodeRestriction (as kubeadm runs it).
  start_in_sandbox kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers http://127.0.0.1:2379 \
    --bind-address 0.0.0.0 --advertise-address "$NODE_IP" --secure-port 6443 \
    --cert-dir "$PKI" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --allow-privileged=true \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --profiling="${E2E_PROFILING:-false}" --v=1
  wait_for "kube-apiserver /readyz" 90 kc get --raw /readyz || fail kube-apiserver

  start_in_sandbox kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$E2E_DIR/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$E2E_DIR/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$E2E_DIR/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10257 --cert-dir "$PKI/kcm" \
    --controllers '*' --use-service-account-credentials \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --leader-elect=false --profiling=false --v=1
  start_in_sandbox kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig "$E2E_DIR/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$E2E_DIR/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$E2E_DIR/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false --profiling=false --v=1
  wait_for "default serviceaccount" 60 kc -n default get serviceaccount default || fail kube-controller-manager
  wait_for "kube-root-ca.crt in default" 30 kc -n default get configmap kube-root-ca.crt ||
    fail kube-controller-manager
  log "control plane up in $((SECONDS - t0))s"
}

fail() { # show the failing component's log and stop everything
  log "$1 failed to come up; last log lines:"
  tail -n 30 "$E2E_LOGS/$1.log" >&2 || true
  bash "$E2E_ROOT/scripts/e2e/down.sh" >&2 || true
  exit 1
}
