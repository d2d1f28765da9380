#!/usr/bin/env bash
# A local MariaDB primary and replicas with GTID replication, on loopback ports, each
# with its own datadir, for rwsplit's development, tests and benchmarks.
#
#   scripts/topology.sh up | down | status | promote PORT | delay PORT SECONDS |
#                       kill PORT | start PORT | sql PORT "SQL" | help
#
# Environment:
#   RWSPLIT_TOPO_DIR             state directory (default: <repo>/.topology)
#   RWSPLIT_TOPO_PORT            primary port; replicas take the next ones (default: 3316)
#   RWSPLIT_TOPO_REPLICAS        number of replicas (default: 2)
#   RWSPLIT_TOPO_MAX_CONNECTIONS max_connections of each server (default: 2000)
#   RWSPLIT_TOPO_SERVER_ARGS     more mariadbd options for every server, space-separated
#                                (e.g. --ssl-cert=… --ssl-key=… for TLS; default: none)
#
# Accounts (created on the primary, replicated):
#   app/app          the application: all privileges except READ_ONLY ADMIN and SUPER,
#                    so a write that reaches a read_only replica fails with error 1290
#   monitor/monitor  health checks: read_only, replication status, GTID positions, and
#                    the heartbeat table in schema rwsplit
# Replication is semi-synchronous (AFTER_SYNC, 1 s timeout): a transaction acknowledged
# to a client has reached a replica, so a promotion after the primary dies loses nothing.
#   repl/repl        replication
#   root (no password, 127.0.0.1 and the unix socket)
# Installs Debian's mariadb-server when mariadbd is missing.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${RWSPLIT_TOPO_DIR:-$REPO/.topology}"
BASE="${RWSPLIT_TOPO_PORT:-3316}"
REPLICAS="${RWSPLIT_TOPO_REPLICAS:-2}"
MAXCONN="${RWSPLIT_TOPO_MAX_CONNECTIONS:-2000}"
NODES=$((REPLICAS + 1))

die() { echo "topology: $*" >&2; exit 1; }
log() { echo "topology: $*"; }

port_of() { echo $((BASE + $1)); }
node_of() { # PORT -> node index
  local i=$(( $1 - BASE ))
  [ "$i" -ge 0 ] && [ "$i" -lt "$NODES" ] || die "port $1 is not a node of this topology ($BASE..$((BASE + NODES - 1)))"
  echo "$i"
}
sock() { echo "$DIR/n$1.sock"; }
pidfile() { echo "$DIR/n$1.pid"; }

ensure_mariadb() {
  if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then return; fi
  bash "$REPO/scripts/deps.sh"
}

mariadbd_bin() { command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd; }
install_db_bin() { command -v mariadb-install-db 2>/dev/null || echo /usr/bin/mariadb-install-db; }

# sql NODE SQL...: runs SQL as root over the node's socket; prints tab-separated rows.
sql() {
  local n=$1; shift
  mariadb --no-defaults -S "$(sock "$n")" -uroot -N -B -e "$*"
}

