#!/usr/bin/env bash
# Installs what the e2e node needs from Debian's packages, once (idempotent; a no-op when all are present):
# containerd + runc (the runtime), containernetworking-plugins (bridge, host-local, loopback, portmap),
# iptables (kube-proxy), buildah + debootstrap (images without a registry), iproute2 and util-linux (the
# sandbox), openssl and curl. Never touches the system containerd's config, socket or state: the node runs
# its own containerd with its own config (scripts/e2e/node.sh).
set -euo pipefail
declare -A need=(
  [containerd]=containerd [runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins
  [iptables]=iptables [buildah]=buildah [debootstrap]=debootstrap [ip]=iproute2 [nsenter]=util-linux
  [openssl]=openssl [curl]=curl
)
missing=()
for bin in "${!need[@]}"; do
  if [[ $bin == /* ]]; then [[ -e $bin ]] || missing+=("${need[$bin]}")
  else command -v "$bin" >/dev/null 2>&1 || missing+=("${need[$bin]}"); fi
done
((${#missing[@]} == 0)) && exit 0
echo "setup-node: installing ${missing[*]} from Debian" >&2
[[ $(id -u) == 0 ]] || { echo "setup-node: needs root (apt-get install ${missing[*]})" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
