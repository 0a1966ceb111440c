#!/usr/bin/env bash
# A real node beside the kwok ones, the way Kubernetes' hack/local-up-cluster.sh runs one: kubelet
# and kube-proxy (the control plane's k8s.io/kubernetes), containerd v2 and runc (Go modules),
# Debian's CNI plugins, a pause image compiled from the kubernetes module's pause.c, CoreDNS, and
# rancher's local-path provisioner (StorageClass local-path: volumes under the node's folder).
# Pods never pull: the platform's images (hack/images.sh) are imported into containerd.
#
# Network (hard rule: nothing leaves the machine): pods get 198.18.0.0/24 on the bridge mpbr0 with
# no default route (only the Service range, via the bridge); the host routes 198.19.0.0/16
# (Services) onto the bridge too, and hack/cluster.sh blackholes 198.18.0.0/15 for everything else;
# a FORWARD rule drops whatever a pod sends outside those ranges. CoreDNS answers cluster names
# only. Pods reach the API server at 198.18.0.1:16443, forwarded to its loopback port.
#
# Placement: the node is tainted messaging.platform.dev/real-node:NoSchedule and labelled
# messaging.platform.dev/node=real; `hack/node.sh namespace NS` annotates a namespace so that its
# pods get the toleration and that node selector (admission plugins PodTolerationRestriction and
# PodNodeSelector). Every other namespace keeps scheduling onto the kwok nodes, as before.
#
#   hack/node.sh up           start (idempotent; needs hack/cluster.sh up) and import the images
#   hack/node.sh images       import the images that changed since the last import
#   hack/node.sh import REF.. import these images from the podman store (e.g. a new tag)
#   hack/node.sh namespace NS create NS for the real node (or annotate it)
#   hack/node.sh down         stop every pod and agent, remove the bridge and rules (state kept)
#   hack/node.sh status       what runs where
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

DIR="$MP_CACHE/node"
RUN=/run/mp-node
LOGS="$DIR/logs"
CLUSTER="$MP_CACHE/cluster"
PKI="$CLUSTER/pki"
NODE_NAME=mp-node
BRIDGE=mpbr0
HOST_IP=198.18.0.1 POD_CIDR=198.18.0.0/24 SERVICE_CIDR=198.19.0.0/16 CLUSTER_RANGES=198.18.0.0/15
API_PORT=16443
CNI_BIN=/usr/lib/cni
PAUSE_IMAGE=localhost/messaging-platform/pause:3.10.2
# The local-path provisioner's helper pods (mkdir, rm -rf): the Debian base of every image.
HELPER_IMAGE=localhost/messaging-platform/node-helper:bookworm
TAINT=messaging.platform.dev/real-node
NODE_LABEL=messaging.platform.dev/node=real
COMPONENTS=(api-forward containerd coredns kubelet kube-proxy local-path)
FIREWALL_CHAIN=MP-NODE-FORWARD