alive() { # NODE
  local pid
  pid=$(cat "$(pidfile "$1")" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}

wait_ready() { # NODE
  # Up to 90 s: on a loaded 2-CPU machine (parallel test groups each starting three
  # servers) a server has been seen taking over 30 s from "Server socket created" to
  # accepting connections. A server that died stops the wait at once.
  local n=$1
  for _ in $(seq 1 900); do
    if sql "$n" "SELECT 1" >/dev/null 2>&1; then return 0; fi
    if [ -f "$(pidfile "$n")" ] && ! alive "$n"; then break; fi
    sleep 0.1
  done
  echo "--- $DIR/n$n.err" >&2
  tail -n 30 "$DIR/n$n.err" >&2 || true
  die "node $n (port $(port_of "$n")) did not start"
}

wait_gone() { # NODE
  local n=$1 pid
  pid=$(cat "$(pidfile "$n")" 2>/dev/null) || return 0
  for _ in $(seq 1 100); do
    if [ ! -e "/proc/$pid" ] || grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
      rm -f "$(pidfile "$n")"; return 0
    fi
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  sleep 0.2
  rm -f "$(pidfile "$n")"
}

start_node() { # NODE
  local n=$1 ro=OFF
  [ "$n" -ne "$(primary_node)" ] && ro=ON
  local user=()
  [ "$(id -u)" -eq 0 ] && user=(--user=root)
  setsid "$(mariadbd_bin)" --no-defaults "${user[@]}" \
    --datadir="$DIR/n$n" --port="$(port_of "$n")" --bind-address=127.0.0.1 \
    --socket="$(sock "$n")" --pid-file="$(pidfile "$n")" --log-error="$DIR/n$n.err" \
    --tmpdir="$DIR/tmp" \
    --server-id=$((n + 1)) --log-bin=mysql-bin --log-slave-updates --binlog-format=ROW \
    --gtid-strict-mode=ON --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --skip-name-resolve --max-connections="$MAXCONN" --max-allowed-packet=256M \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --performance-schema=OFF \
    --rpl-semi-sync-master-enabled=ON --rpl-semi-sync-slave-enabled=ON \
    --rpl-semi-sync-master-timeout=1000 --rpl-semi-sync-master-wait-point=AFTER_SYNC \
    --userstat=ON --log-bin-trust-function-creators=ON --read-only="$ro" \
    ${RWSPLIT_TOPO_SERVER_ARGS:-} </dev/null >/dev/null 2>&1 &
}

primary_node() { cat "$DIR/primary" 2>/dev/null || echo 0; }

replicate_from() { # NODE PRIMARY_NODE
  sql "$1" "STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$(port_of "$2"), \
    MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; \
    SET GLOBAL read_only=ON; START SLAVE;"
}

catch_up() { # NODE PRIMARY_NODE [TIMEOUT]
  local pos r
  pos=$(sql "$2" "SELECT @@gtid_binlog_pos")
  r=$(sql "$1" "SELECT MASTER_GTID_WAIT('$pos', ${3:-30})")
  [ "$r" = "0" ] || die "port $(port_of "$1") did not catch up to $pos"
}

cmd_up() {
  ensure_mariadb
  if [ -f "$DIR/primary" ]; then
    local all=1
    for n in $(seq 0 $((NODES - 1))); do alive "$n" || all=0; done
    if [ "$all" = 1 ]; then log "already up ($BASE..$((BASE + NODES - 1)))"; return; fi
    die "$DIR holds a topology that is partly down: run '$0 down' first, or 'start PORT'"
  fi
  mkdir -p "$DIR"
  echo 0 > "$DIR/primary"
  local user=()
  [ "$(id -u)" -eq 0 ] && user=(--user=root)
  # A temporary directory of this topology's own: servers bootstrapping side by side (tests
  # run in parallel) must not share /tmp's temporary tables.
  mkdir -p "$DIR/tmp"
  local try
  for try in 1 2; do
    rm -rf "$DIR/template"
    TMPDIR="$DIR/tmp" "$(install_db_bin)" --no-defaults "${user[@]}" --datadir="$DIR/template" \
      --auth-root-authentication-method=normal --skip-test-db >"$DIR/install.log" 2>&1 && break
    [ "$try" = 2 ] && { cat "$DIR/install.log" >&2; die "mariadb-install-db failed"; }
  done
  for n in $(seq 0 $((NODES - 1))); do cp -a "$DIR/template" "$DIR/n$n"; done
  rm -rf "$DIR/template"
  for n in $(seq 0 $((NODES - 1))); do start_node "$n"; done
  for n in $(seq 0 $((NODES - 1))); do wait_ready "$n"; done
  # Identical datadirs: the replicas start from the primary's first binlog event, so every
  # account and database created below replicates.
  for n in $(seq 1 $((NODES - 1))); do sql "$n" "RESET MASTER; SET GLOBAL gtid_slave_pos='';"; done
  sql 0 "RESET MASTER"
  for n in $(seq 1 $((NODES - 1))); do replicate_from "$n" 0; done
  sql 0 "
    DELETE FROM mysql.global_priv WHERE User='';
    FLUSH PRIVILEGES;
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    CREATE USER 'app'@'%' IDENTIFIED BY 'app';
    GRANT ALL PRIVILEGES ON *.* TO 'app'@'%';
    REVOKE READ_ONLY ADMIN, SUPER ON *.* FROM 'app'@'%';
    CREATE USER 'monitor'@'%' IDENTIFIED BY 'monitor';
    GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR, REPLICA MONITOR, SELECT ON *.* TO 'monitor'@'%';
    GRANT ALL PRIVILEGES ON rwsplit.* TO 'monitor'@'%';
    CREATE USER 'repl'@'%' IDENTIFIED BY 'repl';
    GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
    CREATE DATABASE test;
    CREATE DATABASE sbtest;"
  for n in $(seq 1 $((NODES - 1))); do catch_up "$n" 0; done
  # The replicas' own anonymous users came with the template; the DELETE replicated.
  log "up: primary 127.0.0.1:$BASE, replicas $(for n in $(seq 1 $((NODES - 1))); do printf '127.0.0.1:%s ' "$(port_of "$n")"; done)"
  log "accounts: app/app, monitor/monitor, repl/repl, root (no password); state in $DIR"
}

cmd_down() {
  [ -d "$DIR" ] || { log "nothing to stop"; return; }
  for n in $(seq 0 $((NODES - 1))); do
    if alive "$n"; then kill -TERM "$(cat "$(pidfile "$n")")" 2>/dev/null || true; fi
  done
  for n in $(seq 0 $((NODES - 1))); do wait_gone "$n"; done
  rm -rf "$DIR"
  log "down"
}

cmd_status() {
  [ -d "$DIR" ] || { log "not up"; return; }
  printf '%-6s %-8s %-6s %-8s %-9s %-20s %-4s %-4s %-6s %s\n' PORT PID ALIVE ROLE READ_ONLY GTID_CURRENT_POS IO SQL BEHIND DELAY
  for n in $(seq 0 $((NODES - 1))); do
    local port pid role="-" ro="-" gtid="-" io="-" sq="-" behind="-" delay="-" st
    port=$(port_of "$n"); pid=$(cat "$(pidfile "$n")" 2>/dev/null || echo -)
    if alive "$n"; then
      ro=$(sql "$n" "SELECT @@read_only")
      gtid=$(sql "$n" "SELECT @@gtid_current_pos")
      st=$(mariadb --no-defaults -S "$(sock "$n")" -uroot -e "SHOW SLAVE STATUS\G" 2>/dev/null || true)
      if [ -n "$st" ]; then
        role=replica
        io=$(awk '/Slave_IO_Running:/ {print $2}' <<<"$st")
        sq=$(awk '/Slave_SQL_Running:/ {print $2}' <<<"$st")
        behind=$(awk '/Seconds_Behind_Master:/ {print $2}' <<<"$st")
        delay=$(awk '/ SQL_Delay:/ {print $2}' <<<"$st")
      else
        role=primary
      fi
      printf '%-6s %-8s %-6s %-8s %-9s %-20s %-4s %-4s %-6s %s\n' "$port" "$pid" yes "$role" "$ro" "${gtid:--}" "$io" "$sq" "$behind" "$delay"
    else
      printf '%-6s %-8s %-6s\n' "$port" - no
    fi
  done
}

cmd_promote() {
  local new old
  new=$(node_of "$1"); old=$(primary_node)
  [ "$new" != "$old" ] || { log "port $1 is already the primary"; return; }
  alive "$new" || die "port $1 is not running"
  if alive "$old"; then
    sql "$old" "SET GLOBAL read_only=ON"
    catch_up "$new" "$old" 30
  else
    # The primary is gone: apply everything already received (semi-sync replication
    # guarantees acknowledged transactions reached a replica) before taking writes.
    local io
    io=$(mariadb --no-defaults -S "$(sock "$new")" -uroot -e "SHOW SLAVE STATUS\G" | awk '/Gtid_IO_Pos:/ {print $2}')
    if [ -n "$io" ]; then
      [ "$(sql "$new" "SELECT MASTER_GTID_WAIT('$io', 30)")" = "0" ] || die "port $1 did not apply its relay log"
    fi
  fi
  sql "$new" "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=OFF;"
  echo "$new" > "$DIR/primary"
  for n in $(seq 0 $((NODES - 1))); do
    [ "$n" = "$new" ] && continue
    alive "$n" && replicate_from "$n" "$new"
  done
  log "promoted port $1 (was $(port_of "$old"))"
}

cmd_delay() {
  local n
  n=$(node_of "$1")
  [ "$n" != "$(primary_node)" ] || die "port $1 is the primary"
  sql "$n" "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=$2; START SLAVE;"
  log "port $1 applies changes $2 s late"
}

cmd_kill() {
  local n
  n=$(node_of "$1")
  alive "$n" || { log "port $1 is not running"; return; }
  kill -9 "$(cat "$(pidfile "$n")")"
  wait_gone "$n"
  log "killed port $1"
}

cmd_start() {
  local n p
  n=$(node_of "$1"); p=$(primary_node)
  alive "$n" && { log "port $1 is already running"; return; }
  start_node "$n"
  wait_ready "$n"
  if [ "$n" != "$p" ]; then
    # A replica resumes; a former primary comes back as a replica of the current one.
    if [ -z "$(sql "$n" "SHOW SLAVE STATUS")" ]; then
      replicate_from "$n" "$p"
      if [ "$(sql "$n" "SELECT @@gtid_binlog_pos")" != "$(sql "$n" "SELECT @@gtid_slave_pos")" ]; then
        log "warning: port $1 has transactions the primary may not have (its binlog and slave positions differ)"
      fi
    fi
    sql "$n" "SET GLOBAL read_only=ON"
  fi
  log "started port $1"
}

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

case "${1:-help}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  promote) [ $# -eq 2 ] || die "usage: promote PORT"; cmd_promote "$2" ;;
  delay) [ $# -eq 3 ] || die "usage: delay PORT SECONDS"; cmd_delay "$2" "$3" ;;
  kill) [ $# -eq 2 ] || die "usage: kill PORT"; cmd_kill "$2" ;;
  start) [ $# -eq 2 ] || die "usage: start PORT"; cmd_start "$2" ;;
  sql) [ $# -eq 3 ] || die "usage: sql PORT SQL"; sql "$(node_of "$2")" "$3" ;;
  help|-h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
