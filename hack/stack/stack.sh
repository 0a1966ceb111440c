#!/usr/bin/env bash
# The local stack's processes, on 127.0.0.1 only: the eight services (migrations first), the
# legacy monolith stand-in, the gateway (HAProxy programmed from the Gateway API objects by
# hack/stack/gateway.py) and Prometheus. Needs `hack/infra.sh up` and `hack/cluster.sh up`;
# hack/up.sh runs it after the operator has made the platform's Services and HTTPRoutes.
#   hack/stack/stack.sh up       start what is down (idempotent), wait until each answers
#   hack/stack/stack.sh down     stop every process it started (databases and keys are kept)
#   hack/stack/stack.sh restart NAME...   stop and start those (auth users ... legacy gateway prometheus web)
#   hack/stack/stack.sh status   what runs where
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

HOST=127.0.0.1
STACK="$MP_CACHE/stack"
LOGS="$STACK/logs"
PIDS="$STACK/pids"
VENV="$REPO_ROOT/.venv/bin"
GATEWAY_PORT=8080 GATEWAY_METRICS_PORT=18404 LEGACY_PORT=8000 PROMETHEUS_PORT=19090 WEB_PORT=8009
WEB_DIR="$REPO_ROOT/services/web"
# The operator's SERVICE_PORTS: the local processes listen where the Services say they are.
declare -A PORT=([auth]=8001 [users]=8002 [messages]=8003 [groups]=8004 [media]=8005 [relay]=8006
  [notifications]=8007 [websocket]=8008)
SERVICES=(auth users messages groups media relay notifications websocket)
DATABASE_SERVICES=(auth users messages groups media notifications)
# What each process's command line holds, so a stale pid file never names someone else's process.
declare -A CMDLINE=([legacy]=legacy_monolith.py [gateway]=hack/stack/gateway.py [prometheus]=prometheus
  [web]=web_static.py)
for s in "${SERVICES[@]}"; do CMDLINE[$s]="messaging-$s"; done
COMPONENTS=("${SERVICES[@]}" legacy gateway prometheus web)

pid_of() {
  local f="$PIDS/$1.pid" pid
  [ -s "$f" ] || return 1
  pid=$(tr -dc 0-9 <"$f")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "${CMDLINE[$1]}" \
    && echo "$pid"
}
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }
port_of() {
  case $1 in
    legacy) echo $LEGACY_PORT ;; gateway) echo $GATEWAY_PORT ;; prometheus) echo $PROMETHEUS_PORT ;;
    web) echo $WEB_PORT ;; *) echo "${PORT[$1]}" ;;
  esac
}
ready_url() {
  case $1 in
    legacy) echo "http://$HOST:$LEGACY_PORT/health" ;;
    gateway) echo "http://$HOST:$GATEWAY_METRICS_PORT/metrics" ;;
    prometheus) echo "http://$HOST:$PROMETHEUS_PORT/-/ready" ;;
    web) echo "http://$HOST:$WEB_PORT/health" ;;
    *) echo "http://$HOST:${PORT[$1]}/ready" ;;
  esac
}

# Started detached (setsid) so they outlive this script; `down` (or our Ctrl-C trap) stops them.
spawn() { # name command...
  local name=$1
  shift
  setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$PIDS/$name.pid"
  STARTED+=("$name")
}

# --- settings of every service, as their tests set them (services/<name>/.../core/config.py) ----
source_infra_env() {
  [ -f "$MP_CACHE/infra.env" ] || die "no $MP_CACHE/infra.env: run make infra-up"
  # shellcheck source=/dev/null
  source "$MP_CACHE/infra.env"
}

database_url() { echo "${MP_PG_URL%/*}/stack_$1"; }

# The version hack/stack/platform.yaml declares: the operator's analysis of a migration walk
# asks Prometheus for this version's request metrics.
STACK_VERSION="$(awk -F'"' '/^  version:/ {print $2; exit}' "$(dirname "${BASH_SOURCE[0]}")/platform.yaml")"

