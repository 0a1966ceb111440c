#!/usr/bin/env bash
# Local infrastructure for tests and `make up`: PostgreSQL 15, Redis, RabbitMQ (Debian packages),
# MinIO (built from its Go module by hack/tools/build.sh) and an SMTP sink (hack/infra/smtp_sink.py),
# all on 127.0.0.1 with non-default ports, run as plain processes (no systemd here). Data, logs and
# pid files live under $MP_CACHE/infra (PostgreSQL's data: see pg_paths), never in the repo.
#   hack/infra.sh up [SERVICE...]    install what is missing, start what is down, wait until ready
#   hack/infra.sh down [SERVICE...]  stop what runs (data kept)
#     SERVICE: postgres redis rabbitmq minio smtp (default: all)
#   hack/infra.sh restart [SERVICE...]  down, then up (applies changed settings; others using the
#                                     server lose their connections)
#   hack/infra.sh status   table of what runs where, with each store's settings (durable | fast)
#   hack/infra.sh env      shell exports of the connection settings (also in $MP_CACHE/infra.env)
#   hack/infra.sh psql|redis-cli|rabbitmqctl [ARGS...]   that client, pointed at our server
#
# Settings: durable by default (PostgreSQL fsync and synchronous_commit on, Redis append-only file
# fsynced every second), so what a service acknowledged survives a crash of the store.
# MP_INFRA_FAST=1 asks for the fast, non-durable settings instead (PostgreSQL fsync,
# synchronous_commit and full_page_writes off; Redis with no append-only file, a snapshot at most
# every 60 s): for throwaway test data only (hack/test.sh and .ci/run use them). A server that already runs keeps its settings: `up` says
# when they differ from the ones asked for, and `restart` applies them.
# Ports: MP_PG_PORT, MP_REDIS_PORT, MP_AMQP_PORT, MP_S3_PORT, MP_SMTP_PORT (and MP_RMQ_DIST_PORT,
# MP_RMQ_EPMD_PORT, MP_S3_CONSOLE_PORT; MP_RMQ_NODE_SUFFIX names the RabbitMQ node apart) move a
# server; with another MP_CACHE that is a private set of servers beside the shared one.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

INFRA="$MP_CACHE/infra"
ENV_FILE="$MP_CACHE/infra.env"
HOST=127.0.0.1

PG_PORT=${MP_PG_PORT:-15432}
PG_BIN=/usr/lib/postgresql/15/bin
REDIS_PORT=${MP_REDIS_PORT:-16379}
AMQP_PORT=${MP_AMQP_PORT:-15673}
# Erlang distribution for our node and a private epmd, so a distro RabbitMQ (5672/25672/4369)
# on the same machine never sees or clashes with ours.
RMQ_DIST_PORT=${MP_RMQ_DIST_PORT:-15674}
RMQ_EPMD_PORT=${MP_RMQ_EPMD_PORT:-15675}
RMQ_NODE=messaging-platform${MP_RMQ_NODE_SUFFIX:-}@localhost
RMQ_SBIN=/usr/lib/rabbitmq/bin
S3_PORT=${MP_S3_PORT:-19000}
S3_CONSOLE_PORT=${MP_S3_CONSOLE_PORT:-19001}
S3_ACCESS_KEY=platform
S3_SECRET_KEY=platform-secret
SMTP_PORT=${MP_SMTP_PORT:-11025}
SMTP_MAILDIR="$MP_CACHE/smtp"

SERVICES=(postgres redis rabbitmq minio smtp)

# The settings profile asked for: durable (default) or fast (MP_INFRA_FAST=1, tests only).
if [ "${MP_INFRA_FAST:-0}" = 1 ]; then PROFILE=fast; else PROFILE=durable; fi
declare -A PROFILE_TEXT=(
  [postgres:durable]="fsync=on, synchronous_commit=on, full_page_writes=on"
  [postgres:fast]="fsync=off, synchronous_commit=off, full_page_writes=off"
  [redis:durable]="appendonly yes, appendfsync everysec"
  [redis:fast]="appendonly no, a snapshot at most every 60 s"
)

