#!/usr/bin/env bash
# The main job, one command: the infrastructure and the control plane (started when down), the
# CRD, the operator as a local process against the local control plane, a MessagingPlatform in
# local mode, then the local stack on 127.0.0.1 (hack/stack/stack.sh): the eight services
# (migrations first), the legacy monolith stand-in, the gateway (HAProxy programmed from the
# operator's HTTPRoutes) and Prometheus. Prints where to go.
#   hack/up.sh [SAMPLE]   default SAMPLE: hack/stack/platform.yaml, into namespace `demo`
#   hack/up.sh down       stop the stack and the operator (the cluster and infra: make down)
# Running it twice is harmless. Ctrl-C while it runs stops what this run started, nothing else.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"
NAMESPACE=${MP_DEMO_NAMESPACE:-demo}
OPERATOR_PID="$MP_CACHE/operator.pid"
OPERATOR_LOG="$MP_CACHE/operator.log"
# What the running operator was started from: a changed source restarts it.
OPERATOR_SOURCE="$MP_CACHE/operator.source"
READY_TIMEOUT=${MP_READY_TIMEOUT:-180}
GATEWAY=http://127.0.0.1:8080

operator_pid() { [ -f "$OPERATOR_PID" ] && kill -0 "$(cat "$OPERATOR_PID")" 2>/dev/null && cat "$OPERATOR_PID"; }
operator_source() { find operator/src crds -type f \( -name '*.py' -o -name '*.yaml' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16; }

stop_operator() {
  local pid
  if pid=$(operator_pid); then
    log "stopping the operator (pid $pid)"
    kill "$pid"; for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$OPERATOR_PID"
}

if [ "${1:-}" = down ]; then
  hack/stack/stack.sh down
  stop_operator
  exit 0
fi

SAMPLE=${1:-hack/stack/platform.yaml}
[ -f "$SAMPLE" ] || die "no sample at $SAMPLE"
t0=$SECONDS

# --- what runs (or is starting) stays; what this run starts goes again on Ctrl-C ----------
infra_started=() cluster_started=false operator_started=false
for s in postgres redis rabbitmq minio smtp; do
  hack/infra.sh status 2>/dev/null | awk -v s="$s" '$1 == s && $2 != "down" {found=1} END {exit !found}' \
    || infra_started+=("$s")
done
hack/cluster.sh status >/dev/null 2>&1 || cluster_started=true

interrupted() {
  trap - INT TERM
  log "interrupted: stopping what this run started"
  hack/stack/stack.sh down || true
  if $operator_started; then stop_operator; fi
  if $cluster_started; then hack/cluster.sh down || true; fi
  if ((${#infra_started[@]})); then hack/infra.sh down "${infra_started[@]}" || true; fi
  exit 130
}
trap interrupted INT TERM

hack/infra.sh up
hack/cluster.sh up
# shellcheck source=/dev/null
source "$MP_CACHE/cluster.env"
kubectl get --raw /readyz >/dev/null 2>&1 || die "the kube-apiserver does not answer: run make cluster-up"

log "installing the MessagingPlatform CRD"
kubectl apply --server-side --force-conflicts -k crds/ >/dev/null
kubectl wait crd/messagingplatforms.messaging.platform.dev --for=condition=Established --timeout=30s >/dev/null

source_now=$(operator_source)
if pid=$(operator_pid) && [ "$(cat "$OPERATOR_SOURCE" 2>/dev/null)" != "$source_now" ]; then
  log "the operator's source changed since it started: restarting it"
  stop_operator
fi
if pid=$(operator_pid); then
  log "operator already running (pid $pid, log $OPERATOR_LOG)"
else
  log "starting the operator (log: $OPERATOR_LOG)"
  # Namespaced to the stack's own namespace: benches and tests run their operators elsewhere.
  MESSAGING_OPERATOR_NAMESPACES="$NAMESPACE" setsid uv run --frozen messaging-operator >>"$OPERATOR_LOG" 2>&1 </dev/null &
  echo $! >"$OPERATOR_PID"
  echo "$source_now" >"$OPERATOR_SOURCE"
  operator_started=true
fi

kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
log "applying $SAMPLE to namespace $NAMESPACE"
start=$SECONDS
kubectl apply --server-side -n "$NAMESPACE" -f "$SAMPLE" >/dev/null
name=$(kubectl create --dry-run=client -o name -f "$SAMPLE" | sed -n 's|^messagingplatform[^/]*/||p' | head -1)
[ -n "$name" ] || die "$SAMPLE holds no MessagingPlatform"

# Progress: print the conditions that are not yet True whenever they change.
last=""
until [ "$(kubectl get mp "$name" -n "$NAMESPACE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; do
  if ! operator_pid >/dev/null; then die "the operator exited; see $OPERATOR_LOG"; fi
  if ((SECONDS - start > READY_TIMEOUT)); then
    kubectl describe mp "$name" -n "$NAMESPACE" | tail -30 >&2
    die "$name not Ready after ${READY_TIMEOUT}s (conditions above; operator log: $OPERATOR_LOG)"
  fi
  now=$(kubectl get mp "$name" -n "$NAMESPACE" -o jsonpath='{range .status.conditions[?(@.status!="True")]}{.type}={.reason} {end}' 2>/dev/null || true)
  [ "$now" != "$last" ] && [ -n "$now" ] && log "waiting: $now"
  last=$now
  sleep 1
done
log "$name is Ready after $((SECONDS - start))s"

# A platform switched from pods to local mode keeps the Endpoints and EndpointSlices of its old
# selectors (kube-controller-manager leaves them to a Service that loses its selector, and mirrors
# the Endpoints into new slices): kwok pod addresses nothing must dial. Delete them; nothing
# recreates them for an ExternalName Service.
local_services=$(kubectl get services -n "$NAMESPACE" -l "messaging.platform.dev/platform=$name" \
  -o jsonpath='{range .items[?(@.spec.type=="ExternalName")]}{.metadata.name}{" "}{end}')
local_services=${local_services% }
if [ -n "$local_services" ]; then
  # shellcheck disable=SC2086 # one name per word
  kubectl delete endpoints -n "$NAMESPACE" --ignore-not-found $local_services >/dev/null
  kubectl delete endpointslices -n "$NAMESPACE" --ignore-not-found \
    -l "kubernetes.io/service-name in (${local_services// /,})" >/dev/null 2>&1 || true
fi

hack/stack/stack.sh up

# The gateway has programmed the routes once every HTTPRoute of the platform is Accepted by it.
routes_programmed() {
  local want have
  want=$(kubectl get httproutes -n "$NAMESPACE" -l "messaging.platform.dev/platform=$name" --no-headers 2>/dev/null | wc -l)
  have=$(kubectl get httproutes -n "$NAMESPACE" -l "messaging.platform.dev/platform=$name" -o json \
    | grep -c '"controllerName": "messaging.platform.dev/local-haproxy"' || true)
  ((want > 0 && have == want))
}
wait_for "the gateway's routes" 60 "See $MP_CACHE/stack/logs/gateway.log." -- routes_programmed

echo
kubectl get mp -n "$NAMESPACE"
echo
kubectl get services,httproutes,gateways -n "$NAMESPACE"
echo
hack/stack/stack.sh status || true
# What a crash of a store would cost: durable, unless the stores were started with MP_INFRA_FAST=1.
STORES=$({ hack/infra.sh status 2>/dev/null || true; } |
  awk '$1 == "postgres" || $1 == "redis" {printf "%s %s  ", $1, $5}')
cat <<EOF

Everything listens on 127.0.0.1 only.
  web client               $GATEWAY/   (static files from services/web/dist on 127.0.0.1:8009)
  gateway (HAProxy)        $GATEWAY/api/v1/<service>/...   e.g. curl $GATEWAY/api/v1/auth/jwks.json
                           websocket: ws://127.0.0.1:8080/ws
  services (direct)        http://127.0.0.1:8001..8008 (auth users messages groups media relay
                           notifications websocket); docs at /docs, metrics at /metrics
  legacy monolith          http://127.0.0.1:8000 (answers with X-Served-By: legacy)
  Prometheus               http://127.0.0.1:19090  (gateway metrics: http://127.0.0.1:18404/metrics)
  SMTP sink (mails)        $MP_CACHE/smtp
  store settings           ${STORES:-?}(durable | fast; hack/infra/README.md)
  Kubernetes               eval "\$(hack/cluster.sh env)"; kubectl get mp -n $NAMESPACE
  move traffic             kubectl patch mp $name -n $NAMESPACE --type=merge \\
                             -p '{"spec":{"services":{"auth":{"migration":{"weight":50}}}}}'
  logs                     $MP_CACHE/stack/logs/, operator: $OPERATOR_LOG
  stop everything          make down
EOF
trap - INT TERM
log "up in $((SECONDS - t0))s"
