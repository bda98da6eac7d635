#!/usr/bin/env bash
# The Go module of the native init container (cmd/mtls-init, standard library only, so nothing is downloaded):
# gofmt, go vet and go test, with the local toolchain (GOTOOLCHAIN=local). CI: `npm run go:check` in .ci/run.
# The byte-for-byte agreement with `mtls-injector init` is test/cli/init-parity.test.ts (npm test).
set -euo pipefail
cd "$(dirname "$0")/../cmd/mtls-init"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || { echo "check-go: no Go toolchain (install Go into /usr/local/go or set GO=/path/to/go)" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0
unformatted=$("$(dirname "$GO")/gofmt" -l .)
[[ -z $unformatted ]] || { echo "check-go: not gofmt-formatted: $unformatted (run gofmt -w cmd/mtls-init)" >&2; exit 1; }
"$GO" vet ./...
"$GO" test -count=1 ./...
echo "check-go: OK ($("$GO" version))"
