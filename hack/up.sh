#!/usr/bin/env bash
# The main job: on top of `make infra-up cluster-up`, install the CRD, run the operator as a local
# process against the local control plane, apply a sample MessagingPlatform and show it converge.
#   hack/up.sh [SAMPLE]   default SAMPLE: manifests/samples/minimal.yaml, into namespace `demo`
#   hack/up.sh down       stop the operator (the cluster and infra are stopped by make down)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"
NAMESPACE=${MP_DEMO_NAMESPACE:-demo}
OPERATOR_PID="$MP_CACHE/operator.pid"
OPERATOR_LOG="$MP_CACHE/operator.log"
READY_TIMEOUT=${MP_READY_TIMEOUT:-180}

operator_pid() { [ -f "$OPERATOR_PID" ] && kill -0 "$(cat "$OPERATOR_PID")" 2>/dev/null && cat "$OPERATOR_PID"; }

if [ "${1:-}" = down ]; then
  if pid=$(operator_pid); then
    log "stopping the operator (pid $pid)"
    kill "$pid"; for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$OPERATOR_PID"
  exit 0
fi

SAMPLE=${1:-manifests/samples/minimal.yaml}
[ -f "$SAMPLE" ] || die "no sample at $SAMPLE"
[ -f "$MP_CACHE/cluster.env" ] || die "the local cluster is not up: run make cluster-up"
source "$MP_CACHE/cluster.env"
kubectl get --raw /readyz >/dev/null 2>&1 || die "the kube-apiserver does not answer: run make cluster-up"

log "installing the MessagingPlatform CRD"
kubectl apply --server-side --force-conflicts -k crds/ >/dev/null
kubectl wait crd/messagingplatforms.messaging.platform.dev --for=condition=Established --timeout=30s >/dev/null

if pid=$(operator_pid); then
  log "operator already running (pid $pid, log $OPERATOR_LOG)"
else
  log "starting the operator (log: $OPERATOR_LOG)"
  setsid uv run --frozen messaging-operator >>"$OPERATOR_LOG" 2>&1 </dev/null &
  echo $! >"$OPERATOR_PID"
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
echo
kubectl get mp -n "$NAMESPACE"
echo
kubectl get deployments,statefulsets,jobs,services,httproutes -n "$NAMESPACE"
echo
log "explore: eval \"\$(hack/cluster.sh env)\"; kubectl describe mp $name -n $NAMESPACE"
log "stop everything: make down"
