#!/bin/sh
# Turns the upstream image's environment into RabbitMQ's own configuration, then runs the command.
set -eu
conf=/etc/rabbitmq/conf.d/10-platform.conf
{
  echo "loopback_users = none"
  echo "listeners.tcp.default = ${RABBITMQ_NODE_PORT:-5672}"
  echo "management.tcp.port = ${RABBITMQ_MANAGEMENT_PORT:-15672}"
  echo "prometheus.tcp.port = ${RABBITMQ_PROMETHEUS_PORT:-15692}"
  if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then
    echo "default_user = $RABBITMQ_DEFAULT_USER"
    echo "default_pass = ${RABBITMQ_DEFAULT_PASS:?is required with RABBITMQ_DEFAULT_USER}"
  fi
} >"$conf"
if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
  cookie="$HOME/.erlang.cookie"
  [ ! -f "$cookie" ] || chmod 600 "$cookie"
  printf '%s' "$RABBITMQ_ERLANG_COOKIE" >"$cookie"
  chmod 400 "$cookie"
  unset RABBITMQ_ERLANG_COOKIE # deprecated as a variable; the file is what Erlang reads
fi
exec "$@"
