#!/usr/bin/env bash
# Prints the path of kustomize, building it on first use from its Go module (no download outside the package
# registries): $KUSTOMIZE_PATH, `kustomize` on PATH, or `go install` into .tools/bin. A second run only checks that
# the file exists. The deploy test renders deploy/kubernetes with it, as `kubectl apply -k` would.
set -euo pipefail

KUSTOMIZE_VERSION=v5.7.1 # the newest release whose go.mod this machine's Go accepts

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=${GMSA_TOOLS_DIR:-$root/.tools}
bin=$tools/bin/kustomize-$KUSTOMIZE_VERSION

log() { echo "kustomize-toolchain: $*" >&2; }

if [ -n "${KUSTOMIZE_PATH:-}" ] && [ -x "$KUSTOMIZE_PATH" ]; then echo "$KUSTOMIZE_PATH"; exit 0; fi
if command -v kustomize >/dev/null 2>&1; then command -v kustomize; exit 0; fi
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
command -v go >/dev/null 2>&1 || { log "Go is not installed (needed to build kustomize)"; exit 1; }
start=$(date +%s)
log "building kustomize $KUSTOMIZE_VERSION (once)"
mkdir -p "$tools/bin" "$tools/kustomize-build"
GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-p=${GO_BUILD_JOBS:-2} -mod=mod -buildvcs=false" \
  GOBIN="$tools/kustomize-build" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
mv "$tools/kustomize-build/kustomize" "$bin"
log "built in $(($(date +%s) - start)) s"
echo "$bin"
