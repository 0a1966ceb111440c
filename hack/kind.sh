#!/usr/bin/env bash
# A kind cluster for hosts with Docker (CI's kind job, a laptop): the same platform as the local
# control plane, but with real containers and a real gateway. It cannot run without a Docker engine.
#   hack/kind.sh up          create the cluster, install the Gateway API CRDs (from the pinned Go
#                            module), Envoy Gateway and a shared Gateway, build and load the images
#   hack/kind.sh images      (re)build the images and load them into the cluster
#   hack/kind.sh install     helm upgrade --install the operator chart with the loaded image
#   hack/kind.sh forward     port-forward 127.0.0.1:$GATEWAY_PORT to the Gateway's Envoy (background)
#   hack/kind.sh env         print `export KUBECONFIG=...` for this cluster
#   hack/kind.sh down        delete the cluster
# Environment: KIND_CLUSTER (default messaging), IMAGE_TAG (default: hack/images.sh's, the charts'
# appVersions, which the chart and the samples deploy), GATEWAY_PORT (default 8080),
# GATEWAY_NAMESPACE/GATEWAY_NAME (default gateway-system/public), KUBECTL (default: kubectl on
# PATH, else the pinned one from hack/tools/kube).
set -euo pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

KIND_CLUSTER="${KIND_CLUSTER:-messaging}"
IMAGE_REPOSITORY="${IMAGE_REPOSITORY:-ghcr.io/acme/messaging}"
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
# The Envoy Gateway release the local real node builds too (hack/tools/envoy-gateway), which
# implements the Gateway API release hack/tools/gateway-api pins (v1.6.1).
ENVOY_GATEWAY_VERSION="${ENVOY_GATEWAY_VERSION:-v1.9.1}"
# The shared Gateway `up` creates (gateway-system/public); `forward` reaches any Gateway named by these two.
GATEWAY_NAMESPACE="${GATEWAY_NAMESPACE:-gateway-system}"
GATEWAY_NAME="${GATEWAY_NAME:-public}"
KIND_STATE="$MP_STATE/kind-$KIND_CLUSTER"
export KUBECONFIG="$KIND_STATE/kubeconfig"

# The binary of a pinned Go tool; a failed build fails the caller (not an echo of a bad path).
tool() {
  local dir
  dir=$("$REPO_ROOT/hack/tools/build.sh" --path "$1") || return 1
  echo "$dir/$2"
}

setup_tools() {
  KIND=$(tool kind kind) || die "could not build kind (hack/tools/build.sh kind)"
  HELM=$(tool helm helm) || die "could not build helm (hack/tools/build.sh helm)"
  if [ -n "${KUBECTL:-}" ]; then
    :
  elif command -v kubectl >/dev/null; then
    KUBECTL=$(command -v kubectl)
  else
    log "no kubectl on PATH: building the pinned one (hack/tools/kube; slow the first time)"
    KUBECTL=$(tool kube kubectl) || die "could not build kubectl (hack/tools/build.sh kube)"
  fi
}

need_docker() {
  command -v docker >/dev/null || die "docker not found: kind needs a Docker engine"
  docker info >/dev/null 2>&1 \
    || die "no Docker engine answers to 'docker info': start Docker (kind cannot run without it)"
}

cluster_exists() { "$KIND" get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; }

create_cluster() {
  mkdir -p "$KIND_STATE"
  if cluster_exists; then
    log "kind cluster $KIND_CLUSTER exists; reusing it"
    "$KIND" export kubeconfig --name "$KIND_CLUSTER" --kubeconfig "$KUBECONFIG"
    return 0
  fi
  log "creating kind cluster $KIND_CLUSTER (kind's default node image for its pinned version)"
  cat >"$KIND_STATE/config.yaml" <<CONFIG
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  # The API server listens on loopback only.
  apiServerAddress: 127.0.0.1
nodes:
  - role: control-plane
  - role: worker
CONFIG
  "$KIND" create cluster --name "$KIND_CLUSTER" --config "$KIND_STATE/config.yaml" \
    --kubeconfig "$KUBECONFIG" --wait 180s
}

