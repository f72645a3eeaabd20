#!/usr/bin/env bash
# Build the web UI (webui/ → src/otelguard/webui/static) when the build is missing or older than any source
# file, package.json or package-lock.json. Set FORCE=1 to rebuild anyway. Exits non-zero on any failure.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UI="$REPO/webui"
OUT="$REPO/src/otelguard/webui/static"
STAMP="$OUT/index.html"

stale() {
  [ "${FORCE:-0}" = "1" ] && return 0
  [ -f "$STAMP" ] || return 0
  # Any input newer than the build output?
  [ -n "$(find "$UI/src" "$UI/public" "$UI/index.html" "$UI/package.json" "$UI/package-lock.json" \
          "$UI/vite.config.ts" "$UI/tsconfig.json" -newer "$STAMP" -print -quit 2>/dev/null)" ]
}

if ! stale; then
  echo "build_ui: web UI is up to date ($OUT)"
  exit 0
fi
command -v npm >/dev/null || { echo "build_ui: npm not found; install Node.js 20+ to build the web UI" >&2; exit 1; }
cd "$UI"
# node_modules is reinstalled only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --cache "$REPO/.cache/npm" --no-audit --no-fund --prefer-offline
fi
npm run build
test -f "$STAMP" || { echo "build_ui: the build produced no $STAMP" >&2; exit 1; }
touch "$STAMP"
echo "build_ui: built $OUT"
