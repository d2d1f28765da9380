#!/usr/bin/env bash
# The whole stack on this machine: a MariaDB primary and two replicas with real GTID
# replication (ports 3316-3318), rwsplit on 127.0.0.1:6033 in front of them (config/local.toml),
# and the bookstore app on http://127.0.0.1:8080 through rwsplit (one DSN).
#
#   scripts/stack.sh up | down | status
#
# State and logs live in .stack/ (rwsplit.log, bookstore.log) and .topology/.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
STATE="$REPO/.stack"
export RWSPLIT_TOPO_DIR="$REPO/.topology" RWSPLIT_TOPO_PORT=3316

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() { # PORT WHAT LOG
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$3" >&2
  echo "stack: $2 did not start (log: $3)" >&2
  exit 1
}

up() {
  bash scripts/deps.sh
  mkdir -p "$STATE"
  echo "stack: building (release)…"
  cargo build --release -q --workspace
  bash scripts/topology.sh up
  if alive "$STATE/rwsplit.pid"; then
    echo "stack: rwsplit already running"
  else
    setsid ./target/release/rwsplit --config config/local.toml >"$STATE/rwsplit.log" 2>&1 &
    echo $! >"$STATE/rwsplit.pid"
    wait_port 6033 rwsplit "$STATE/rwsplit.log"
  fi
  if [ -x ./target/release/bookstore-app ]; then
    if alive "$STATE/bookstore.pid"; then
      echo "stack: bookstore already running"
    else
      DATABASE_URL="mysql://app:app@127.0.0.1:6033/bookstore" \
        setsid ./target/release/bookstore-app --listen 127.0.0.1:8080 >"$STATE/bookstore.log" 2>&1 &
      echo $! >"$STATE/bookstore.pid"
      wait_port 8080 bookstore "$STATE/bookstore.log"
    fi
  fi
  status
  cat <<EOF

Try:  mariadb -h127.0.0.1 -P6033 -uapp -papp -e 'select @@server_id'   (a replica answers)
      open http://127.0.0.1:8080                                        (the bookstore)
Stop: scripts/stack.sh down
EOF
}

down() {
  for svc in bookstore rwsplit; do
    if alive "$STATE/$svc.pid"; then
      kill -TERM "$(cat "$STATE/$svc.pid")" 2>/dev/null || true
      for _ in $(seq 1 100); do alive "$STATE/$svc.pid" || break; sleep 0.1; done
    fi
    rm -f "$STATE/$svc.pid"
  done
  bash scripts/topology.sh down
}

status() {
  bash scripts/topology.sh status
  for svc in rwsplit bookstore; do
    if alive "$STATE/$svc.pid"; then echo "$svc: running (pid $(cat "$STATE/$svc.pid"), log $STATE/$svc.log)"
    else echo "$svc: not running"; fi
  done
  if alive "$STATE/rwsplit.pid"; then echo "rwsplit: mysql://app:app@127.0.0.1:6033"; fi
  if alive "$STATE/bookstore.pid"; then echo "bookstore: http://127.0.0.1:8080"; fi
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