# ---------------------------------------------------------------------------------------------
# small helpers

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }
pid_from() { [ -s "$1" ] && head -n1 "$1" | tr -dc 0-9; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# A pid file can outlive its process (reboot, kill -9) and the pid be reused: check what runs.
declare -A CMDLINE=([postgres]=postgres [redis]=redis-server [rabbitmq]='beam|rabbitmq'
  [minio]=minio [smtp]=smtp_sink)
ours() { alive "$2" && tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null | grep -Eq "${CMDLINE[$1]}"; }

# Starts a long-running command detached from our session (so Ctrl-C or a CI step ending does not
# take it down), output to LOG, and prints its pid. 9>&- : the server must not inherit our lock.
spawn() {
  local log=$1
  shift
  setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
  echo $!
}

# ---------------------------------------------------------------------------------------------
# per service: <svc>_pid, <svc>_addr, <svc>_data, <svc>_log, <svc>_ready, <svc>_start, <svc>_stop

# PostgreSQL refuses to run as root. As root we run it as the `postgres` system user (created by
# the Debian package), and that user cannot traverse /root (mode 700), where $MP_CACHE usually is:
# so its data lives in postgres' own home and $INFRA/postgres is a symlink to it. As any other user
# we run it as ourselves, fully under $MP_CACHE.
pg_paths() {
  if [ "$(id -u)" = 0 ]; then
    PG_DIR="$(getent passwd postgres | cut -d: -f6)/messaging-platform"
    # Another MP_CACHE (a private set of servers) gets a data folder of its own.
    if [ "$MP_CACHE" != "${XDG_CACHE_HOME:-$HOME/.cache}/messaging-platform" ]; then
      PG_DIR="$PG_DIR-$(printf %s "$MP_CACHE" | sha1sum | cut -c1-10)"
    fi
  else
    PG_DIR="$INFRA/postgres"
  fi
  PGDATA="$PG_DIR/data"
}
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
postgres_pid() { pg_paths; as_pg cat "$PGDATA/postmaster.pid" 2>/dev/null | head -n1 | tr -dc 0-9; }
postgres_addr() { echo "$HOST:$PG_PORT"; }
postgres_data() { pg_paths; echo "$PGDATA"; }
postgres_log() { pg_paths; echo "$PG_DIR/postgres.log"; }
postgres_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U postgres; }
postgres_start() {
  pg_paths
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PG_DIR" && chown postgres: "$PG_DIR"
    ln -sfn "$PG_DIR" "$INFRA/postgres"
  fi
  as_pg mkdir -p "$PG_DIR/run"
  as_pg touch "$(postgres_log)"
  if ! as_pg test -f "$PGDATA/PG_VERSION"; then
    log "postgres: initdb $PGDATA (superuser postgres/postgres)"
    local pw
    pw=$(as_pg mktemp "$PG_DIR/pw.XXXXXX")
    echo postgres | as_pg tee "$pw" >/dev/null
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pw" --auth-local=trust \
      --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >>"$(postgres_log)" 2>&1 \
      || { as_pg rm -f "$pw"; die "postgres: initdb failed; see $(postgres_log)"; }
    as_pg rm -f "$pw"
    echo "include_if_exists = 'messaging-platform.conf'" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
  fi
  # Rewritten on every start so a changed setting here applies after `restart`.
  local durability=on
  [ "$PROFILE" = fast ] && durability=off
  log "postgres: ${PROFILE} settings (${PROFILE_TEXT[postgres:$PROFILE]})"
  as_pg tee "$PGDATA/messaging-platform.conf" >/dev/null <<EOF
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_DIR/run'
max_connections = 300
# $PROFILE settings (hack/infra.sh; MP_INFRA_FAST=1 turns these off for throwaway test data)
fsync = $durability
synchronous_commit = $durability
full_page_writes = $durability
EOF
  # pg_ctl daemonizes postgres itself; setsid keeps it out of our process group.
  as_pg setsid "$PG_BIN/pg_ctl" start -D "$PGDATA" -l "$(postgres_log)" -W -s </dev/null 9>&- \
    || die "postgres: pg_ctl start failed; see $(postgres_log)"
  # pg_ctl -W returns before the postmaster wrote its pid file; until it has, `await` would take
  # the server for one that exited (seen after an immediate stop, when recovery runs first).
  local i
  for i in $(seq 50); do
    [ -n "$(postgres_pid)" ] && break
    sleep 0.1
  done
}
postgres_stop() {
  pg_paths
  as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 -s
}