# websocket and relay are not ready on a Redis without an append-only file (what they acknowledge
# lives only there), unless told to accept one: we do, with a warning, when the shared Redis runs
# the fast test settings (MP_INFRA_FAST=1 hack/infra.sh up).
redis_require_aof() {
  if [ -z "${REDIS_AOF:-}" ]; then
    REDIS_AOF=$(redis-cli -u "$MP_REDIS_URL" config get appendonly 2>/dev/null | sed -n 2p)
    if [ "$REDIS_AOF" = no ]; then
      log "warning: Redis at $MP_REDIS_URL keeps no append-only file (fast test settings): websocket" \
        "and relay run with REDIS_REQUIRE_AOF=false, and what they hold does not survive a Redis" \
        "crash. For durable settings: hack/infra.sh restart redis" >&2
    fi
  fi
  if [ "$REDIS_AOF" = no ]; then echo false; else echo true; fi
}

service_env() { # name -> KEY=VALUE lines
  local s=$1
  echo "HOST=$HOST" "PORT=${PORT[$s]}" "LOG_LEVEL=INFO" "SERVICE_VERSION=${STACK_VERSION:-local}"
  echo "FORWARDED_ALLOW_IPS=$HOST" "AMQP_URL=$MP_AMQP_URL"
  # The service credential internal endpoints demand (messaging_kit.internal), made by prepare.
  [ -f "$STACK/internal-token" ] && echo "INTERNAL_TOKEN=$(cat "$STACK/internal-token")"
  echo "JWKS_URL=http://$HOST:${PORT[auth]}/.well-known/jwks.json"
  case $s in groups | media | websocket) echo "BLOCKS_URL=http://$HOST:${PORT[users]}/internal/v1/blocks" ;; esac
  case $s in
    # An avatar must be media its user uploaded: users asks media (users_service.avatars).
    users) echo "MEDIA_URL=http://$HOST:${PORT[media]}" ;;
    # Who accepted an adder as a contact: others are invited to a group, not added.
    groups) echo "CONTACTS_URL=http://$HOST:${PORT[users]}/internal/v1/contacts/accepting" ;;
    # Whose presence a viewer may see: users judges (contacts, each user's setting).
    websocket) echo "PRESENCE_AUDIENCE_URL=http://$HOST:${PORT[users]}/internal/v1/presence-audience" ;;
  esac
  [[ " ${DATABASE_SERVICES[*]} " == *" $s "* ]] && echo "DATABASE_URL=$(database_url "$s")"
  case $s in
    auth) echo "REDIS_URL=$MP_REDIS_URL" "REDIS_KEY_PREFIX=stack-auth" "SIGNING_KEYS_DIR=$STACK/auth-keys" \
      "PUBLIC_BASE_URL=http://$HOST:$GATEWAY_PORT" ;;
    # One prefix for the three: relay and notifications read the presence websocket writes.
    relay | websocket) echo "REDIS_URL=$MP_REDIS_URL" "REDIS_KEY_PREFIX=stack:" \
      "REDIS_REQUIRE_AOF=$(redis_require_aof)" ;;
    media) echo "S3_ENDPOINT_URL=$MP_S3_ENDPOINT" "S3_ACCESS_KEY=$MP_S3_ACCESS_KEY" \
      "S3_SECRET_KEY=$MP_S3_SECRET_KEY" "S3_BUCKET=stack-media" ;;
    notifications) echo "REDIS_URL=$MP_REDIS_URL" "REDIS_KEY_PREFIX=stack:" "SMTP_HOST=$MP_SMTP_HOST" "SMTP_PORT=$MP_SMTP_PORT" "SMTP_STARTTLS=off" \
      "APP_URL=http://$HOST:$GATEWAY_PORT" ;;
  esac
  return 0
}

run_service() { # name command... : the service's console script with its settings
  local s=$1
  shift
  local vars
  read -ra vars <<<"$(service_env "$s" | tr '\n' ' ')"
  env "${vars[@]}" "$VENV/messaging-$s" "$@"
}

