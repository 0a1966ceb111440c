#!/usr/bin/env bash
# Builds the Go tools this project runs (control plane, kwok, helm, kind, MinIO, linters) from the
# modules pinned under hack/tools/<tool>/, and caches each binary outside the repo keyed by the hash
# of its go.mod/go.sum, so a second run takes milliseconds and a changed pin rebuilds.
#   hack/tools/build.sh [TOOL...]     (default: all)   prints nothing but progress on stderr
#   hack/tools/build.sh --path TOOL   prints the cached bin dir of TOOL (building it if needed)
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
TOOLS_DIR="$REPO_ROOT/hack/tools"

# tool -> packages to build (module paths as required in that tool's go.mod)
declare -A PKGS=(
  [kube]="k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl"
  [etcd]="."
  [kwok]="sigs.k8s.io/kwok/cmd/kwok"
  [helm]="helm.sh/helm/v3/cmd/helm"
  [kind]="sigs.k8s.io/kind"
  [minio]="github.com/minio/minio"
  [actionlint]="github.com/rhysd/actionlint/cmd/actionlint"
  [node]="k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy"
  [containerd]="github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 github.com/containerd/containerd/v2/cmd/ctr"
  [runc]="github.com/opencontainers/runc"
  [coredns]="."
  [local-path]="github.com/rancher/local-path-provisioner"
  [envoy-gateway]="github.com/envoyproxy/gateway/cmd/envoy-gateway"
  [gateway-api]="sigs.k8s.io/gateway-api/conformance/echo-basic"
)
# Build tags: containerd without the snapshotters that need C libraries we do not use; runc with
# seccomp (cgo + Debian's libseccomp-dev), or every pod fails with "seccomp not supported".
declare -A TAGS=(
  [containerd]="no_btrfs no_devmapper no_zfs"
  [runc]="seccomp"
)
# CGO_ENABLED where a tool needs it set: runc links libseccomp.
declare -A CGO=([runc]=1)
# Debian packages a cgo build needs (installed when missing; a fresh machine has none of them).
declare -A APT=([runc]="gcc libc6-dev pkg-config libseccomp-dev")
ALL_TOOLS=(kube etcd kwok helm kind minio)
# The real node (hack/node.sh) and its gateway (hack/gateway.sh): built only where a node runs.
NODE_TOOLS=(node containerd runc coredns local-path envoy-gateway)

# The cache key covers everything that shapes the binary: pins, sources, packages and link flags.
tool_key() {
  { cat "$TOOLS_DIR/$1"/go.mod "$TOOLS_DIR/$1"/go.sum "$TOOLS_DIR/$1"/*.go 2>/dev/null
    echo "${PKGS[$1]:-}"; ldflags_for "$1"
    [ -z "${TAGS[$1]:-}${CGO[$1]:-}" ] || echo "tags=${TAGS[$1]:-} cgo=${CGO[$1]:-}"; } | sha256sum | cut -c1-12
}
ldflags_for() {
  echo "-s -w"
  case $1 in
    kube | node) kube_ldflags ;;
    helm) helm_ldflags ;;
    # Unstamped, `envoy-gateway version` says nothing of its release.
    envoy-gateway) echo " -X github.com/envoyproxy/gateway/internal/cmd/version.envoyGatewayVersion=$(module_version envoy-gateway github.com/envoyproxy/gateway)" ;;
  esac
}

module_version() { # tool module -> the version its go.mod requires
  sed -n "s|^\\(require\\)\\?[[:space:]]*$2 \\(v[0-9][^ ]*\\)\$|\\2|p" "$TOOLS_DIR/$1/go.mod" | head -1
}
tool_dir() { echo "$MP_BIN_CACHE/$1-$(tool_key "$1")"; }

# Version stamps: unstamped k8s binaries say v0.0.0-master, which breaks helm's kubeVersion checks.
kube_ldflags() {
  local v major minor
  v=$(module_version kube k8s.io/kubernetes)
  [ -n "$v" ] || die "cannot read the k8s.io/kubernetes version from hack/tools/kube/go.mod"
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  local f=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    f+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$f"
}

# Unstamped helm says "v3.19" and assumes Kubernetes 1.20 for `helm template`/`lint` capabilities;
# stamp its real version and the Kubernetes minor our local cluster runs.
helm_ldflags() {
  local v kv minor
  v=$(module_version helm helm.sh/helm/v3)
  [ -n "$v" ] || die "cannot read the helm version from hack/tools/helm/go.mod"
  kv=$(module_version kube k8s.io/kubernetes)
  minor=${kv#v*.}; minor=${minor%%.*}
  echo " -X helm.sh/helm/v3/internal/version.version=$v"
  for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    echo " -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$minor"
  done
}

build_tool() {
  local tool=$1 out
  out=$(tool_dir "$tool")
  if [ -f "$out/.done" ]; then return 0; fi
  [ -d "$TOOLS_DIR/$tool" ] && [ -n "${PKGS[$tool]:-}" ] || die "unknown tool '$tool' (known: ${!PKGS[*]})"
  # One builder per tool at a time: parallel test runs may ask for the same binary.
  mkdir -p "$MP_BIN_CACHE"
  exec {lock}>"$MP_BIN_CACHE/.$tool.lock"
  flock "$lock"
  if [ -f "$out/.done" ]; then flock -u "$lock"; return 0; fi
  log "building $tool (cold build; cached afterwards in $out)"
  # shellcheck disable=SC2086 # a list of package names
  [ -z "${APT[$tool]:-}" ] || need_apt ${APT[$tool]}
  local ldflags
  ldflags=$(ldflags_for "$tool" | tr '\n' ' ')
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  local start=$SECONDS
  # -v prints each package path as it compiles: counted, that is the progress of a long cold
  # build. Every other line (errors, cgo's and pkg-config's messages, downloads) is shown.
  # pipefail: rc is go build's status (awk exits 0); `|| rc=$?` keeps set -e from exiting first.
  local rc=0
  (cd "$TOOLS_DIR/$tool" && env ${CGO[$tool]:+CGO_ENABLED=${CGO[$tool]}} go build -v -trimpath -tags "${TAGS[$tool]:-}" \
    -ldflags "$ldflags" -o "$out.tmp/" ${PKGS[$tool]}) 2>&1 \
    | awk -v t="$tool" '!/^[^ :]+$/ {print > "/dev/stderr"; next}
        {n++; if (n % 100 == 0) printf "  %s: %d packages compiled (%s)\n", t, n, $0 > "/dev/stderr"}' \
    || rc=$?
  ((rc == 0)) || die "go build of $tool failed (exit $rc); rerun: cd hack/tools/$tool && go build -v ${PKGS[$tool]}"
  touch "$out.tmp/.done"
  rm -rf "$out" && mv "$out.tmp" "$out"
  # Drop binaries of older pins of this tool so the cache does not grow with every bump.
  find "$MP_BIN_CACHE" -maxdepth 1 -name "$tool-*" ! -name "$(basename "$out")" -exec rm -rf {} +
  flock -u "$lock"
  log "built $tool in $((SECONDS - start))s: $(ls "$out" | tr '\n' ' ')"
}

if [ "${1:-}" = --path ]; then
  build_tool "$2"
  tool_dir "$2"
  exit 0
fi
if [ "${1:-}" = --node ]; then set -- "${NODE_TOOLS[@]}"; fi
for t in "${@:-${ALL_TOOLS[@]}}"; do build_tool "$t"; done