redis_dir() { echo "$INFRA/redis"; }
redis_pid() { pid_from "$(redis_dir)/redis.pid"; }
redis_addr() { echo "$HOST:$REDIS_PORT"; }
redis_data() { echo "$(redis_dir)/data"; }
redis_log() { echo "$(redis_dir)/redis.log"; }
redis_ready() { [ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_start() {
  local d
  d=$(redis_dir)
  mkdir -p "$d/data"
  cat >"$d/redis.conf" <<EOF
bind $HOST
port $REDIS_PORT
daemonize no
pidfile $d/redis.pid
logfile $(redis_log)
dir $d/data
EOF
  log "redis: ${PROFILE} settings (${PROFILE_TEXT[redis:$PROFILE]})"
  if [ "$PROFILE" = fast ]; then
    printf '%s\n' 'save 60 1000' 'appendonly no' >>"$d/redis.conf"
  else
    # Every write reaches the append-only file before its reply (a killed server loses nothing),
    # fsynced every second (a machine crash loses at most the last second).
    local aof=yes
    # Data from the fast settings (a snapshot, no append-only file yet): Redis started with
    # appendonly yes would ignore the snapshot and come up empty. So it starts from the
    # snapshot and switches the file on once up (redis_ready_hook), which writes the data to it.
    # An append-only file left from an earlier durable run is older than that snapshot: drop it.
    if [ -s "$d/data/dump.rdb" ] && [ "$(cat "$d/profile" 2>/dev/null)" != durable ]; then
      rm -rf "$d/data/appendonlydir"
      aof=no
      touch "$d/switch-on-aof"
    fi
    printf '%s\n' 'save ""' "appendonly $aof" 'appendfsync everysec' \
      'aof-use-rdb-preamble yes' >>"$d/redis.conf"
  fi
  echo "$PROFILE" >"$d/profile"
  spawn "$(redis_log)" redis-server "$d/redis.conf" >"$d/redis.pid"
}
redis_ready_hook() {
  local d i
  d=$(redis_dir)
  [ -f "$d/switch-on-aof" ] || return 0
  log "redis: writing the snapshot's data to a new append-only file"
  redis-cli -h "$HOST" -p "$REDIS_PORT" config set appendonly yes >/dev/null
  for i in $(seq 600); do
    redis-cli -h "$HOST" -p "$REDIS_PORT" info persistence | grep -q '^aof_rewrite_in_progress:0' \
      && [ -d "$d/data/appendonlydir" ] && break
    sleep 0.1
  done
  rm -f "$d/switch-on-aof"
}
# Redis refuses to shut down while it writes its first append-only file (appendonly switched on
# live): ask again until it has, rather than leave it running. SAVE writes a snapshot even with
# the durable settings (no snapshots of their own), so the fast settings start from the data too.
redis_stop() {
  local out i
  for i in $(seq 100); do
    out=$(redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown save 2>&1) || break
    [[ $out == *"Errors trying to SHUTDOWN"* ]] || return 0
    sleep 0.3
  done
  kill "$(redis_pid)"
}

rmq_dir() { echo "$INFRA/rabbitmq"; }
# Everything RabbitMQ and its CLI read comes from here, never from /etc/rabbitmq or ~/.erlang.cookie:
# HOME points the Erlang cookie lookup at our own cookie file.
rmq_env() {
  local d
  d=$(rmq_dir)
  export HOME="$d" RABBITMQ_NODENAME="$RMQ_NODE" RABBITMQ_NODE_IP_ADDRESS="$HOST" \
    RABBITMQ_NODE_PORT="$AMQP_PORT" RABBITMQ_DIST_PORT="$RMQ_DIST_PORT" \
    ERL_EPMD_PORT="$RMQ_EPMD_PORT" ERL_EPMD_ADDRESS="$HOST" \
    RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" RABBITMQ_MNESIA_BASE="$d/mnesia" \
    RABBITMQ_LOG_BASE="$d/log" RABBITMQ_LOGS="$d/log/rabbit.log" RABBITMQ_PID_FILE="$d/rabbit.pid" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}
# The node (beam) writes rabbit.pid early in its boot; before that, the launcher script is what runs.
rabbitmq_pid() {
  local pid
  pid=$(pid_from "$(rmq_dir)/rabbit.pid")
  alive "$pid" || pid=$(pid_from "$(rmq_dir)/launcher.pid")
  echo "$pid"
}
rabbitmq_addr() { echo "$HOST:$AMQP_PORT"; }
rabbitmq_data() { echo "$(rmq_dir)/mnesia"; }
rabbitmq_log() { echo "$(rmq_dir)/log/rabbit.log"; }
# The AMQP listener opens only at the end of boot, after the default user exists.
rabbitmq_ready() { port_open "$AMQP_PORT"; }
rabbitmq_start() {
  local d
  d=$(rmq_dir)
  mkdir -p "$d/log" "$d/mnesia"
  if [ ! -s "$d/.erlang.cookie" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9 >"$d/.erlang.cookie")
  fi
  chmod 400 "$d/.erlang.cookie"
  : >"$d/rabbitmq-env.conf"
  echo '[].' >"$d/enabled_plugins"
  echo '[].' >"$d/advanced.config"
  # The default_* settings create user platform (administrator, full permissions on /) when the
  # node boots with an empty database, i.e. on the first `up`.
  cat >"$d/rabbitmq.conf" <<EOF
listeners.tcp.1 = $HOST:$AMQP_PORT
default_vhost = /
default_user = platform
default_pass = platform
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users = none
log.file.level = info
log.console = false
EOF
  rm -f "$d/rabbit.pid"
  (rmq_env && spawn "$d/log/stdout.log" "$RMQ_SBIN/rabbitmq-server" >"$d/launcher.pid")
}
rabbitmq_stop() {
  local pid
  pid=$(pid_from "$(rmq_dir)/rabbit.pid")
  # SIGTERM makes the node stop gracefully (as `rabbitmqctl stop` would, without its 2 s CLI boot).
  ours rabbitmq "$pid" && kill "$pid"
  local deadline=$((SECONDS + 60))
  while ours rabbitmq "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if ours rabbitmq "$pid"; then log "rabbitmq: still running after 60s, killing $pid"; kill -9 "$pid"; fi
  # Our private epmd; -kill only succeeds when no node is registered with it.
  (rmq_env && epmd -port "$RMQ_EPMD_PORT" -kill >/dev/null 2>&1) || true
}

minio_dir() { echo "$INFRA/minio"; }
minio_pid() { pid_from "$(minio_dir)/minio.pid"; }
minio_addr() { echo "$HOST:$S3_PORT"; }
minio_data() { echo "$(minio_dir)/data"; }
minio_log() { echo "$(minio_dir)/minio.log"; }
minio_ready() { curl -fsS -o /dev/null "http://$HOST:$S3_PORT/minio/health/ready"; }
minio_start() {
  local d bin
  d=$(minio_dir)
  mkdir -p "$d/data" "$d/certs"
  bin="$("$REPO_ROOT/hack/tools/build.sh" --path minio)/minio"
  [ -x "$bin" ] || die "minio: $bin missing after hack/tools/build.sh minio"
  MINIO_ROOT_USER=$S3_ACCESS_KEY MINIO_ROOT_PASSWORD=$S3_SECRET_KEY MINIO_BROWSER=off \
    MINIO_UPDATE=off spawn "$(minio_log)" "$bin" server --quiet --anonymous \
    --address "$HOST:$S3_PORT" --console-address "$HOST:$S3_CONSOLE_PORT" \
    --certs-dir "$d/certs" "$d/data" >"$d/minio.pid"
}
minio_stop() { kill "$(minio_pid)"; }

smtp_dir() { echo "$INFRA/smtp-sink"; }
smtp_pid() { pid_from "$(smtp_dir)/smtp-sink.pid"; }
smtp_addr() { echo "$HOST:$SMTP_PORT"; }
smtp_data() { echo "$SMTP_MAILDIR"; }
smtp_log() { echo "$(smtp_dir)/smtp-sink.log"; }
smtp_ready() {
  local banner
  banner=$(timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$SMTP_PORT && head -n1 <&3 && printf 'QUIT\r\n' >&3") \
    && [[ $banner == 220* ]]
}
smtp_start() {
  local d py="$REPO_ROOT/.venv/bin/python"
  d=$(smtp_dir)
  mkdir -p "$d" "$SMTP_MAILDIR"
  "$py" -c 'import aiosmtpd' 2>/dev/null \
    || die "smtp: $py cannot import aiosmtpd; run \`make setup\` (uv sync) first"
  spawn "$(smtp_log)" "$py" -u "$REPO_ROOT/hack/infra/smtp_sink.py" --host "$HOST" \
    --port "$SMTP_PORT" --maildir "$SMTP_MAILDIR" >"$d/smtp-sink.pid"
}
smtp_stop() { kill "$(smtp_pid)"; }

# ---------------------------------------------------------------------------------------------
# settings of a running store, asked of the server itself: durable | fast | mixed | ? (no answer)

postgres_profile() {
  local v
  v=$(PGPASSWORD=postgres PGCONNECT_TIMEOUT=2 psql -h "$HOST" -p "$PG_PORT" -U postgres -Atq \
    -c "SELECT current_setting('fsync') || ',' || current_setting('synchronous_commit')" \
    2>/dev/null) || { echo '?'; return; }
  case $v in on,on) echo durable ;; off,off) echo fast ;; *) echo mixed ;; esac
}
redis_profile() {
  local aof fsync
  aof=$({ redis-cli -h "$HOST" -p "$REDIS_PORT" config get appendonly 2>/dev/null || true; } |
    sed -n 2p)
  fsync=$({ redis-cli -h "$HOST" -p "$REDIS_PORT" config get appendfsync 2>/dev/null || true; } |
    sed -n 2p)
  case $aof:$fsync in
    yes:everysec | yes:always) echo durable ;; no:*) echo fast ;; :) echo '?' ;; *) echo mixed ;;
  esac
}
has_profile() { [[ $1 == postgres || $1 == redis ]]; }

