#!/bin/sh
# First start on an empty volume: initdb with POSTGRES_USER/POSTGRES_PASSWORD (password logins
# over TCP, trust on the pod's own socket). Then postgres on every address of the pod.
set -eu
# Options alone (the operator's `args: [-c, fsync=on, ...]`) are the server's, as upstream.
case "${1:-}" in -*) set -- postgres "$@" ;; esac
if [ "${1:-}" = postgres ]; then
  shift
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?is required: the superuser password for a new database}"
    echo "initialising a new database in $PGDATA"
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    printf '%s\n' "$POSTGRES_PASSWORD" | initdb --pgdata="$PGDATA" \
      --username="${POSTGRES_USER:-postgres}" --pwfile=/dev/stdin \
      --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  fi
  exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
