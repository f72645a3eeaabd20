#!/usr/bin/env bash
# Starts the test cluster in the background on 127.0.0.1:${CLUSTER_PORT:-6443}, waits for /readyz and
# prints the admin kubeconfig's path ($REPO/.cache/cluster/kubeconfig). Builds first if needed.
#   CLUSTER_PORT=7443 up.sh        another port
#   CLUSTER_ARGS="--controller-manager=false" up.sh   extra testcluster flags
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
BIN="$REPO/.cache/cluster/bin"
RUN="$REPO/.cache/cluster/run"
KUBECONFIG_OUT="$REPO/.cache/cluster/kubeconfig"
PIDFILE="$RUN/testcluster.pid"
LOG="$RUN/testcluster.log"
PORT="${CLUSTER_PORT:-6443}"
TIMEOUT="${CLUSTER_READY_TIMEOUT:-120}"

if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "up.sh: already running (pid $(cat "$PIDFILE")); run down.sh first to restart" >&2
    echo "$KUBECONFIG_OUT"
    exit 0
fi

bash "$HERE/build.sh" >&2

rm -rf "$RUN" "$KUBECONFIG_OUT"
mkdir -p "$RUN"
# shellcheck disable=SC2086 # CLUSTER_ARGS is a list of flags
nohup "$BIN/testcluster" --data-dir="$RUN/data" --port="$PORT" --kubeconfig="$KUBECONFIG_OUT" \
    ${CLUSTER_ARGS:-} </dev/null >"$LOG" 2>&1 &
pid=$!
echo "$pid" >"$PIDFILE"

deadline=$(( $(date +%s) + TIMEOUT ))
until [[ -f "$KUBECONFIG_OUT" ]] && "$BIN/kubectl" --kubeconfig="$KUBECONFIG_OUT" get --raw=/readyz >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "up.sh: testcluster exited before it was ready; last log lines ($LOG):" >&2
        tail -n 30 "$LOG" >&2
        rm -f "$PIDFILE"
        exit 1
    fi
    if (( $(date +%s) >= deadline )); then
        echo "up.sh: not ready after ${TIMEOUT}s; stopping it. Last log lines ($LOG):" >&2
        tail -n 30 "$LOG" >&2
        bash "$HERE/down.sh" >&2 || true
        exit 1
    fi
    sleep 0.5
done
echo "up.sh: ready at https://127.0.0.1:$PORT (pid $pid, log $LOG)" >&2
echo "$KUBECONFIG_OUT"