# Says so when a running store's settings are not the ones asked for. It keeps them: restarting a
# server others may be using is for whoever asks for it.
check_profile() {
  local s=$1 now
  has_profile "$s" || return 0
  now=$("${s}_profile")
  [ "$now" = "$PROFILE" ] && return 0
  local how="hack/infra.sh restart $s"
  [ "$PROFILE" = fast ] && how="MP_INFRA_FAST=1 $how"
  log "${LABEL[$s]} on $("${s}_addr") runs with ${now} settings, not the ${PROFILE} ones asked for" \
    "(${PROFILE_TEXT[$s:$PROFILE]}); it keeps them until restarted: $how" \
    "(its clients lose their connections meanwhile)"
}

# ---------------------------------------------------------------------------------------------

svc_port() {
  case $1 in
    postgres) echo $PG_PORT ;; redis) echo $REDIS_PORT ;; rabbitmq) echo $AMQP_PORT ;;
    minio) echo $S3_PORT ;; smtp) echo $SMTP_PORT ;;
  esac
}

# running | starting (our pid alive, port not yet answering) | down | foreign (port taken by
# something that is not ours)
svc_state() {
  local s=$1 pid
  pid=$("${s}_pid" 2>/dev/null || true)
  if ours "$s" "$pid"; then
    if port_open "$(svc_port "$s")"; then echo running; else echo starting; fi
  elif port_open "$(svc_port "$s")"; then
    echo foreign
  else
    echo down
  fi
}

