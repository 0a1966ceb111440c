#!/usr/bin/env bash
# The main job, one command: the platform exactly as the operator makes it, on a real node.
#   1. the control plane (hack/cluster.sh) and the images (hack/images.sh, buildah, no registry)
#   2. the real node (hack/node.sh): kubelet, containerd, CoreDNS, local-path volumes; the images
#      are imported into its containerd
#   3. the gateway (hack/gateway.sh): Envoy Gateway and its Envoy pods, as on kind, with the shared
#      Gateway gateway-system/public; then the operator as a pod, from its chart, with the
#      chart's ServiceAccount
#   4. the sample platform (hack/stack/platform.yaml) in namespace `demo`: PostgreSQL, Redis,
#      RabbitMQ and MinIO as pods on volumes, migration Jobs, the eight services, the web client
#      and the legacy stand-in
#   5. the host-side companions (hack/stack/stack.sh): 127.0.0.1:8080 forwarded to the Gateway,
#      Prometheus, the SMTP sink
# Prints where to go. Running it twice is harmless: what runs stays, a rebuilt image restarts the
# pods that run it.
#   hack/up.sh [SAMPLE]   default SAMPLE: hack/stack/platform.yaml, into namespace `demo`
#   hack/up.sh down       delete the platform and the operator, stop the companions (then the
#                         node and the control plane: make down)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"
NAMESPACE=${MP_DEMO_NAMESPACE:-demo}
# Not messaging-system: that is where the kustomize manifests install (tests dry-run them there).
OPERATOR_NAMESPACE=messaging-local
READY_TIMEOUT=${MP_READY_TIMEOUT:-300}
GATEWAY=http://127.0.0.1:8080

kube_env() {
  # shellcheck source=/dev/null
  source "$MP_CACHE/cluster.env"
  HELM="$(hack/tools/build.sh --path helm)/helm"
}

if [ "${1:-}" = down ]; then
  hack/stack/stack.sh down
  if hack/cluster.sh status >/dev/null 2>&1; then
    kube_env
    # While the node still runs: its kubelet confirms each pod gone and the local-path helper
    # removes each volume; a namespace left terminating would refuse the next `make up`.
    log "deleting namespace $NAMESPACE (the platform, its volumes) and the operator"
    kubectl delete namespace "$NAMESPACE" --ignore-not-found --timeout=180s >/dev/null \
      || log "warning: namespace $NAMESPACE is still terminating (kubectl get all -n $NAMESPACE)"
    "$HELM" uninstall messaging-operator -n "$OPERATOR_NAMESPACE" >/dev/null 2>&1 || true
  fi
  exit 0
fi

SAMPLE=${1:-hack/stack/platform.yaml}
[ -f "$SAMPLE" ] || die "no sample at $SAMPLE"
t0=$SECONDS

log "step 1/5: control plane and images (cold: the Go tools ~28 min, the images ~12 min; warm: seconds)"
hack/tools/build.sh kube etcd kwok helm minio
hack/tools/build.sh --node
hack/cluster.sh up
kube_env
hack/images.sh build

log "step 2/5: the real node"
# What the node held before (image ids by reference): the platform's pods restart only when an
# image they run changed (the operator's own rolls through its chart annotation).
images_before=$(grep -H . "$MP_CACHE/node/imported/"* 2>/dev/null | sort || true)
hack/node.sh up
hack/node.sh images
# The names of the platform's images whose content changed (files are named <repo>_<name>_<tag>).
changed_images=$(comm -13 <(echo "$images_before") <(grep -H . "$MP_CACHE/node/imported/"* 2>/dev/null | sort) \
  | sed -n 's|.*/ghcr.io_acme_messaging_\([a-z]*\)_[^/:]*:.*|\1|p' | grep -vx operator | sort -u || true)

log "step 3/5: the gateway (Envoy Gateway) and the operator, from charts/messaging-operator"
hack/gateway.sh up
kubectl apply --server-side --force-conflicts -k crds/ >/dev/null
kubectl wait crd/messagingplatforms.messaging.platform.dev --for=condition=Established --timeout=30s >/dev/null
hack/node.sh namespace "$OPERATOR_NAMESPACE"
hack/node.sh namespace "$NAMESPACE"
# The image's id as a pod annotation: a rebuilt operator image (same tag) rolls the operator.
operator_id=$(podman image inspect --format '{{.Id}}' "$(hack/images.sh list operator)" | cut -c1-12)
"$HELM" upgrade --install messaging-operator charts/messaging-operator -n "$OPERATOR_NAMESPACE" \
  --set image.pullPolicy=Never --set leaderElection.enabled=false --set-string "podAnnotations.messaging\.platform\.dev/image-id=$operator_id" \
  --set "extraEnv[0].name=MESSAGING_OPERATOR_NAMESPACES" --set "extraEnv[0].value=$NAMESPACE" \
  --wait --timeout 180s >/dev/null \
  || { kubectl get pods -n "$OPERATOR_NAMESPACE" >&2; die "the operator did not become ready (kubectl logs -n $OPERATOR_NAMESPACE deploy/messaging-operator)"; }

