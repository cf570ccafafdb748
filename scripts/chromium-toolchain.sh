#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium, installing Debian's `chromium` package on first use (as root,
# through apt, so no browser build is ever downloaded by a test library): $CHROMIUM_PATH, `chromium` on PATH, or
# `apt-get install chromium`. The browser test and the README screenshots drive it with playwright-core.
set -euo pipefail

log() { echo "chromium-toolchain: $*" >&2; }

if [ -n "${CHROMIUM_PATH:-}" ]; then
  [ -x "$CHROMIUM_PATH" ] || { log "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"; exit 1; }
  echo "$CHROMIUM_PATH"
  exit 0
fi
if command -v chromium >/dev/null 2>&1; then command -v chromium; exit 0; fi
command -v apt-get >/dev/null 2>&1 || { log "chromium is missing and there is no apt-get to install it"; exit 1; }
[ "$(id -u)" = 0 ] || { log "chromium is missing: install Debian's chromium package (apt-get install chromium) as root"; exit 1; }
start=$(date +%s)
log "installing Debian's chromium package (once)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2 || { log "apt-get could not install chromium"; exit 1; }
command -v chromium >/dev/null 2>&1 || { log "chromium is still missing after apt-get install chromium"; exit 1; }
log "installed in $(($(date +%s) - start)) s"
command -v chromium