# For wait_for: succeeds when the server answers, or when its process is gone (checked after).
ready_or_exited() {
  local s=$1
  "${s}_ready" && return 0
  ! ours "$s" "$("${s}_pid" 2>/dev/null || true)"
}

declare -A TIMEOUT=([postgres]=60 [redis]=30 [rabbitmq]=120 [minio]=60 [smtp]=30)
declare -A LABEL=([postgres]="PostgreSQL 15" [redis]=Redis [rabbitmq]=RabbitMQ [minio]="MinIO (S3)"
  [smtp]="SMTP sink")

await() {
  local s=$1 t0=$SECONDS hint
  hint="Its log: $("${s}_log"). Start it again with: hack/infra.sh up $s (hack/infra.sh status shows what runs)."
  "${s}_ready" || log "waiting for ${LABEL[$s]} on $("${s}_addr") (up to ${TIMEOUT[$s]}s; log: $("${s}_log"))"
  wait_for "${LABEL[$s]} on $("${s}_addr")" "${TIMEOUT[$s]}" "$hint" -- ready_or_exited "$s"
  if ! "${s}_ready"; then
    log "${LABEL[$s]} exited while starting; last lines of $("${s}_log"):"
    tail -n 20 "$("${s}_log")" >&2 2>/dev/null || true
    die "${LABEL[$s]} failed to start on $("${s}_addr"); fix the cause above and rerun hack/infra.sh up"
  fi
  log "${LABEL[$s]} ready on $("${s}_addr") (waited $((SECONDS - t0))s)"
}

