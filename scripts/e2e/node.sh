# shellcheck shell=bash
# The node, inside the sandbox (scripts/e2e/sandbox.sh): containerd (Debian's, with its own config, root,
# state and socket; never the system's), the images of scripts/e2e/images.sh imported into it, a CNI bridge
# network for this slot's pod range, the kubelet and kube-proxy (iptables). Source it after lib.sh and
# load_sandbox, once the control plane is up; E2E_BIN is the binaries directory.

CONTAINERD_SOCK=/run/containerd/containerd.sock # inside the sandbox: /run there is a tmpfs of its own

# ctr_k8s ARGS... -> ctr against the node's containerd, namespace k8s.io (the kubelet's).
ctr_k8s() { in_sandbox ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

write_node_config() {
  mkdir -p "$E2E_NODE/containerd" "$E2E_NODE/cni/net.d" "$E2E_NODE/kubelet" "$E2E_NODE/volume-plugins"
  # restrict_oom_score_adj: containerd never asks runc for an oom_score_adj below its own. This machine
  # refuses a negative oom_score_adj even for root, and the kubelet gives every pod sandbox -998, so without it
  # runc fails with "can't get final child's PID from pipe: EOF". A property of the test machine, not of the
  # product (containerd documents the option for environments that cannot lower it, e.g. rootless).
  cat >"$E2E_NODE/containerd/config.toml" <<EOF
version = 2
root = "$E2E_NODE/containerd/root"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$E2E_NODE/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$E2E_NODE/cni/net.d"
    max_conf_num = 1
EOF
  # host-local keeps its leases in /var/lib/cni/networks, a tmpfs of the sandbox.
  cat >"$E2E_NODE/cni/net.d/10-mtls-e2e.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "mtls-e2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  cat >"$E2E_NODE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# cgroup v1 (hybrid) and PID 1 is not systemd. containerd 1.6 has no RuntimeConfig CRI call, so the kubelet
# uses this driver (it logs that it falls back). cgroupRoot is this slot's own subtree.
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
volumePluginDir: $E2E_NODE/volume-plugins
podLogsDirectory: $E2E_NODE/pod-logs
clusterDomain: cluster.local
resolvConf: ""
serializeImagePulls: false
# A shared 2-core machine: no evictions for the host's disk or memory use.
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 5s
# How often the kubelet syncs each pod, and so writes a changed Secret into its volume (MTLS_E2E_SYNC_FREQUENCY,
# default 20s; the kubelet's own default is 1m): every 20–30 s here, so the e2e CA rotations can wait a
# ca.propagationDelay of 45 s instead of 150 s. docs/e2e.md says what this changes in the figures.
syncFrequency: ${MTLS_E2E_SYNC_FREQUENCY:-20s}
registerNode: true
maxPods: 200
EOF
  cat >"$E2E_NODE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $E2E_DIR/kube-proxy.kubeconfig}
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: 0.0.0.0
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
oomScoreAdj: 0
# nf_conntrack_max is not writable from a network namespace: leave the conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

# start_node -> containerd, images, kubelet, kube-proxy; returns when the node is Ready.
start_node() {
  local t0=$SECONDS bin=$E2E_BIN tar
  # shellcheck source=/dev/null
  source "$E2E_DIR/images.env"
  write_node_config
  start_in_sandbox containerd containerd --config "$E2E_NODE/containerd/config.toml"
  wait_for containerd 30 ctr_k8s version || fail containerd
  local t=$SECONDS
  for tar in $IMAGE_TARS; do ctr_k8s images import "$tar" >/dev/null || fail containerd; done
  log "images imported ($((SECONDS - t))s): $PRODUCT_IMAGE $INIT_IMAGE $APP_IMAGE $PAUSE_IMAGE"

  start_in_sandbox kubelet "$bin/kubelet" --config "$E2E_NODE/kubelet.yaml" \
    --kubeconfig "$E2E_DIR/kubelet.kubeconfig" --root-dir "$E2E_NODE/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
  start_in_sandbox kube-proxy "$bin/kube-proxy" --config "$E2E_NODE/kube-proxy.yaml" --v=1
  wait_for "node $NODE_NAME Ready" 120 kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s || fail kubelet
  wait_for "node $NODE_NAME untainted" 60 bash -c "[[ -z \$(kubectl --kubeconfig '$E2E_KUBECONFIG' get node '$NODE_NAME' -o jsonpath='{.spec.taints}') ]]" ||
    fail kubelet
  log "node up in $((SECONDS - t0))s"
}

# stop_node_workloads -> stop the kubelet, then every container and pod sandbox containerd runs, so that no
# container outlives the cluster (containers keep running when only the kubelet dies).
stop_node_workloads() {
  sandbox_alive || return 0
  stop_one kubelet
  [[ -S /proc/$HOLDER_PID/root$CONTAINERD_SOCK ]] || return 0
  local ids
  ids=$(ctr_k8s tasks list -q 2>/dev/null || true)
  # shellcheck disable=SC2086 # one argument per ID
  [[ -z $ids ]] || ctr_k8s tasks delete --force $ids >/dev/null 2>&1 || true
  ids=$(ctr_k8s containers list -q 2>/dev/null || true)
  # shellcheck disable=SC2086
  [[ -z $ids ]] || ctr_k8s containers delete $ids >/dev/null 2>&1 || true
  log "stopped the node's containers"
}