gateway_api_crds() {
  local dir
  dir=$(cd "$REPO_ROOT/hack/tools/gateway-api" && go mod download -json sigs.k8s.io/gateway-api \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir/config/crd/standard" ] \
    || die "Gateway API module not found (go mod download in hack/tools/gateway-api gave '$dir')"
  log "installing Gateway API standard CRDs from $dir"
  "$KUBECTL" apply --server-side -f "$dir/config/crd/standard/"
  "$KUBECTL" wait --for condition=Established --timeout=60s \
    crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io
}

envoy_gateway() {
  log "installing Envoy Gateway $ENVOY_GATEWAY_VERSION (its own CRDs only: Gateway API's are ours)"
  "$HELM" template eg-crds oci://docker.io/envoyproxy/gateway-crds-helm \
    --version "$ENVOY_GATEWAY_VERSION" \
    --set crds.gatewayAPI.enabled=false --set crds.envoyGateway.enabled=true \
    | "$KUBECTL" apply --server-side -f -
  "$HELM" upgrade --install eg oci://docker.io/envoyproxy/gateway-helm \
    --version "$ENVOY_GATEWAY_VERSION" --namespace envoy-gateway-system --create-namespace \
    --skip-crds --wait --timeout 5m
  "$KUBECTL" -n envoy-gateway-system wait --for condition=Available --timeout=300s \
    deployment/envoy-gateway
  log "creating GatewayClass eg and Gateway gateway-system/public (hack/gateway/gateway.yaml)"
  "$KUBECTL" apply --server-side -f "$REPO_ROOT/hack/gateway/gateway.yaml"
  "$KUBECTL" -n gateway-system wait --for condition=Programmed --timeout=300s gateway/public
  "$KUBECTL" -n gateway-system wait --timeout=60s backendtrafficpolicy/public-backends \
    --for=jsonpath='{.status.ancestors[0].conditions[?(@.type=="Accepted")].status}'=True
}

images() {
  need_docker
  IMAGE_REPOSITORY="$IMAGE_REPOSITORY" "$REPO_ROOT/hack/images.sh" build
  IMAGE_REPOSITORY="$IMAGE_REPOSITORY" KIND_CLUSTER="$KIND_CLUSTER" "$REPO_ROOT/hack/images.sh" load
}

install_chart() {
  local image tag
  image=$(IMAGE_REPOSITORY="$IMAGE_REPOSITORY" "$REPO_ROOT/hack/images.sh" list operator)
  tag=${image##*:}
  log "installing the operator chart (image $image)"
  "$HELM" upgrade --install messaging-operator "$REPO_ROOT/charts/messaging-operator" \
    --namespace messaging-system --create-namespace \
    --set image.repository="$IMAGE_REPOSITORY/operator" --set image.tag="$tag" \
    --set image.pullPolicy=IfNotPresent --wait --timeout 5m
}

forward() {
  local service pidfile="$KIND_STATE/forward.pid"
  service=$("$KUBECTL" -n envoy-gateway-system get service -o name \
    --selector "gateway.envoyproxy.io/owning-gateway-namespace=$GATEWAY_NAMESPACE,gateway.envoyproxy.io/owning-gateway-name=$GATEWAY_NAME")
  [ -n "$service" ] \
    || die "no Envoy Service for Gateway $GATEWAY_NAMESPACE/$GATEWAY_NAME (class eg): run hack/kind.sh up"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"
  fi
  "$KUBECTL" -n envoy-gateway-system port-forward --address 127.0.0.1 "$service" \
    "$GATEWAY_PORT:80" >"$KIND_STATE/forward.log" 2>&1 &
  echo $! >"$pidfile"
  wait_for "port-forward to the gateway on 127.0.0.1:$GATEWAY_PORT" 30 \
    "see $KIND_STATE/forward.log" -- bash -c "exec 3<>/dev/tcp/127.0.0.1/$GATEWAY_PORT"
  log "gateway at http://127.0.0.1:$GATEWAY_PORT (port-forward pid $(cat "$pidfile"))"
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    # One command a line: inside an && list bash ignores errexit in all but the last command.
    up)
      need_docker
      setup_tools
      create_cluster
      gateway_api_crds
      envoy_gateway
      images
      log "kind cluster $KIND_CLUSTER is ready; next: hack/kind.sh install; $(main env)"
      ;;
    images)
      setup_tools
      images
      ;;
    install)
      setup_tools
      install_chart
      ;;
    forward)
      setup_tools
      forward
      ;;
    env) echo "export KUBECONFIG=$KUBECONFIG" ;;
    down)
      setup_tools
      if cluster_exists; then "$KIND" delete cluster --name "$KIND_CLUSTER"; fi
      rm -rf "$KIND_STATE"
      ;;
    *) die "usage: hack/kind.sh up|images|install|forward|env|down" ;;
  esac
}

main "$@"
