#!/usr/bin/env bash
# Builds the release artifacts of the version in package.json (npm run release):
#
#   <out>/npm/mtls-injector-<v>.tgz          the CLI and the components as an npm package, built from a clean
#                                            copy of src/ (never ./dist), with npm-shrinkwrap.json. Bins:
#                                            mtls-injector, and kubectl-mtls (kubectl's plugin lookup makes that
#                                            `kubectl mtls`).
#   <out>/chart/mtls-injector-<v>.tgz        `helm package` of charts/mtls-injector (helm install it, or helm push
#                                            it to an OCI registry)
#   <out>/manifests/mtls-injector.yaml       the chart rendered with default values (checked against the chart)
#   <out>/dashboards/mtls-injector.json      the Grafana dashboard (also in the chart, grafanaDashboard.enabled)
#   <out>/image/mtls-injector-<v>.oci.tar    the product image as an OCI image-layout archive tagged <v>: with
#                                            --image (what `npm run release` passes) from the e2e harness's
#                                            buildah build of the Dockerfile (scripts/e2e/images.sh: cached, so
#                                            after the e2e suite it only copies; needs root and buildah), or the
#                                            archive RELEASE_IMAGE_ARCHIVE names
#   <out>/image/mtls-init-<v>.oci.tar        the mtls-init image (the Dockerfile's `--target mtls-init`: only the
#                                            static binary; docs/adr/0010-dedicated-init-image.md), the same way:
#                                            from the same build (INIT_OCI), or RELEASE_INIT_IMAGE_ARCHIVE;
#                                            --require-image fails without both images
#   <out>/SHA256SUMS                         `sha256sum` of every file above, paths relative to <out>
#                                            (check: cd <out> && sha256sum -c SHA256SUMS)
#
# Usage: bash scripts/release.sh [--out DIR] [--image] [--require-image]   (default DIR: dist-release, emptied first)
# Needs node/npm, .tools/bin/helm (bash scripts/setup-tools.sh; HELM=/path/to/helm overrides it), sha256sum.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
HELM=${HELM:-$ROOT/.tools/bin/helm}

out=dist-release
require_image=false
build_image=false
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --image) build_image=true; shift ;;
    --require-image) require_image=true; shift ;;
    *) echo "usage: $0 [--out DIR] [--image] [--require-image]" >&2; exit 2 ;;
  esac
done
fail() { echo "release: $*" >&2; exit 1; }
[ -x "$HELM" ] || fail "$HELM not found; run bash scripts/setup-tools.sh"
command -v sha256sum >/dev/null || fail "sha256sum not found (Debian package coreutils)"

version=$(node -p 'require("./package.json").version')
chart_version=$(sed -n 's/^version: *//p' charts/mtls-injector/Chart.yaml | tr -d "\"'")
app_version=$(sed -n 's/^appVersion: *//p' charts/mtls-injector/Chart.yaml | tr -d "\"'")
# The chart's default image tag is its appVersion, and the image is built from this package: one version.
[ "$chart_version" = "$version" ] && [ "$app_version" = "$version" ] ||
  fail "versions differ: package.json $version, Chart.yaml version $chart_version, appVersion $app_version; expected one version everywhere"

image=${RELEASE_IMAGE_ARCHIVE:-}
init_image=${RELEASE_INIT_IMAGE_ARCHIVE:-}
if { [ -z "$image" ] || [ -z "$init_image" ]; } && $build_image; then
  # The same build the e2e suite runs (one recipe, one cache): a warm cache only checks the archives exist.
  echo "release: the images, from scripts/e2e/images.sh (buildah, cached under \${MTLS_E2E_CACHE:-~/.cache/mtls-injector/e2e})"
  had_e2e_dir=false
  [ -d .e2e ] && had_e2e_dir=true
  bash scripts/e2e/images.sh >/dev/null || fail "the image build (scripts/e2e/images.sh) failed; see its log above (it needs root and buildah: bash scripts/e2e/setup-node.sh)"
  built_image=$(sed -n 's/^PRODUCT_OCI=//p' .e2e/images.env)
  built_init=$(sed -n 's/^INIT_OCI=//p' .e2e/images.env)
  $had_e2e_dir || rm -rf .e2e
  [ -n "$built_image" ] || fail "scripts/e2e/images.sh wrote no PRODUCT_OCI to .e2e/images.env"
  [ -n "$built_init" ] || fail "scripts/e2e/images.sh wrote no INIT_OCI to .e2e/images.env"
  for built in "$built_image" "$built_init"; do
    # The archive's one reference is the version: the tag the chart expects (its appVersion).
    tar -xOf "$built" index.json | grep -q "\"org.opencontainers.image.ref.name\":\"$version\"" ||
      fail "$built is not tagged $version (org.opencontainers.image.ref.name in its index.json)"
  done
  image=${image:-$built_image} init_image=${init_image:-$built_init}
