#!/usr/bin/env bash
# A local Kubernetes control plane without Docker: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok (fake nodes whose pod status it simulates), all built from pinned Go modules
# (hack/tools/build.sh) and bound to 127.0.0.1. hack/node.sh adds a real node beside the kwok ones.
#   hack/cluster.sh up       start (idempotent), install Gateway API CRDs, wait for Ready nodes
#   hack/cluster.sh down     stop every process (state is kept)
#   hack/cluster.sh reset    stop and delete all state (etcd data, certs, logs)
#   hack/cluster.sh status   what runs where
#   hack/cluster.sh env      shell exports: KUBECONFIG and PATH (eval "$(hack/cluster.sh env)")
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

DIR="$MP_CACHE/cluster"
PKI="$DIR/pki"
LOGS="$DIR/logs"
KUBECONFIG_PATH="$DIR/kubeconfig"
ETCD_PORT=12379 ETCD_PEER_PORT=12380 API_PORT=16443 KCM_PORT=16257 SCHED_PORT=16259 KWOK_PORT=16247
# Addresses shared with the real node (hack/node.sh): Services in 198.19.0.0/16 and pods in
# 198.18.0.0/24 (RFC 2544 benchmarking space, collides with nothing on the host); the host reaches
# both only through the node's bridge, so no Service address can leave the machine. Pods reach the
# API server at NODE_HOST_IP, the bridge's own address, where hack/node.sh forwards to loopback.
SERVICE_CIDR=198.19.0.0/16 SERVICE_API_IP=198.19.0.1 NODE_HOST_IP=198.18.0.1 CLUSTER_RANGES=198.18.0.0/15
# What the state on disk was made for: a change of addresses or certificates starts afresh.
LAYOUT="services=$SERVICE_CIDR api=$NODE_HOST_IP pki=2"
NODES=${MP_KWOK_NODES:-2}
REAL_NODE=mp-node
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

pid_of() { local f="$DIR/$1.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }

bins() {
  KUBE_BIN=$("$REPO_ROOT/hack/tools/build.sh" --path kube)
  ETCD_BIN=$("$REPO_ROOT/hack/tools/build.sh" --path etcd)
  KWOK_BIN=$("$REPO_ROOT/hack/tools/build.sh" --path kwok)
  KUBECTL="$KUBE_BIN/kubectl"
}

# --- certificates: one CA signs the serving cert and every client identity -------------------
gen_pki() {
  [ -f "$PKI/.done" ] && return 0
  log "generating certificates in $PKI"
  rm -rf "$PKI" && mkdir -p "$PKI" && cd "$PKI"
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=messaging-platform-local-ca" -out ca.crt
  # The service account key pair signs and verifies pod tokens.
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  local sans="IP:127.0.0.1,IP:$SERVICE_API_IP,IP:$NODE_HOST_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default"
  sans+=",DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue apiserver "/CN=kube-apiserver" "$sans" serverAuth
  issue admin "/O=system:masters/CN=admin" "" clientAuth
  issue kube-controller-manager "/CN=system:kube-controller-manager" "" clientAuth
  issue kube-scheduler "/CN=system:kube-scheduler" "" clientAuth
  # kwok plays every kubelet at once (nodes, leases, pod status in all namespaces): it gets admin.
  # The real node's agents (hack/node.sh): the kubelet as its node, kube-proxy and CoreDNS with the
  # roles bootstrap policy (system:node-proxier) and hack/node/coredns-rbac.yaml give them.
  issue kubelet "/O=system:nodes/CN=system:node:$REAL_NODE" "" clientAuth
  issue kube-proxy "/CN=system:kube-proxy" "" clientAuth
  issue coredns "/CN=system:coredns" "" clientAuth
  # The API server's identity towards kubelets (logs, exec, port-forward).
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "" clientAuth
  touch .done
  cd - >/dev/null
}

issue() { # name subject sans usage
  local name=$1 subj=$2 sans=$3 usage=$4 ext
  openssl ecparam -name prime256v1 -genkey -noout -out "$name.key" 2>/dev/null
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  ext="basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=$usage"
  [ -n "$sans" ] && ext+="\nsubjectAltName=$sans"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
    -extfile <(printf "$ext") -out "$name.crt" 2>/dev/null
  rm -f "$name.csr"
}

write_kubeconfig() { # file user
  local file=$1 user=$2
  cat >"$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$user.crt")
    client-key-data: $(base64 -w0 "$PKI/$user.key")
contexts:
- name: local
  context: {cluster: local, user: $user}
current-context: local
KC
  chmod 600 "$file"
}

