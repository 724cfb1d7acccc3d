#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on 127.0.0.1 for trying the hub and for the tests.
#
#   scripts/dev-postgres.sh start [DIR]   installs Debian's postgresql if missing, creates
#                                         the cluster in DIR (default /tmp/traveler-pg) if
#                                         needed, starts it, prints its connection URL
#   scripts/dev-postgres.sh stop [DIR]    stops it (the folder stays; remove it by hand)
#   scripts/dev-postgres.sh url [DIR]     prints the URL of a started cluster
#
# PORT (default 54329) picks the port. PostgreSQL refuses to run as root, so the server
# runs as the `postgres` user that the Debian package creates; DIR is owned by it.
# Authentication is `trust` for loopback only: a developer's cluster, never a shop's.
set -euo pipefail

cmd=${1:-}
dir=${2:-/tmp/traveler-pg}
port=${PORT:-54329}
bin=/usr/lib/postgresql/15/bin

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url() {
  echo "postgres://postgres@127.0.0.1:${port}/postgres"
}

install_if_missing() {
  if [ -x "$bin/initdb" ]; then
    return
  fi
  echo "installing Debian's postgresql (15)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql-15 >&2 || apt-get install -y -qq postgresql >&2
  # The package starts its own cluster on the default port; this script needs none.
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
  fi
  if [ ! -x "$bin/initdb" ]; then
    echo "PostgreSQL 15 is not at $bin after installing postgresql" >&2
    exit 1
  fi
}

case "$cmd" in
  start)
    install_if_missing
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres:postgres "$dir"
    fi
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_postgres mkdir -p "$dir/data"
      as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
      }
    fi
    if as_postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      echo "already running" >&2
    else
      as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=on" \
        start >&2 || {
        tail -n 20 "$dir/log" >&2 || true
        exit 1
      }
    fi
    url
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    ;;
  url)
    url
    ;;
  *)
    echo "usage: $0 start|stop|url [DIR]" >&2
    exit 2
    ;;
esac