pid_of() { local f="$DIR/$1.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }

bins() {
  local b
  NODE_BIN=$("$REPO_ROOT/hack/tools/build.sh" --path node)
  CONTAINERD_BIN=$("$REPO_ROOT/hack/tools/build.sh" --path containerd)
  RUNC_BIN=$("$REPO_ROOT/hack/tools/build.sh" --path runc)
  COREDNS_BIN=$("$REPO_ROOT/hack/tools/build.sh" --path coredns)
  LOCAL_PATH_BIN=$("$REPO_ROOT/hack/tools/build.sh" --path local-path)
  KUBECTL="$("$REPO_ROOT/hack/tools/build.sh" --path kube)/kubectl"
  for b in "$NODE_BIN/kubelet" "$CONTAINERD_BIN/containerd" "$RUNC_BIN/runc" "$COREDNS_BIN/coredns"; do
    [ -x "$b" ] || die "missing $b (hack/tools/build.sh --node)"
  done
}
k() { "$KUBECTL" --kubeconfig "$CLUSTER/kubeconfig" "$@"; }
ctr_() { "$CONTAINERD_BIN/ctr" --address "$RUN/containerd/containerd.sock" --namespace k8s.io "$@"; }

render() { # template -> stdout, with the @NAME@ placeholders filled
  sed -e "s|@DIR@|$DIR|g" -e "s|@RUN@|$RUN|g" -e "s|@PAUSE_IMAGE@|$PAUSE_IMAGE|g" \
    -e "s|@RUNC@|$RUNC_BIN/runc|g" -e "s|@CNI_BIN@|$CNI_BIN|g" -e "s|@BRIDGE@|$BRIDGE|g" \
    -e "s|@POD_CIDR@|$POD_CIDR|g" -e "s|@HOST_IP@|$HOST_IP|g" -e "s|@SERVICE_CIDR@|$SERVICE_CIDR|g" \
    -e "s|@PKI@|$PKI|g" -e "s|@CLUSTER@|$CLUSTER|g" -e "s|@HELPER_IMAGE@|$HELPER_IMAGE|g" \
    "$REPO_ROOT/hack/node/$1"
}

start() { # name command...
  local name=$1
  shift
  if pid_of "$name" >/dev/null; then return 0; fi
  log "starting $name (log: $LOGS/$name.log)"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
}

# --- network: the bridge, its routes and the rule that keeps pods on it ------------------------
network_up() {
  [ -d /proc/sys/net/bridge ] || die "no /proc/sys/net/bridge: this kernel lacks br_netfilter, which Services between pods on one bridge need"
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$HOST_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  ip route replace "$SERVICE_CIDR" dev "$BRIDGE" src "$HOST_IP"
  # Replies from a pod to a pod that reached it through a Service cross the bridge, not the host's
  # routing: without this, conntrack never sees them and the Service's DNAT is never undone.
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1
  iptables -N "$FIREWALL_CHAIN" 2>/dev/null || iptables -F "$FIREWALL_CHAIN"
  iptables -A "$FIREWALL_CHAIN" -i "$BRIDGE" -d "$CLUSTER_RANGES" -j RETURN
  iptables -A "$FIREWALL_CHAIN" -i "$BRIDGE" -m comment --comment "pods never leave the machine" -j DROP
  iptables -C FORWARD -j "$FIREWALL_CHAIN" 2>/dev/null || iptables -I FORWARD 1 -j "$FIREWALL_CHAIN"
}

network_down() {
  iptables -D FORWARD -j "$FIREWALL_CHAIN" 2>/dev/null || true
  iptables -F "$FIREWALL_CHAIN" 2>/dev/null && iptables -X "$FIREWALL_CHAIN" 2>/dev/null || true
  ip route del "$SERVICE_CIDR" dev "$BRIDGE" 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
}

# --- the pause image: pause.c from the pinned kubernetes module, static, FROM scratch ------------
pause_image() {
  local src out
  if podman image exists "$PAUSE_IMAGE" 2>/dev/null; then return 0; fi
  need_apt gcc libc6-dev
  src=$(cd "$REPO_ROOT/hack/tools/node" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
  [ -f "$src" ] || die "pause.c not found at $src"
  out=$(mktemp -d)
  log "building $PAUSE_IMAGE from $src"
  gcc -Os -Wall -Werror -static -DVERSION=v3.10.2-messaging -o "$out/pause" "$src"
  local c
  c=$(buildah from scratch)
  buildah copy --quiet "$c" "$out/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
  buildah commit --quiet "$c" "$PAUSE_IMAGE" >/dev/null
  buildah rm "$c" >/dev/null
  rm -rf "$out"
}

helper_image() {
  local base
  base=$("$REPO_ROOT/hack/images/bases.sh" --list | sed -n 's/^DEBIAN_IMAGE=//p')
  if [ -z "$base" ] || ! podman image exists "$base"; then die "no Debian base image: run make images"; fi
  podman tag "$base" "$HELPER_IMAGE"
}

# --- images: import what changed (by image id) into containerd's k8s.io namespace --------------
import_images() { # [REF...] (default: every image of hack/images.sh, the pause and helper images)
  local refs ref id want archive imported=0
  if (($#)); then
    refs=("$@")
  else
    mapfile -t refs < <("$REPO_ROOT/hack/images.sh" list)
    refs+=("$PAUSE_IMAGE" "$HELPER_IMAGE")
  fi
  mkdir -p "$DIR/imported"
  archive=$(mktemp --suffix .tar)
  for ref in "${refs[@]}"; do
    id=$(podman image inspect --format '{{.Id}}' "$ref" 2>/dev/null) \
      || die "image $ref is not built: run make images"
    want="$DIR/imported/$(echo "$ref" | tr '/:' '__')"
    if [ "$(cat "$want" 2>/dev/null)" = "$id" ] && ctr_ images check "name==$ref" 2>/dev/null | grep -q complete; then
      continue
    fi
    log "importing $ref into the node's containerd"
    podman save --quiet --format oci-archive --output "$archive" "$ref"
    # The archive's index names the image (org.opencontainers.image.ref.name): ctr keeps it.
    ctr_ images import --snapshotter overlayfs "$archive" >"$DIR/import.log" 2>&1 \
      || die "ctr images import of $ref failed: $(grep -v DEPRECATION "$DIR/import.log")"
    echo "$id" >"$want"
    imported=$((imported + 1))
  done
  rm -f "$archive"
  log "images: ${#refs[@]} on the node ($imported imported now)"
}

# --- the agents --------------------------------------------------------------------------------
up() {
  [ "$(id -u)" = 0 ] || die "the real node needs root (network namespaces, cgroups, mounts)"
  need_apt socat conntrack containernetworking-plugins libseccomp2
  [ -f "$CLUSTER/kubelet.kubeconfig" ] || die "no $CLUSTER/kubelet.kubeconfig: run hack/cluster.sh up first"
  bins
  k get --raw /readyz >/dev/null 2>&1 || die "the kube-apiserver does not answer: run hack/cluster.sh up"
  mkdir -p "$DIR" "$LOGS" "$RUN" "$DIR/cni"
  network_up
  render containerd.toml >"$DIR/containerd.toml"
  mkdir -p "$DIR/registries/_default"
  printf '# Every registry: a closed loopback port (see containerd.toml).\nserver = "http://127.0.0.1:1"\n' \
    >"$DIR/registries/_default/hosts.toml"
  render cni.conflist >"$DIR/cni/10-mp-pods.conflist"
  render kubelet.yaml >"$DIR/kubelet.yaml"
  render Corefile >"$DIR/Corefile"
  render local-path-config.json >"$DIR/local-path-config.json"
  render local-path-helper.yaml >"$DIR/local-path-helper.yaml"
  mkdir -p "$DIR/volumes"
  # Pods' resolv.conf comes from clusterDNS; this is what hostNetwork pods would inherit.
  echo "nameserver $HOST_IP" >"$DIR/resolv.conf"

  start api-forward socat "TCP-LISTEN:$API_PORT,bind=$HOST_IP,reuseaddr,fork" "TCP:127.0.0.1:$API_PORT"
  start containerd env PATH="$CONTAINERD_BIN:$PATH" "$CONTAINERD_BIN/containerd" --config "$DIR/containerd.toml"
  wait_for containerd 30 "See $LOGS/containerd.log." -- ctr_ version
  pause_image
  helper_image
  import_images

  k apply --server-side -f "$REPO_ROOT/hack/node/coredns-rbac.yaml" >/dev/null
  start coredns "$COREDNS_BIN/coredns" -conf "$DIR/Corefile"
  start kubelet "$NODE_BIN/kubelet" --config "$DIR/kubelet.yaml" --kubeconfig "$CLUSTER/kubelet.kubeconfig" \
    --root-dir "$DIR/kubelet" --cert-dir "$DIR/kubelet-pki" --hostname-override "$NODE_NAME" \
    --node-ip "$HOST_IP" --node-labels "$NODE_LABEL" --register-with-taints "$TAINT=true:NoSchedule" --v 1
  start kube-proxy "$NODE_BIN/kube-proxy" --kubeconfig "$CLUSTER/kube-proxy.kubeconfig" \
    --hostname-override "$NODE_NAME" --proxy-mode iptables --cluster-cidr "$POD_CIDR" \
    --nodeport-addresses "$HOST_IP/32" --conntrack-max-per-core 0 \
    --metrics-bind-address 127.0.0.1:16249 --healthz-bind-address 127.0.0.1:16256 --v 1
  wait_for "node $NODE_NAME" 90 "See $LOGS/kubelet.log." -- \
    k wait node "$NODE_NAME" --for=condition=Ready --timeout=1s
  wait_for kube-proxy 30 "See $LOGS/kube-proxy.log." -- curl -fs http://127.0.0.1:16256/healthz
  k apply --server-side -f "$REPO_ROOT/hack/node/local-path.yaml" >/dev/null
  # The admin identity, as kwok has: it creates PVs, helper pods and events across namespaces.
  start local-path "$LOCAL_PATH_BIN/local-path-provisioner" --debug start \
    --kubeconfig "$CLUSTER/kubeconfig" --namespace local-path-storage \
    --config "$DIR/local-path-config.json" --helper-pod-file "$DIR/local-path-helper.yaml" \
    --helper-image "$HELPER_IMAGE" --service-account-name local-path-helper \
    --configmap-name local-path-config --provisioner-name rancher.io/local-path
  log "real node $NODE_NAME Ready: pods on $POD_CIDR over $BRIDGE, Services $SERVICE_CIDR, DNS $HOST_IP"
  log "run pods there with: hack/node.sh namespace NS"
}

namespace() {
  local ns=${1:?usage: hack/node.sh namespace NAME}
  bins
  k create namespace "$ns" --dry-run=client -o yaml | k apply --server-side -f - >/dev/null
  k annotate --overwrite namespace "$ns" \
    "scheduler.alpha.kubernetes.io/node-selector=$NODE_LABEL" \
    "scheduler.alpha.kubernetes.io/defaultTolerations=[{\"key\":\"$TAINT\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]" >/dev/null
}

stop_pid() {
  local name=$1 pid
  if pid=$(pid_of "$name"); then terminate "$name" "$pid"; fi
  rm -f "$DIR/$name.pid"
}

down() {
  bins
  stop_pid local-path
  stop_pid kube-proxy
  stop_pid kubelet
  # The kubelet leaves its pods running; containerd's shims outlive containerd: stop them all.
  if pid_of containerd >/dev/null; then
    local task
    for task in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s KILL "$task" >/dev/null 2>&1 || true; done
    sleep 1
  fi
  stop_pid containerd
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $RUN/containerd/containerd.sock" 2>/dev/null || true
  stop_pid coredns
  stop_pid api-forward
  "$NODE_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  # The kubelet bind-mounts its root and every pod's volumes; the sandboxes keep netns mounts.
  awk -v d="$DIR/" -v r="$RUN/" 'index($2, d) == 1 || index($2, r) == 1 {print $2}' /proc/mounts \
    | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  network_down
}

status() {
  local name pid down=0
  printf '%-12s %-8s %s\n' COMPONENT PID LOG
  for name in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$name"); then printf '%-12s %-8s %s\n' "$name" "$pid" "$LOGS/$name.log"
    else printf '%-12s %-8s %s\n' "$name" - "down (start: hack/node.sh up)"; down=1; fi
  done
  return $down
}

case "${1:-}" in
  up) up ;;
  images) bins && import_images ;;
  import) shift && bins && import_images "$@" ;;
  namespace) namespace "${2:-}" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|images|import REF...|namespace NS|down|status" >&2; exit 2 ;;
esac