fi
# check_archive VARIABLE PATH: an OCI image-layout archive, or fail naming the variable.
check_archive() {
  [ -f "$2" ] || fail "$1=$2 does not exist; expected the OCI archive the image build wrote"
  # grep reads the whole listing (no -q): an early exit would SIGPIPE tar and fail the pipe under pipefail.
  tar -tf "$2" | grep -xE '(\./)?oci-layout' >/dev/null ||
    fail "$1=$2 is not an OCI image-layout archive (no oci-layout file in it)"
}
[ -z "$image" ] || check_archive RELEASE_IMAGE_ARCHIVE "$image"
[ -z "$init_image" ] || check_archive RELEASE_INIT_IMAGE_ARCHIVE "$init_image"
if $require_image && { [ -z "$image" ] || [ -z "$init_image" ]; }; then
  fail "--require-image: pass --image (build both) or set RELEASE_IMAGE_ARCHIVE and RELEASE_INIT_IMAGE_ARCHIVE to the OCI archives of the image build (missing: $([ -n "$image" ] || printf 'RELEASE_IMAGE_ARCHIVE ')$([ -n "$init_image" ] || printf 'RELEASE_INIT_IMAGE_ARCHIVE'))"
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "${out:?}"/{npm,chart,manifests,dashboards,image,SHA256SUMS}
mkdir -p "$out"/{npm,chart,manifests,dashboards}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

echo "release: mtls-injector $version into $out"

# npm package: a clean build of src/ in a staging copy, so stale files in ./dist can never ship. No source
# maps (they would point at src/, which is not shipped). package-lock.json ships as npm-shrinkwrap.json (named
# in `files`): installed from a registry, npm then installs exactly the locked tree without devDependencies.
# (From a local tarball npm ignores a shrinkwrap and resolves the ranges of package.json afresh.)
cp package.json README.md LICENSE tsconfig.json tsconfig.build.json "$stage/"
cp package-lock.json "$stage/npm-shrinkwrap.json"
node -e 'const f=process.argv[1], p=JSON.parse(require("fs").readFileSync(f,"utf8")); p.files.push("npm-shrinkwrap.json"); require("fs").writeFileSync(f, JSON.stringify(p,null,2)+"\n")' "$stage/package.json"
cp -r src "$stage/src"
ln -s "$ROOT/node_modules" "$stage/node_modules"
(cd "$stage" && "$ROOT/node_modules/.bin/tsc" -p tsconfig.build.json --sourceMap false)
rm "$stage/node_modules"
(cd "$stage" && npm pack --silent --pack-destination "$out/npm" >/dev/null)
[ -f "$out/npm/mtls-injector-$version.tgz" ] || fail "npm pack did not write npm/mtls-injector-$version.tgz"
echo "release: npm/mtls-injector-$version.tgz ($(tar -tzf "$out/npm/mtls-injector-$version.tgz" | wc -l) files)"

# Chart and the manifests rendered from it (refused when manifests/ is stale).
"$HELM" lint --strict charts/mtls-injector >/dev/null || { "$HELM" lint --strict charts/mtls-injector; fail "helm lint failed"; }
"$HELM" package charts/mtls-injector --destination "$out/chart" >/dev/null
echo "release: chart/mtls-injector-$version.tgz"
HELM=$HELM bash scripts/render-manifests.sh --check >/dev/null || fail "manifests/ is stale: run npm run manifests:render"
cp manifests/mtls-injector.yaml "$out/manifests/"
cp charts/mtls-injector/dashboards/mtls-injector.json "$out/dashboards/"

# IMAGE HOOK: the OCI archives of the image build (RELEASE_IMAGE_ARCHIVE, RELEASE_INIT_IMAGE_ARCHIVE), copied
# under fixed names.
if [ -n "$image" ]; then
  mkdir -p "$out/image"
  cp "$image" "$out/image/mtls-injector-$version.oci.tar"
  echo "release: image/mtls-injector-$version.oci.tar (from $image)"
else
  echo "release: no product image archive (--image builds it; RELEASE_IMAGE_ARCHIVE names one)"
fi
if [ -n "$init_image" ]; then
  mkdir -p "$out/image"
  cp "$init_image" "$out/image/mtls-init-$version.oci.tar"
  echo "release: image/mtls-init-$version.oci.tar (from $init_image)"
else
  echo "release: no mtls-init image archive (--image builds it; RELEASE_INIT_IMAGE_ARCHIVE names one)"
fi

(cd "$out" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
(cd "$out" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not verify"
echo "release: SHA256SUMS ($(wc -l <"$out/SHA256SUMS") files)"
