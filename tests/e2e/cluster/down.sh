#!/usr/bin/env bash
# Stops the test cluster started by up.sh (SIGTERM, then SIGKILL after 30 s) and removes its run state.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
RUN="$REPO/.cache/cluster/run"
PIDFILE="$RUN/testcluster.pid"

if [[ -f "$PIDFILE" ]]; then
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "down.sh: pid $pid ignored SIGTERM for 30s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "down.sh: stopped pid $pid" >&2
    fi
else
    echo "down.sh: not running" >&2
fi
rm -rf "$RUN" "$REPO/.cache/cluster/kubeconfig"