# Nothing addressed to the cluster's ranges (Services, real and kwok pods) may leave the machine,
# whether a node runs or not: a blackhole route catches what the real node's more specific routes
# over its bridge do not (kwok's pod and node addresses, Services kube-proxy has not programmed).
blackhole_cluster_ranges() {
  ip route show type blackhole | grep -q "^blackhole $CLUSTER_RANGES" && return 0
  ip route replace blackhole "$CLUSTER_RANGES" 2>/dev/null \
    || log "warning: cannot add 'blackhole $CLUSTER_RANGES' (not root?): cluster addresses are unroutable only while hack/node.sh runs"
}

# --- processes ------------------------------------------------------------------------------
start() { # name command...
  local name=$1; shift
  if pid_of "$name" >/dev/null; then log "$name already running (pid $(pid_of "$name"))"; return 0; fi
  log "starting $name (log: $LOGS/$name.log)"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
}

healthy_url() { curl -fsk --max-time 2 "$1" >/dev/null; }

up() {
  bins
  if [ -d "$DIR/etcd" ] && [ "$(cat "$DIR/layout" 2>/dev/null)" != "$LAYOUT" ]; then
    log "the cluster's addresses or certificates changed ($LAYOUT): starting from empty state"
    down
    rm -rf "$DIR/etcd" "$PKI"
  fi
  mkdir -p "$DIR" "$LOGS"
  echo "$LAYOUT" >"$DIR/layout"
  blackhole_cluster_ranges
  gen_pki
  write_kubeconfig "$KUBECONFIG_PATH" admin
  write_kubeconfig "$DIR/kube-controller-manager.kubeconfig" kube-controller-manager
  write_kubeconfig "$DIR/kube-scheduler.kubeconfig" kube-scheduler
  local agent
  for agent in kubelet kube-proxy coredns; do write_kubeconfig "$DIR/$agent.kubeconfig" "$agent"; done
  cp "$REPO_ROOT/hack/cluster/audit-policy.yaml" "$DIR/audit-policy.yaml"

  # --unsafe-no-fsync: a throwaway test cluster trades durability for speed on slow disks.
  start etcd "$ETCD_BIN/etcd" --name local --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
  wait_for etcd 30 "See $LOGS/etcd.log." -- healthy_url "http://127.0.0.1:$ETCD_PORT/health"

  # The audit log lets tests count every mutating request (zero writes at rest).
  start kube-apiserver "$KUBE_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address "$NODE_HOST_IP" --secure-port "$API_PORT" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode Node,RBAC --allow-privileged \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
    --enable-admission-plugins NodeRestriction,PodNodeSelector,PodTolerationRestriction \
    --audit-policy-file "$DIR/audit-policy.yaml" --audit-log-path "$LOGS/audit.log" \
    --audit-log-maxsize 200 --audit-log-maxbackup 1 --audit-log-format json \
    --profiling=false --v 1
  wait_for kube-apiserver 90 "See $LOGS/kube-apiserver.log." -- \
    "$KUBECTL" --kubeconfig "$KUBECONFIG_PATH" get --raw /readyz

  start kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
    --kubeconfig "$DIR/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$DIR/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$DIR/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --use-service-account-credentials --controllers '*' --v 1 \
    --enable-hostpath-provisioner
  start kube-scheduler "$KUBE_BIN/kube-scheduler" \
    --kubeconfig "$DIR/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$DIR/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$DIR/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --v 1
  start kwok "$KWOK_BIN/kwok" --kubeconfig "$KUBECONFIG_PATH" \
    --config "$REPO_ROOT/hack/cluster/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 198.18.128.1/17 --node-ip 198.18.255.254 --server-address "127.0.0.1:$KWOK_PORT" \
    --node-lease-duration-seconds 40
  wait_for kube-controller-manager 60 "See $LOGS/kube-controller-manager.log." -- healthy_url "https://127.0.0.1:$KCM_PORT/healthz"
  wait_for kube-scheduler 60 "See $LOGS/kube-scheduler.log." -- healthy_url "https://127.0.0.1:$SCHED_PORT/healthz"

  local k=("$KUBECTL" --kubeconfig "$KUBECONFIG_PATH")
  for i in $(seq 0 $((NODES - 1))); do
    sed "s/NAME/kwok-node-$i/g" "$REPO_ROOT/hack/cluster/kwok-node.yaml" | "${k[@]}" apply --server-side -f - >/dev/null
  done
  log "waiting for $NODES kwok nodes to be Ready"
  "${k[@]}" wait node -l type=kwok --for=condition=Ready --timeout=60s >/dev/null \
    || die "kwok nodes did not become Ready within 60s. See $LOGS/kwok.log."
  wait_for "default service account" 60 "See $LOGS/kube-controller-manager.log." -- \
    "${k[@]}" get serviceaccount default -n default

  # A default StorageClass served by the controller-manager's own hostPath provisioner, so PVCs
  # bind as on a real cluster (Immediate: no kubelet would ever report a WaitForFirstConsumer node).
  "${k[@]}" apply --server-side -f "$REPO_ROOT/hack/cluster/storageclass.yaml" >/dev/null

  local gw
  gw=$(cd "$REPO_ROOT/hack/tools/gateway-api" && go mod download -json sigs.k8s.io/gateway-api | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [ -d "$gw/config/crd/standard" ] || die "Gateway API CRDs not found under '$gw' (go mod download failed?)"
  "${k[@]}" apply --server-side --force-conflicts -f "$gw/config/crd/standard/" >/dev/null
  "${k[@]}" wait crd --for=condition=Established --timeout=30s \
    httproutes.gateway.networking.k8s.io gateways.gateway.networking.k8s.io >/dev/null

  env_exports >"$MP_CACHE/cluster.env"
  log "control plane ready: $("${k[@]}" get nodes --no-headers | wc -l) nodes, API https://127.0.0.1:$API_PORT"
  log "use it with: eval \"\$(hack/cluster.sh env)\"   (or: source $MP_CACHE/cluster.env)"
}

env_exports() {
  bins
  echo "export KUBECONFIG=$KUBECONFIG_PATH"
  echo "export PATH=$KUBE_BIN:\$PATH"
  echo "export MP_AUDIT_LOG=$LOGS/audit.log"
}

down() {
  local i name pid
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    name=${COMPONENTS[i]}
    if pid=$(pid_of "$name"); then terminate "$name" "$pid"; fi
    rm -f "$DIR/$name.pid"
  done
}

status() {
  local name pid
  printf '%-26s %-8s %s\n' COMPONENT PID ADDRESS
  declare -A addr=([etcd]="http://127.0.0.1:$ETCD_PORT" [kube-apiserver]="https://127.0.0.1:$API_PORT"
    [kube-controller-manager]="https://127.0.0.1:$KCM_PORT" [kube-scheduler]="https://127.0.0.1:$SCHED_PORT"
    [kwok]="127.0.0.1:$KWOK_PORT")
  local down=0
  for name in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$name"); then printf '%-26s %-8s %s\n' "$name" "$pid" "${addr[$name]}"
    else printf '%-26s %-8s %s\n' "$name" "-" "down (start: make cluster-up)"; down=1; fi
  done
  echo "kubeconfig: $KUBECONFIG_PATH   state: $DIR"
  return $down
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  reset) down; rm -rf "$DIR"; log "removed $DIR" ;;
  status) status ;;
  env) env_exports ;;
  *) echo "usage: $0 up|down|reset|status|env" >&2; exit 2 ;;
esac