psql_admin() { PGPASSWORD=postgres psql -h "$HOST" -p 15432 -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

prepare() {
  local s
  for s in "${DATABASE_SERVICES[@]}"; do
    if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'stack_$s'")" ]; then
      log "creating database stack_$s"
      psql_admin -c "CREATE DATABASE stack_$s" >/dev/null
    fi
  done
  if [ ! -s "$STACK/internal-token" ]; then
    mkdir -p "$STACK" && (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$STACK/internal-token")
  fi
  if [ -z "$(ls -A "$STACK/auth-keys" 2>/dev/null)" ]; then
    mkdir -p "$STACK/auth-keys" && chmod 700 "$STACK/auth-keys"
    "$VENV/messaging-auth" generate-key "$STACK/auth-keys/local-$(date +%Y%m%d).pem" >/dev/null
  fi
}

migrate() {
  local s pids=() failed=()
  log "migrating ${DATABASE_SERVICES[*]} (logs: $LOGS/<name>-migrate.log)"
  for s in "${DATABASE_SERVICES[@]}"; do
    run_service "$s" migrate >>"$LOGS/$s-migrate.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${DATABASE_SERVICES[$i]}")
  done
  ((${#failed[@]} == 0)) || die "migrations failed for ${failed[*]}; see $LOGS/<name>-migrate.log"
}

# The web client's build, remade only when its sources changed (a hash of them sits in dist/).
web_source_hash() {
  (cd "$WEB_DIR" && find app index.html package.json package-lock.json vite.config.ts tsconfig.json \
    -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}
build_web() {
  local want
  command -v npm >/dev/null || { log "npm not found: the web client is not built (install nodejs and npm)"; return 0; }
  want=$(web_source_hash)
  [ "$(cat "$WEB_DIR/dist/.source-hash" 2>/dev/null)" = "$want" ] && return 0
  [ -d "$WEB_DIR/node_modules" ] || (cd "$WEB_DIR" && npm ci --no-audit --no-fund >>"$LOGS/web-build.log" 2>&1) \
    || die "npm ci in services/web failed; see $LOGS/web-build.log"
  log "building the web client (log: $LOGS/web-build.log)"
  (cd "$WEB_DIR" && npm run build >>"$LOGS/web-build.log" 2>&1) || die "the web client's build failed; see $LOGS/web-build.log"
  echo "$want" >"$WEB_DIR/dist/.source-hash"
}

write_prometheus_config() {
  local s
  mkdir -p "$STACK/prometheus"
  {
    echo "# Generated by hack/stack/stack.sh; every target is on loopback."
    echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
    echo "scrape_configs:"
    echo "- job_name: services"
    echo "  static_configs:"
    for s in "${SERVICES[@]}"; do
      echo "  - {targets: ['$HOST:${PORT[$s]}'], labels: {service: $s}}"
    done
    echo "- job_name: legacy"
    echo "  static_configs: [{targets: ['$HOST:$LEGACY_PORT'], labels: {service: legacy}}]"
    echo "- job_name: gateway"
    echo "  static_configs: [{targets: ['$HOST:$GATEWAY_METRICS_PORT'], labels: {service: gateway}}]"
  } >"$STACK/prometheus/prometheus.yml"
}

start() { # name : start it if it is down
  local name=$1 port
  port=$(port_of "$name")
  if pid_of "$name" >/dev/null; then return 0; fi
  [ "$name" = gateway ] && stop_orphan_haproxy
  port_open "$port" && die "port $HOST:$port ($name) is taken by a process that is not ours; see: ss -ltnp 'sport = :$port'"
  case $name in
    legacy) spawn legacy "$VENV/python" -u "$REPO_ROOT/hack/stack/legacy_monolith.py" --host "$HOST" --port "$LEGACY_PORT" ;;
    gateway)
      spawn gateway "$VENV/python" -u "$REPO_ROOT/hack/stack/gateway.py" \
        --kubeconfig "$MP_CACHE/cluster/kubeconfig" --state "$STACK/gateway" ;;
    prometheus)
      write_prometheus_config
      spawn prometheus prometheus --config.file "$STACK/prometheus/prometheus.yml" \
        --storage.tsdb.path "$STACK/prometheus/data" --storage.tsdb.retention.time 2d \
        --web.listen-address "$HOST:$PROMETHEUS_PORT" ;;
    web) spawn web "$VENV/python" -u "$REPO_ROOT/hack/stack/web_static.py" --root "$WEB_DIR/dist" \
      --host "$HOST" --port "$WEB_PORT" ;;
    *) local vars; read -ra vars <<<"$(service_env "$name" | tr '\n' ' ')"
      spawn "$name" env "${vars[@]}" "$VENV/messaging-$name" serve ;;
  esac
  log "started $name on $HOST:$port (log: $LOGS/$name.log)"
}