log "step 4/5: applying $SAMPLE to namespace $NAMESPACE"
start=$SECONDS
kubectl apply --server-side -n "$NAMESPACE" -f "$SAMPLE" >/dev/null
name=$(kubectl create --dry-run=client -o name -f "$SAMPLE" | sed -n 's|^messagingplatform[^/]*/||p' | head -1)
[ -n "$name" ] || die "$SAMPLE holds no MessagingPlatform"
if [ -n "$changed_images" ]; then
  # Same tags, new contents: a schema may have changed under the same version, so the finished
  # migration Jobs of those services go (the operator runs them again; migrations are
  # idempotent), and pods started from the old images restart on the new ones.
  log "changed images: $(tr '\n' ' ' <<<"$changed_images"): migrating again and restarting their pods"
  for image in $changed_images; do
    kubectl get jobs -n "$NAMESPACE" -o name | grep "^job.batch/$name-$image-migrate-" \
      | xargs -r kubectl delete -n "$NAMESPACE" >/dev/null || true
  done
  kubectl rollout restart deployment -n "$NAMESPACE" >/dev/null 2>&1 || true
  sleep 5  # the operator notices the deleted Jobs before the Ready wait below reads the status
fi

# Progress: print the conditions that are not yet True whenever they change.
last=""
# Ready, and for this very spec (a status left from an earlier spec does not count).
ready_now() {
  [ "$(kubectl get mp "$name" -n "$NAMESPACE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.observedGeneration} {.metadata.generation}' 2>/dev/null \
    | awk '{print ($1 == "True" && $2 == $3) ? "yes" : "no"}')" = yes ]
}
until ready_now; do
  if ((SECONDS - start > READY_TIMEOUT)); then
    kubectl get pods -n "$NAMESPACE" >&2
    kubectl describe mp "$name" -n "$NAMESPACE" | tail -30 >&2
    die "$name not Ready after ${READY_TIMEOUT}s (conditions and pods above; kubectl logs -n $OPERATOR_NAMESPACE deploy/messaging-operator)"
  fi
  now=$(kubectl get mp "$name" -n "$NAMESPACE" -o jsonpath='{.status.readyServices} {range .status.conditions[?(@.status!="True")]}{.type}={.reason} {end}' 2>/dev/null || true)
  [ "$now" != "$last" ] && [ -n "$now" ] && log "waiting: $now"
  last=$now
  sleep 2
done
log "$name is Ready after $((SECONDS - start))s"
kubectl rollout status deployment -n "$NAMESPACE" --timeout=120s >/dev/null

log "step 5/5: gateway, Prometheus and SMTP sink"
hack/stack/stack.sh up
# Envoy Gateway has taken the routes once every HTTPRoute of the platform is Accepted by it.
routes_accepted() {
  local want have
  want=$(kubectl get httproutes -n "$NAMESPACE" -l "messaging.platform.dev/platform=$name" --no-headers 2>/dev/null | wc -l)
  have=$(kubectl get httproutes -n "$NAMESPACE" -l "messaging.platform.dev/platform=$name" \
    -o jsonpath='{range .items[*]}{range .status.parents[?(@.controllerName=="gateway.envoyproxy.io/gatewayclass-controller")]}{.conditions[?(@.type=="Accepted")].status}{"\n"}{end}{end}' \
    | grep -c '^True$' || true)
  ((want > 0 && have == want))
}
wait_for "the platform's routes (Accepted by Envoy Gateway)" 90 \
  "See kubectl logs -n envoy-gateway-system deploy/envoy-gateway." -- routes_accepted
wait_for "auth through the gateway" 60 "See kubectl logs -n envoy-gateway-system deploy/envoy-gateway." -- \
  curl -fsS --max-time 2 -o /dev/null "$GATEWAY/api/v1/auth/jwks.json"

echo
kubectl get mp -n "$NAMESPACE"
echo
kubectl get pods -n "$NAMESPACE" -o wide
echo
hack/stack/stack.sh status || true
cat <<EOF

The platform runs as pods on the real node ($("$REPO_ROOT/hack/node.sh" status >/dev/null && echo mp-node)).
  web client               $GATEWAY/
  gateway (Envoy Gateway)  $GATEWAY/api/v1/<service>/...   e.g. curl $GATEWAY/api/v1/auth/jwks.json
                           websocket: ws://127.0.0.1:8080/ws
  Kubernetes               eval "\$(hack/cluster.sh env)"; kubectl get mp,pods -n $NAMESPACE
  operator                 kubectl logs -n $OPERATOR_NAMESPACE deploy/messaging-operator
  Prometheus               http://127.0.0.1:19090
  SMTP sink (mails)        $MP_CACHE/stack/mail/new
  move traffic             kubectl patch mp $name -n $NAMESPACE --type=merge \\
                             -p '{"spec":{"services":{"auth":{"migration":{"weight":50}}}}}'
  stop everything          make down
EOF
log "up in $((SECONDS - t0))s"
