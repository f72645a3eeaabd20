#!/usr/bin/env bash
# Builds the e2e test cluster: testcluster (embedded etcd + kube-apiserver + kube-controller-manager),
# kubectl and helm into $REPO/.cache/cluster/bin/. Needs only Go and the Go module proxy.
# Cached: when nothing that feeds the build changed, a rerun returns at once.
#   FORCE=1 build.sh   rebuild even if the stamp matches
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
BIN="$REPO/.cache/cluster/bin"

K8S_VERSION=v1.37.2   # must match k8s.io/kubernetes in go.mod (checked below)
HELM_VERSION=v4.3.1

# TESTCLUSTER_GOMODCACHE / TESTCLUSTER_GOCACHE let CI share caches across clones (opt-in).
export GOMODCACHE="${TESTCLUSTER_GOMODCACHE:-$REPO/.cache/go/mod}"
export GOCACHE="${TESTCLUSTER_GOCACHE:-$REPO/.cache/go/build}"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"

command -v go >/dev/null || { echo "build.sh: go is not on PATH" >&2; exit 1; }
grep -q "k8s.io/kubernetes $K8S_VERSION\$" "$HERE/go.mod" ||
    { echo "build.sh: go.mod does not require k8s.io/kubernetes $K8S_VERSION" >&2; exit 1; }

# Everything that feeds the build: sources, module files, this script, the Go version.
stamp_key() {
    {
        go version
        cd "$HERE"
        find . -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name 'build.sh' | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}
mkdir -p "$BIN"
# Several test sessions may build at once: one builds, the others wait and then find the stamp.
exec 9>"$BIN/.lock"
if command -v flock >/dev/null; then flock 9; fi
KEY="$(stamp_key)"
STAMP="$BIN/.stamp"
if [[ "${FORCE:-0}" != 1 && -f "$STAMP" && "$(cat "$STAMP")" == "$KEY" &&
      -x "$BIN/testcluster" && -x "$BIN/kubectl" && -x "$BIN/helm" ]]; then
    echo "build.sh: up to date ($BIN)"
    exit 0
fi

mkdir -p "$BIN" "$GOMODCACHE" "$GOCACHE"
rm -f "$STAMP"
log() { echo "build.sh: [$(date +%H:%M:%S)] $*"; }
start=$(date +%s)

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
VPKG=k8s.io/component-base/version
K8S_LDFLAGS="-s -w -X $VPKG.gitMajor=1 -X $VPKG.gitMinor=$minor -X $VPKG.gitVersion=$K8S_VERSION"
K8S_LDFLAGS+=" -X $VPKG.gitTreeState=clean -X $VPKG.buildDate=1970-01-01T00:00:00Z"

# -p 2: two cores; more parallel compiles only add memory pressure.
cd "$HERE"
log "downloading modules"
go mod download
log "building testcluster (kube-apiserver + etcd + kube-controller-manager; cold: ~6 min on 2 cores)"
go build -p 2 -trimpath -ldflags "$K8S_LDFLAGS" -o "$BIN/testcluster.new" ./cmd/testcluster
mv -f "$BIN/testcluster.new" "$BIN/testcluster"
log "building kubectl"
go build -p 2 -trimpath -ldflags "$K8S_LDFLAGS" -o "$BIN/kubectl.new" k8s.io/kubernetes/cmd/kubectl
mv -f "$BIN/kubectl.new" "$BIN/kubectl"

# Helm is built outside this module so that its own dependency pins apply, not ours.
log "building helm $HELM_VERSION"
HPKG=helm.sh/helm/v4/internal/version
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(
    cd "$tmp"
    GOFLAGS="-buildvcs=false" GOBIN="$tmp" go install -p 2 -trimpath \
        -ldflags "-s -w -X $HPKG.version=$HELM_VERSION -X $HPKG.gitTreeState=clean" \
        "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
)
mv -f "$tmp/helm" "$BIN/helm"

echo "$KEY" > "$STAMP"
log "done in $(( $(date +%s) - start ))s: $(cd "$BIN" && echo testcluster kubectl helm)"