await() { # name
  local name=$1 url deadline=$((SECONDS + ${MP_STACK_TIMEOUT:-90}))
  url=$(ready_url "$name")
  until curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null; do
    if ! pid_of "$name" >/dev/null; then
      tail -n 15 "$LOGS/$name.log" >&2 || true
      die "$name exited while starting (last lines of $LOGS/$name.log above)"
    fi
    if ((SECONDS > deadline)); then
      tail -n 15 "$LOGS/$name.log" >&2 || true
      die "$name did not answer $url within ${MP_STACK_TIMEOUT:-90}s (log: $LOGS/$name.log)"
    fi
    sleep 0.3
  done
}

stop() { # name
  local name=$1 pid
  pid=$(pid_of "$name") || { rm -f "$PIDS/$name.pid"; return 0; }
  log "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDS/$name.pid"
}

# The gateway runs HAProxy as its child; if the gateway was killed hard, HAProxy is an orphan.
stop_orphan_haproxy() {
  local f="$STACK/gateway/haproxy.pid" pid
  [ -s "$f" ] || return 0
  for pid in $(tr -c '0-9\n' ' ' <"$f"); do
    if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q "$STACK/gateway/haproxy.cfg"; then
      log "stopping HAProxy left behind (pid $pid)"
      kill "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$f"
}

cmd_down() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop "${COMPONENTS[i]}"; done
  stop_orphan_haproxy
}

interrupted() {
  local name
  log "interrupted: stopping what this run started"
  for name in "${STARTED[@]}"; do stop "$name"; done
  stop_orphan_haproxy
  exit 130
}

cmd_up() {
  local t0=$SECONDS s
  mkdir -p "$LOGS" "$PIDS" "$STACK/gateway"
  STARTED=()
  # Ctrl-C while starting: stop what this run started, nothing else.
  trap interrupted INT TERM
  need_apt haproxy prometheus
  source_infra_env
  build_web
  local down=()
  for s in "${COMPONENTS[@]}"; do pid_of "$s" >/dev/null || down+=("$s"); done
  if ((${#down[@]} == 0)); then
    trap - INT TERM
    log "stack already running (hack/stack/stack.sh status)"
    return 0
  fi
  prepare
  # Migrations are idempotent; they run whenever a service is about to start.
  migrate
  start auth
  await auth # the others fetch its JWKS
  for s in "${SERVICES[@]}" legacy gateway prometheus web; do start "$s"; done
  for s in "${SERVICES[@]}" legacy gateway prometheus web; do await "$s"; done
  trap - INT TERM
  log "stack up in $((SECONDS - t0))s"
}

cmd_status() {
  local name pid rc=0
  printf '%-14s %-8s %s\n' PROCESS PID ADDRESS
  for name in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$name"); then
      printf '%-14s %-8s %s\n' "$name" "$pid" "http://$HOST:$(port_of "$name")"
    else
      printf '%-14s %-8s %s\n' "$name" - "down (start: make up)"
      rc=1
    fi
  done
  return $rc
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  restart)
    shift
    mkdir -p "$LOGS" "$PIDS" "$STACK/gateway"
    source_infra_env
    STARTED=()
    for name in "$@"; do
      [ -n "${CMDLINE[$name]:-}" ] || die "unknown process '$name' (${COMPONENTS[*]})"
      stop "$name"
      [ "$name" = gateway ] && stop_orphan_haproxy
      start "$name"
      await "$name"
    done ;;
  *) echo "usage: $0 up|down|status|restart NAME..." >&2; exit 2 ;;
esac