print_env() {
  cat <<EOF
export MP_PG_URL=postgresql://postgres:postgres@$HOST:$PG_PORT/postgres
export MP_REDIS_URL=redis://$HOST:$REDIS_PORT/0
export MP_AMQP_URL=amqp://platform:platform@$HOST:$AMQP_PORT/%2F
export MP_S3_ENDPOINT=http://$HOST:$S3_PORT
export MP_S3_ACCESS_KEY=$S3_ACCESS_KEY
export MP_S3_SECRET_KEY=$S3_SECRET_KEY
export MP_SMTP_HOST=$HOST
export MP_SMTP_PORT=$SMTP_PORT
export MP_SMTP_MAILDIR=$SMTP_MAILDIR
EOF
}

lock() {
  mkdir -p "$MP_CACHE"
  exec 9>"$MP_CACHE/infra.lock"
  flock -w 600 9 || die "another hack/infra.sh holds $MP_CACHE/infra.lock for over 10 minutes"
}

# Keeps the canonical order of SERVICE names given in $1 that are in the rest of the arguments.
select_services() {
  local order=$1 s
  shift
  local want=" ${*:-${SERVICES[*]}} "
  for s in "$@"; do [[ " ${SERVICES[*]} " == *" $s "* ]] || die "unknown service '$s' (${SERVICES[*]})"; done
  for s in $order; do
    if [[ $want == *" $s "* ]]; then echo "$s"; fi
  done
}

