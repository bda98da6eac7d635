#!/usr/bin/env bash
# Build HashiCorp's vault-k8s (the Vault Agent injector, a mutating admission webhook) from its Go module, for
# the admission bench's peer (bench/admission/peer-vault-k8s.sh). Opt-in: nothing in CI's default path calls it.
# Built as scripts/e2e/build-binaries.sh builds the control plane: through a throwaway module that requires the
# published module (Go module proxy; no Docker, no GitHub download), into a version-keyed cache outside the
# repo. Prints the binary's path on the last line of stdout.
#
#   VAULT_K8S_VERSION  github.com/hashicorp/vault-k8s module version  (default v1.6.2)
#   MTLS_E2E_CACHE     cache root                                     (default ~/.cache/mtls-injector/e2e)
set -euo pipefail

VAULT_K8S_VERSION=${VAULT_K8S_VERSION:-v1.6.2}
CACHE=${MTLS_E2E_CACHE:-$HOME/.cache/mtls-injector/e2e}
BIN="$CACHE/vault-k8s-${VAULT_K8S_VERSION}/bin"
export PATH="$PATH:/usr/local/go/bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { printf '[build-vault-k8s %s] %s\n' "$(date +%T)" "$*" >&2; }

# Cached only if the binary exists and reports the wanted version (an unstamped build says 0.0.0).
built() { [[ -x $BIN/vault-k8s ]] && [[ $("$BIN/vault-k8s" version 2>/dev/null) == *"$VAULT_K8S_VERSION"* ]]; }
if built; then
  log "cached: $BIN/vault-k8s"
  echo "$BIN/vault-k8s"
  exit 0
fi

command -v go >/dev/null || { log "go not found (expected /usr/local/go/bin)"; exit 1; }
mkdir -p "$BIN"
# One build per cache at a time (the lock build-binaries.sh takes: the two share Go's build cache and cores).
exec 8>"$CACHE/.binaries.lock"
flock 8
if built; then
  log "built meanwhile by another run: $BIN/vault-k8s"
  echo "$BIN/vault-k8s"
  exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
T0=$SECONDS
cd "$WORK"
vmod=$(go mod download -json "github.com/hashicorp/vault-k8s@$VAULT_K8S_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -n $vmod ]] || { log "github.com/hashicorp/vault-k8s@$VAULT_K8S_VERSION: not on the module proxy"; exit 1; }
go mod init bench-vault-k8s-build >/dev/null 2>&1
go mod edit -go="$(sed -n 's/^go //p' "$vmod/go.mod")" -require="github.com/hashicorp/vault-k8s@$VAULT_K8S_VERSION"
# A module's own replace directives do not apply when another module requires it; v1.6.2 has none. Should a
# later version add some, say so rather than build something else than its release.
if grep -q '^replace' "$vmod/go.mod"; then
  log "$VAULT_K8S_VERSION's go.mod has replace directives, which a throwaway module would not apply: carry them over here first"
  exit 1
fi
# The command is the module's root package (package main): a tools file keeps it in the build list.
cat >tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/hashicorp/vault-k8s"
GO
log "vault-k8s $VAULT_K8S_VERSION: go mod tidy"
go mod tidy >/dev/null
log "vault-k8s: building"
# Version stamping as its Makefile does (LDFLAGS -X .../version.Version=v$(VERSION)).
go build -trimpath -ldflags="-s -w -X github.com/hashicorp/vault-k8s/version.Version=$VAULT_K8S_VERSION" \
  -o "$BIN/vault-k8s" github.com/hashicorp/vault-k8s
"$BIN/vault-k8s" version >&2
log "vault-k8s in $BIN (built in $((SECONDS - T0))s)"
echo "$BIN/vault-k8s"
