#!/usr/bin/env bash
# Build the control plane (kube-apiserver, kube-controller-manager, kube-scheduler, etcd) and the node
# (kubelet, kube-proxy) from Go modules (no Docker, no GitHub downloads) into a version-keyed cache outside the
# repo. Prints the bin dir on the last line of stdout.
#
#   K8S_VERSION   k8s.io/kubernetes module version      (default v1.37.2)
#   ETCD_VERSION  go.etcd.io/etcd/server/v3 version     (default: hack/lib/etcd.sh ETCD_VERSION of that release:
#                                                        v3.7.0 for 1.37, v3.6.5 for 1.34)
#   MTLS_E2E_CACHE  cache root                          (default ~/.cache/mtls-injector/e2e)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
case $K8S_VERSION in
  v1.34.*) ETCD_VERSION=${ETCD_VERSION:-v3.6.5} ;;
  *) ETCD_VERSION=${ETCD_VERSION:-v3.7.0} ;;
esac
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
CACHE=${MTLS_E2E_CACHE:-$HOME/.cache/mtls-injector/e2e}
BIN="$CACHE/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}/bin"
export PATH="$PATH:/usr/local/go/bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { printf '[build-binaries %s] %s\n' "$(date +%T)" "$*" >&2; }

# Cached only if the binaries exist and report the wanted version (an unstamped build says v0.0.0-master).
k8s_ok() {
  local b
  for b in "${K8S_BINARIES[@]}"; do [[ -x $BIN/$b ]] || return 1; done
  [[ $("$BIN/kube-apiserver" --version 2>/dev/null) == "Kubernetes $K8S_VERSION" ]] &&
    [[ $("$BIN/kubelet" --version 2>/dev/null) == "Kubernetes $K8S_VERSION" ]]
}
if k8s_ok && [[ -x $BIN/etcd ]]; then
  log "cached: $BIN"
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "go not found (expected /usr/local/go/bin)"; exit 1; }
mkdir -p "$BIN"
# One build per cache at a time: a second checkout waits here, then finds the binaries built.
exec 8>"$CACHE/.binaries.lock"
flock 8
if k8s_ok && [[ -x $BIN/etcd ]]; then
  log "built meanwhile by another run: $BIN"
  echo "$BIN"
  exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
T0=$SECONDS

# --- kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy -------------------------------------------------------------
build_k8s() {
  local t=$SECONDS dir="$WORK/k8s" kmod minor
  mkdir -p "$dir" && cd "$dir"
  kmod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  minor=${K8S_VERSION#v1.}                # 34.4
  go mod init e2e-k8s-build >/dev/null 2>&1
  go mod edit -go="$(sed -n 's/^go //p' "$kmod/go.mod")" -require="k8s.io/kubernetes@$K8S_VERSION"
  sed -n 's/^godebug //p' "$kmod/go.mod" | while read -r g; do go mod edit -godebug="$g"; done
  # Every staging module (replaced with ./staging/src/... upstream) -> its published v0.<minor>.<patch>.
  awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$kmod/go.mod" | while read -r m; do
    go mod edit -replace="$m=$m@v0.$minor"
  done
  cat >tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
EOF
  log "k8s $K8S_VERSION: go mod tidy"
  go mod tidy >/dev/null
  log "k8s: building ${K8S_BINARIES[*]} (slow on few cores)"
  # Version stamping as in hack/lib/version.sh, so /version and clients see the real version.
  local ver=${K8S_VERSION#v} x ldflags='-s -w'
  for x in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $x.gitVersion=$K8S_VERSION -X $x.gitMajor=${ver%%.*} -X $x.gitMinor=$(cut -d. -f2 <<<"$ver")"
    ldflags+=" -X $x.gitTreeState=clean -X $x.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  go build -trimpath -ldflags="$ldflags" -o "$BIN/" "${K8S_BINARIES[@]/#/k8s.io/kubernetes/cmd/}"
  log "k8s: done in $((SECONDS - t))s"
}

# --- etcd ---------------------------------------------------------------------------------------------------
build_etcd() {
  local t=$SECONDS dir="$WORK/etcd"
  mkdir -p "$dir" && cd "$dir"
  go mod init e2e-etcd-build >/dev/null 2>&1
  cat >main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  log "etcd $ETCD_VERSION: go mod tidy"
  go mod tidy >/dev/null
  log "etcd: building"
  go build -trimpath -ldflags='-s -w' -o "$BIN/etcd" .
  log "etcd: done in $((SECONDS - t))s"
}

[[ -x $BIN/etcd ]] || build_etcd
k8s_ok || build_k8s
"$BIN/kube-apiserver" --version >&2
"$BIN/etcd" --version | head -1 >&2
log "all binaries in $BIN (total $((SECONDS - T0))s)"
echo "$BIN"