cmd_up() {
  local t0=$SECONDS todo
  # RabbitMQ boots slowest, so it goes first; MinIO's cold build (if any) happens in its _start.
  todo=$(select_services "rabbitmq postgres redis smtp minio" "$@")
  lock
  mkdir -p "$INFRA"
  # prometheus (and its promtool) is not a server of ours here, but the operator's analysis
  # tests and the local stack need it: install it with the rest.
  need_apt postgresql-15 redis-server rabbitmq-server prometheus
  print_env >"$ENV_FILE"
  local started=() s state
  for s in $todo; do
    state=$(svc_state "$s")
    case $state in
      running)
        log "${LABEL[$s]} already running on $("${s}_addr") (pid $("${s}_pid"))"
        check_profile "$s"
        ;;
      starting) log "${LABEL[$s]} is starting (pid $("${s}_pid"))"; started+=("$s") ;;
      foreign) die "port $(svc_port "$s") (${LABEL[$s]}) is taken by a process that is not ours;" \
        "see: ss -ltnp 'sport = :$(svc_port "$s")'" ;;
      down) log "starting ${LABEL[$s]} on $("${s}_addr")"; "${s}_start"; started+=("$s") ;;
    esac
  done
  for s in "${started[@]}"; do
    await "$s"
    if [ "$s" = redis ] && [ "$PROFILE" = durable ]; then redis_ready_hook; fi
  done
  log "infrastructure up in $((SECONDS - t0))s; settings: source $ENV_FILE (or eval \"\$(hack/infra.sh env)\")"
  if [ "$PROFILE" = fast ]; then
    log "MP_INFRA_FAST=1: stores started here use the fast settings, not durable (a crash loses" \
      "acknowledged writes): for throwaway test data only"
  fi
}

cmd_down() {
  local s pid todo
  todo=$(select_services "smtp minio rabbitmq redis postgres" "$@")
  lock
  for s in $todo; do
    pid=$("${s}_pid" 2>/dev/null || true)
    if ours "$s" "$pid"; then
      log "stopping ${LABEL[$s]} (pid $pid)"
      "${s}_stop" || log "stopping ${LABEL[$s]} failed; kill $pid by hand"
      local deadline=$((SECONDS + 60))
      # ours, not alive: a stopped server lingers as a zombie until init reaps it.
      while ours "$s" "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
      if ours "$s" "$pid"; then log "${LABEL[$s]} (pid $pid) still runs after 60s; kill it by hand"; fi
    fi
  done
  if [[ " $todo " == *" rabbitmq "* ]]; then
    (rmq_env && epmd -port "$RMQ_EPMD_PORT" -kill >/dev/null 2>&1) || true
  fi
  log "stopped: ${todo//$'\n'/ } (data kept under $INFRA)"
}

cmd_status() {
  local s state pid settings rc=0
  printf '%-14s %-9s %-8s %-16s %-9s %s\n' SERVICE STATE PID ADDRESS SETTINGS DATA
  for s in "${SERVICES[@]}"; do
    state=$(svc_state "$s")
    pid=$("${s}_pid" 2>/dev/null || true)
    [ "$state" = running ] || rc=1
    settings=-
    if [ "$state" = running ] && has_profile "$s"; then settings=$("${s}_profile"); fi
    printf '%-14s %-9s %-8s %-16s %-9s %s\n' "$s" "$state" "${pid:--}" "$("${s}_addr")" \
      "$settings" "$("${s}_data")"
  done
  ((rc == 0)) || echo "(not everything runs: hack/infra.sh up)" >&2
  return $rc
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  restart) shift; cmd_down "$@"; cmd_up "$@" ;;
  status) cmd_status ;;
  env) print_env ;;
  psql) shift; PGPASSWORD=postgres exec psql -h "$HOST" -p "$PG_PORT" -U postgres "$@" ;;
  redis-cli) shift; exec redis-cli -h "$HOST" -p "$REDIS_PORT" "$@" ;;
  rabbitmqctl) shift; rmq_env; exec "$RMQ_SBIN/rabbitmqctl" -n "$RMQ_NODE" "$@" ;;
  *) echo "usage: $0 up|down|restart|status|env [SERVICE...] | psql|redis-cli|rabbitmqctl [ARGS...]" >&2; exit 2 ;;
esac
