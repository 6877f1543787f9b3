#!/bin/sh
# Entry point of localhost/pixhive-postgres and localhost/pixhive-redis (docker/infra.Containerfile),
# doing what the official images' entry points do for the chart's trial StatefulSets.
set -eu
case "${1:-}" in
postgres)
  : "${PGDATA:=/data/pgdata}" "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pw=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pw" --auth-local=trust \
      --auth-host=scram-sha-256 >/dev/null
    rm -f "$pw"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -k /var/run/postgresql" start >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
      createdb -h /var/run/postgresql -U "$POSTGRES_USER" "$POSTGRES_DB"
    fi
    pg_ctl -D "$PGDATA" -w stop >/dev/null
    echo "infra-entrypoint: initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
  fi
  shift
  exec postgres -D "$PGDATA" -c listen_addresses='*' -k /var/run/postgresql "$@"
  ;;
redis-server)
  # The official image turns protected mode off (it refuses other hosts without a password).
  shift
  exec redis-server --protected-mode no "$@"
  ;;
*)
  exec "$@"
  ;;
esac
