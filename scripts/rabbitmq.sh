#!/usr/bin/env bash
# A RabbitMQ broker with the AMQP 1.0 plugin on 127.0.0.1:5672, for the tests and for
# trying CFX publishing on one machine. Runs as the current user without systemd.
#
#   scripts/rabbitmq.sh start    install Debian's rabbitmq-server if missing, start, wait
#   scripts/rabbitmq.sh stop     stop the broker and the epmd it started
#   scripts/rabbitmq.sh status   exit 0 when the broker answers
#   scripts/rabbitmq.sh purge Q  empty queue Q (tests start from an empty queue)
#
# Everything lives in $TRAVELER_RABBITMQ_DIR (default /tmp/traveler-rabbitmq); the
# AMQP 1.0 URL for the tests is amqp://guest:guest@127.0.0.1:5672 (guest may connect
# from loopback only).
set -euo pipefail

BASE="${TRAVELER_RABBITMQ_DIR:-/tmp/traveler-rabbitmq}"
SBIN=/usr/lib/rabbitmq/bin

export HOME="$BASE/home"
export RABBITMQ_NODENAME=traveler@localhost
export RABBITMQ_CONFIG_FILE="$BASE/rabbitmq.conf"
export RABBITMQ_ENABLED_PLUGINS_FILE="$BASE/enabled_plugins"
export RABBITMQ_MNESIA_BASE="$BASE/mnesia"
export RABBITMQ_LOG_BASE="$BASE/log"
export RABBITMQ_PID_FILE="$BASE/rabbitmq.pid"
export ERL_EPMD_ADDRESS=127.0.0.1

install() {
  if [ -x "$SBIN/rabbitmq-server" ]; then
    return
  fi
  echo "rabbitmq.sh: installing rabbitmq-server (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
  # The package starts a system broker where it can; ours runs on its own.
  if command -v service >/dev/null 2>&1; then
    service rabbitmq-server stop >/dev/null 2>&1 || true
  fi
}

configure() {
  mkdir -p "$HOME" "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
  chmod 700 "$BASE" "$HOME"
  echo '[rabbitmq_amqp1_0].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
  cat >"$RABBITMQ_CONFIG_FILE" <<CONF
listeners.tcp.default = 127.0.0.1:5672
loopback_users.guest = true
CONF
}

running() {
  [ -f "$RABBITMQ_PID_FILE" ] && "$SBIN/rabbitmqctl" -q status >/dev/null 2>&1
}

start() {
  install
  mkdir -p "$BASE"
  configure
  if running; then
    declare
    echo "rabbitmq.sh: already running ($RABBITMQ_NODENAME)"
    return
  fi
  "$SBIN/rabbitmq-server" -detached
  # Starting takes 7-15 s here; the pid file appears first, then the node answers.
  if ! "$SBIN/rabbitmqctl" wait --timeout 120 "$RABBITMQ_PID_FILE" >/dev/null; then
    echo "rabbitmq.sh: the broker did not start; its log is in $RABBITMQ_LOG_BASE" >&2
    exit 1
  fi
  declare
  echo "rabbitmq.sh: running on 127.0.0.1:5672 (AMQP 1.0), data in $BASE"
}

# What traveler's tests and a local try-out publish to, declared durable (the AMQP 1.0
# plugin would auto-create /queue/... queues non-durable): topic exchange "cfx" (the
# README's example address /exchange/cfx) and "traveler.test" with its durable queue
# "traveler.test.cfx" bound to every subject.
declare() {
  local defs="$BASE/definitions.json"
  cat >"$defs" <<JSON
{
  "exchanges": [
    {"name": "cfx", "vhost": "/", "type": "topic", "durable": true, "auto_delete": false, "internal": false, "arguments": {}},
    {"name": "traveler.test", "vhost": "/", "type": "topic", "durable": true, "auto_delete": false, "internal": false, "arguments": {}}
  ],
  "queues": [
    {"name": "traveler.test.cfx", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {}}
  ],
  "bindings": [
    {"source": "traveler.test", "vhost": "/", "destination": "traveler.test.cfx", "destination_type": "queue", "routing_key": "#", "arguments": {}}
  ]
}
JSON
  "$SBIN/rabbitmqctl" -q import_definitions "$defs" >/dev/null
}

stop() {
  if [ -f "$RABBITMQ_PID_FILE" ]; then
    "$SBIN/rabbitmqctl" -q stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true
    rm -f "$RABBITMQ_PID_FILE"
  fi
  # epmd outlives the node; end the one our node started (bound to loopback), by pid.
  local pid
  for pid in $(pgrep -x epmd 2>/dev/null || true); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx 'ERL_EPMD_ADDRESS=127.0.0.1'; then
      kill "$pid" 2>/dev/null || true
    fi
  done
  echo "rabbitmq.sh: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  purge) "$SBIN/rabbitmqctl" -q purge_queue "${2:?queue name}" >/dev/null ;;
  *)
    echo "usage: $0 start|stop|status|purge QUEUE" >&2
    exit 2
    ;;
esac
