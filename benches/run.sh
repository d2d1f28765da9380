#!/usr/bin/env bash
# rwsplit's benchmark: sysbench and the mariadb client against a server directly, through
# HAProxy in TCP mode (the cost of a bare hop) and through rwsplit, all in one run, on a
# topology of its own. Targets run in interleaved rounds (each round runs every workload on
# every target, the order of targets rotating from round to round), and the report gives
# medians and ranges, and the CPU steal time over the run: on a shared machine one run
# proves nothing.
#
#   benches/run.sh [--time SECONDS] [--rounds N] [--threads N] [--table-size N]
#                  [--workloads a,b,...] [--baseline RWSPLIT_BINARY] [--out FILE]
#
# Workloads (--workloads picks some; all by default):
#   point_select_text  oltp_point_select, text protocol            (readers)
#   point_select_ps    oltp_point_select, prepared statements      (readers)
#   read_only_text     oltp_read_only --skip_trx, text protocol    (readers)
#   read_write         oltp_read_write, text protocol: every statement is in a transaction
#                      that writes, so all of it goes to the writer (direct and HAProxy
#                      point at the primary)
#   write_only         oltp_write_only, text protocol (the writer, as read_write)
#   threads_256        oltp_point_select, text, 256 client threads; also prints the
#                      connections open mid-run: for direct and HAProxy the app user's on all
#                      three servers, for an rwsplit target the backend connections that
#                      instance holds (its pools, from its metrics)
#   threads_1000       the same with 1,000 client threads
#   big_result         one result set of 100,000 rows of about 200 bytes, read by the mariadb
#                      client in --quick mode: time to the last byte (3 reads per round)
#   connect            connect per query (benches/connect.lua: connect, one point select,
#                      quit): "qps" is connections per second
# Targets: direct (one replica, or the primary for read_write), haproxy (round robin over
# both replicas, or the primary for read_write), rwsplit (the default consistency,
# "global"), cluster (rwsplit with routing.consistency = "cluster", on the point-select
# workloads only; the report gives cluster/rwsplit and the reads each position query
# answered), session (rwsplit with pool.mode = "session", on the point-select, read_only
# and connect workloads: the report gives rwsplit/session, transaction pooling against
# session pooling), capped (rwsplit with pool.max_connections = 32 per backend, on the
# threads_* workloads), verify (rwsplit with failover.verify_commits = true, on read_write
# and write_only: the report gives verify/rwsplit, the cost of a marker per COMMIT), and with --baseline a second rwsplit binary (say, main before a change),
# "baseline", reported as rwsplit/baseline.
# Per target: qps (or ms per result set), p95 latency, and the CPU time per query of each
# proxy (utime+stime from /proc).
# Targets on a 2-core machine: rwsplit >= 1.0x HAProxy's qps and <= its CPU per query on
# every workload, and the big result set within 1.05x of HAProxy's time.
set -euo pipefail

# rwsplit's worker threads: 1, as a sidecar sharing a small machine with its app runs it
# (RWSPLIT_BENCH_THREADS=0 for the binary's default: half the CPUs, at least 1).
RWSPLIT_THREADS="${RWSPLIT_BENCH_THREADS:-1}"
# rwsplit runs at its default priority (server.nice = -10, as root); HAProxy at its own
# default (nice 0) unless RWSPLIT_BENCH_HAPROXY_NICE=N starts it under `nice -n N` (say
# -10, to compare the two at the same priority). The report prints both, as read from
# /proc.
HAPROXY_NICE="${RWSPLIT_BENCH_HAPROXY_NICE:-0}"
cd "$(dirname "$0")/.."

ALL_WORKLOADS=point_select_text,point_select_ps,read_only_text,read_write,write_only,threads_256,threads_1000,big_result,connect
TIME=10 ROUNDS=3 THREADS=8 TABLE_SIZE=100000 OUT="" BASELINE="" SELECTED=$ALL_WORKLOADS
usage() {
  echo "usage: $0 [--time S] [--rounds N] [--threads N] [--table-size N] [--workloads $ALL_WORKLOADS] [--baseline BIN] [--out FILE]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --time) TIME=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --baseline) BASELINE=$(realpath "$2"); shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --table-size) TABLE_SIZE=$2; shift 2 ;;
    --workloads) SELECTED=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) usage ;;
  esac
done
for w in ${SELECTED//,/ }; do
  case ",$ALL_WORKLOADS," in *",$w,"*) ;; *) echo "unknown workload: $w" >&2; usage ;; esac
done

bash scripts/deps.sh --bench
cargo build --release -q -p rwsplit

WORK=$(mktemp -d /tmp/rwsplit-bench.XXXXXX)
export RWSPLIT_TOPO_DIR="$WORK/topology" RWSPLIT_TOPO_PORT=${BENCH_PORT:-13316}
PRIMARY=$RWSPLIT_TOPO_PORT R1=$((PRIMARY + 1)) R2=$((PRIMARY + 2))
HAPROXY_PORT=$((PRIMARY + 10)) RWSPLIT_PORT=$((PRIMARY + 11)) BASELINE_PORT=$((PRIMARY + 12))
CLUSTER_PORT=$((PRIMARY + 13)) HAPROXY_W_PORT=$((PRIMARY + 14))
SESSION_PORT=$((PRIMARY + 15)) CAPPED_PORT=$((PRIMARY + 16)) VERIFY_PORT=$((PRIMARY + 17))
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  bash scripts/topology.sh down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

bash scripts/topology.sh up >/dev/null

cat > "$WORK/haproxy.cfg" <<EOF
global
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen replicas
  bind 127.0.0.1:$HAPROXY_PORT
  balance roundrobin
  server r1 127.0.0.1:$R1
  server r2 127.0.0.1:$R2
listen primary
  bind 127.0.0.1:$HAPROXY_W_PORT
  server p 127.0.0.1:$PRIMARY
EOF
nice -n "$HAPROXY_NICE" haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!; PIDS+=("$HAPROXY_PID")

# start_rwsplit BINARY PORT LOG [FLAGS...] -> pid (metrics on PORT+100, no admin listener)
start_rwsplit() {
  local bin=$1 port=$2 log=$3; shift 3
  "$bin" --listen "127.0.0.1:$port" --writer "127.0.0.1:$PRIMARY" \
    --reader "127.0.0.1:$R1" --reader "127.0.0.1:$R2" --user app:app \
    --monitor-user monitor:monitor --worker-threads "$RWSPLIT_THREADS" --log-level warn \
    --metrics-listen "127.0.0.1:$((port + 100))" --admin-listen "" "$@" \
    >"$log" 2>&1 &
  echo $!
}
RWSPLIT_PID=$(start_rwsplit ./target/release/rwsplit "$RWSPLIT_PORT" "$WORK/rwsplit.log")
PIDS+=("$RWSPLIT_PID")
CLUSTER_PID=$(start_rwsplit ./target/release/rwsplit "$CLUSTER_PORT" "$WORK/cluster.log" --consistency cluster)
PIDS+=("$CLUSTER_PID")
SESSION_PID=$(start_rwsplit ./target/release/rwsplit "$SESSION_PORT" "$WORK/session.log" --pool-mode session)
PIDS+=("$SESSION_PID")
CAPPED_PID=$(start_rwsplit ./target/release/rwsplit "$CAPPED_PORT" "$WORK/capped.log" \
  --pool-max-connections 32 --pool-borrow-timeout 60000)
PIDS+=("$CAPPED_PID")
VERIFY_PID=$(start_rwsplit ./target/release/rwsplit "$VERIFY_PORT" "$WORK/verify.log" --failover-verify-commits true)
PIDS+=("$VERIFY_PID")
PORTS=("$HAPROXY_PORT" "$HAPROXY_W_PORT" "$RWSPLIT_PORT" "$CLUSTER_PORT" "$SESSION_PORT" "$CAPPED_PORT" "$VERIFY_PORT")
BASELINE_PID=""
if [ -n "$BASELINE" ]; then
  BASELINE_PID=$(start_rwsplit "$BASELINE" "$BASELINE_PORT" "$WORK/baseline.log")
  PIDS+=("$BASELINE_PID"); PORTS+=("$BASELINE_PORT")
fi

for pid in "$HAPROXY_PID" "$RWSPLIT_PID" "$CLUSTER_PID" "$SESSION_PID" "$CAPPED_PID" $BASELINE_PID; do
  sleep 0.5
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "a proxy under test exited at start:" >&2; cat "$WORK"/*.log >&2; exit 1
  fi
done
for port in "${PORTS[@]}"; do
  for _ in $(seq 1 100); do
    mariadb -h127.0.0.1 -P"$port" -uapp -papp -e 'select 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
done

SB=(sysbench --mysql-host=127.0.0.1 --mysql-user=app --mysql-password=app --mysql-db=sbtest
    --tables=4 --table-size="$TABLE_SIZE")
"${SB[@]}" --mysql-port="$PRIMARY" oltp_read_only prepare >/dev/null
# The big result set: 100,000 rows of about 200 bytes (MariaDB's sequence engine).
bash scripts/topology.sh sql "$PRIMARY" "CREATE TABLE sbtest.big (id INT PRIMARY KEY, pad VARCHAR(255) NOT NULL);
  INSERT INTO sbtest.big SELECT seq, RPAD(MD5(seq), 200, '-') FROM sbtest.seq_1_to_100000" >/dev/null
pos=$(bash scripts/topology.sh sql "$PRIMARY" "SELECT @@gtid_binlog_pos")
for r in $R1 $R2; do bash scripts/topology.sh sql "$r" "SELECT MASTER_GTID_WAIT('$pos', 60)" >/dev/null; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The app user's connections on the three servers (client connections when direct or
# through HAProxy; backend connections through rwsplit).
backend_conns() {
  local n=0 p c
  for p in $PRIMARY $R1 $R2; do
    c=$(bash scripts/topology.sh sql "$p" "SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'app'")
    n=$((n + c))
  done
  echo "$n"
}

# pool_conns PORT -> the backend connections of the rwsplit listening on PORT: its pools'
# open connections (rwsplit_pool_connections, idle and borrowed, from its metrics on
# PORT+100), not those of the other instances running beside it.
pool_conns() {
  python3 - "$(( $1 + 100 ))" <<'PY'
import re, sys, urllib.request
page = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
print(int(sum(float(m.group(1)) for m in re.finditer(r"^rwsplit_pool_connections\{[^}]*\} (\S+)$", page, re.M))))
PY
}

# sysbench PORT THREADS WORKLOAD ARGS... -> prints "qps p95 queries errors"
sysbench_run() {
  local port=$1 threads=$2 workload=$3; shift 3
  "${SB[@]}" --mysql-port="$port" --threads="$threads" --time="$TIME" --report-interval=0 \
    "$workload" "$@" run 2>&1 | awk '
      /queries:/ { q=$2; gsub(/\(/,"",$3); qps=$3 }
      /95th percentile:/ { p95=$3 }
      /ignored errors:/ { err=$3 }
      END { printf "%s %s %s %s\n", qps, p95, q, err }'
}

# big PORT -> prints "ms ms 1 0" (milliseconds to the last byte of one 100,000-row read)
big() {
  local t0 t1
  t0=$(now_ms)
  mariadb -h127.0.0.1 -P"$1" -uapp -papp --quick -N -e 'SELECT * FROM sbtest.big' >/dev/null
  t1=$(now_ms)
  echo "$((t1 - t0)) $((t1 - t0)) 1 0"
}

# One workload: side (r = readers, w = the primary), client threads, kind, sysbench args.
declare -A WDEF=(
  [point_select_text]="r $THREADS sb oltp_point_select --db-ps-mode=disable"
  [point_select_ps]="r $THREADS sb oltp_point_select --db-ps-mode=auto"
  [read_only_text]="r $THREADS sb oltp_read_only --db-ps-mode=disable --skip_trx=on"
  [read_write]="w $THREADS sb oltp_read_write --db-ps-mode=disable"
  [write_only]="w $THREADS sb oltp_write_only --db-ps-mode=disable"
  [threads_256]="r 256 sb oltp_point_select --db-ps-mode=disable"
  [threads_1000]="r 1000 sb oltp_point_select --db-ps-mode=disable"
  [big_result]="r 1 big"
  [connect]="r $THREADS sb benches/connect.lua"
)
WORKLOADS=(); for w in ${ALL_WORKLOADS//,/ }; do
  case ",$SELECTED," in *",$w,"*) WORKLOADS+=("$w") ;; esac
done
TARGETS=(direct haproxy rwsplit cluster session capped verify); [ -n "$BASELINE" ] && TARGETS+=(baseline)
# Where a target listens for a workload of side $2.
port_of() {
  case "$1.$2" in
    direct.r) echo "$R1" ;; direct.w) echo "$PRIMARY" ;;
    haproxy.r) echo "$HAPROXY_PORT" ;; haproxy.w) echo "$HAPROXY_W_PORT" ;;
    rwsplit.*) echo "$RWSPLIT_PORT" ;; cluster.*) echo "$CLUSTER_PORT" ;;
    session.*) echo "$SESSION_PORT" ;; capped.*) echo "$CAPPED_PORT" ;;
    verify.*) echo "$VERIFY_PORT" ;;
    baseline.*) echo "$BASELINE_PORT" ;;
  esac
}
pid_of() {
  case "$1" in
    haproxy) echo "$HAPROXY_PID" ;; rwsplit) echo "$RWSPLIT_PID" ;; cluster) echo "$CLUSTER_PID" ;;
    session) echo "$SESSION_PID" ;; capped) echo "$CAPPED_PID" ;; verify) echo "$VERIFY_PID" ;;
    baseline) echo "$BASELINE_PID" ;; *) echo "" ;;
  esac
}
# cluster mode is measured on point selects only (issue: reads waiting for the writer's
# position); everything else it does as rwsplit does.
runs_on() {
  case "$2.$1" in
    cluster.point_select_text|cluster.point_select_ps) return 0 ;;
    session.point_select_text|session.point_select_ps|session.read_only_text|session.connect) return 0 ;;
    capped.threads_256|capped.threads_1000) return 0 ;;
    verify.read_write|verify.write_only) return 0 ;;
    cluster.*|session.*|capped.*|verify.*) return 1 ;;
    *) return 0 ;;
  esac
}
# CPU steal over the whole run, from /proc/stat (the 8th value of the cpu line).
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }
total_ticks() { awk '/^cpu / { s = 0; for (i = 2; i <= NF; i++) s += $i; print s }' /proc/stat; }
STEAL0=$(steal_ticks) TOTAL0=$(total_ticks)

# Per workload and target: one value per run, space-separated.
declare -A QPS P95 CPU CONNS RATIO BRATIO CRATIO SRATIO KRATIO DRATIO VRATIO
# measure WORKLOAD TARGET: one run, its figures appended.
measure() {
  local wname=$1 tname=$2 side threads kind workload args port pid before after
  read -r side threads kind workload args <<<"${WDEF[$wname]}"
  port=$(port_of "$tname" "$side") pid=$(pid_of "$tname")
  before=0; [ -n "$pid" ] && before=$(cpu_ticks "$pid")
  local conns_file="$WORK/conns" counter=""; rm -f "$conns_file"
  if [ "$wname" = threads_256 ] || [ "$wname" = threads_1000 ]; then
    (
      sleep "$(awk -v t="$TIME" 'BEGIN { print t / 2 }')"
      case $tname in
        direct | haproxy) backend_conns ;;
        *) pool_conns "$port" ;;
      esac >"$conns_file"
    ) &
    counter=$!
  fi
  local out
  if [ "$kind" = big ]; then
    out=$(big "$port")
  else
    # shellcheck disable=SC2086
    out=$(sysbench_run "$port" "$threads" "$workload" $args)
  fi
  [ -n "$counter" ] && wait "$counter"
  read -r qps p95 queries errors <<<"$out"
  after=0; [ -n "$pid" ] && after=$(cpu_ticks "$pid")
  QPS[$wname.$tname]+="$qps "; P95[$wname.$tname]+="$p95 "
  [ -s "$conns_file" ] && CONNS[$wname.$tname]+="$(cat "$conns_file") "
  if [ -n "$pid" ] && [ "${queries:-0}" -gt 0 ]; then
    CPU[$wname.$tname]+="$(awk -v d=$((after - before)) -v hz="$HZ" -v q="$queries" 'BEGIN { printf "%.1f", d / hz / q * 1e6 }') "
  fi
  if [ "${errors:-0}" != "0" ]; then echo "warning: $wname via $tname: $errors errors" >&2; fi
}
# The newest value of WORKLOAD.TARGET (big_result: the median of this round's reads).
last() {
  case "$1" in
    big_result.*) awk '{ n = split($0, v, " "); a = v[n]; b = v[n - 1]; c = v[n - 2];
                         print (a + b + c) - (a > b ? (a > c ? a : c) : (b > c ? b : c)) - (a < b ? (a < c ? a : c) : (b < c ? b : c)) }' <<<"${QPS[$1]}" ;;
    *) awk '{ print $NF }' <<<"${QPS[$1]}" ;;
  esac
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

for round in $(seq 1 "$ROUNDS"); do
  # Rotate the targets' order each round, so none always runs first or last.
  n=${#TARGETS[@]}; order=()
  for i in $(seq 0 $((n - 1))); do order+=("${TARGETS[$(( (i + round - 1) % n ))]}"); done
  for wname in "${WORKLOADS[@]}"; do
    reps=1; [ "$wname" = big_result ] && reps=3
    for t in "${order[@]}"; do
      runs_on "$wname" "$t" || continue
      for _ in $(seq 1 $reps); do measure "$wname" "$t"; done
    done
    # This round's ratios, from targets measured minutes apart at most. For the big
    # result set, a time: HAProxy's time over ours.
    if [ "$wname" = big_result ]; then
      RATIO[$wname]+="$(ratio "$(last "$wname.haproxy")" "$(last "$wname.rwsplit")") "
      [ -n "$BASELINE" ] && BRATIO[$wname]+="$(ratio "$(last "$wname.baseline")" "$(last "$wname.rwsplit")") "
    else
      RATIO[$wname]+="$(ratio "$(last "$wname.rwsplit")" "$(last "$wname.haproxy")") "
      [ -n "$BASELINE" ] && BRATIO[$wname]+="$(ratio "$(last "$wname.rwsplit")" "$(last "$wname.baseline")") "
    fi
    if runs_on "$wname" cluster; then
      CRATIO[$wname]+="$(ratio "$(last "$wname.cluster")" "$(last "$wname.rwsplit")") "
    fi
    if [ "$wname" = connect ]; then
      DRATIO[$wname]+="$(ratio "$(last "$wname.rwsplit")" "$(last "$wname.direct")") "
    fi
    if runs_on "$wname" session; then
      SRATIO[$wname]+="$(ratio "$(last "$wname.rwsplit")" "$(last "$wname.session")") "
    fi
    if runs_on "$wname" capped; then
      KRATIO[$wname]+="$(ratio "$(last "$wname.capped")" "$(last "$wname.haproxy")") "
    fi
    if runs_on "$wname" verify; then
      VRATIO[$wname]+="$(ratio "$(last "$wname.verify")" "$(last "$wname.rwsplit")") "
    fi
  done
  echo "round $round of $ROUNDS done" >&2
done
# The reads each of cluster mode's position queries answered.
cluster_metric() {
  exec 3<>"/dev/tcp/127.0.0.1/$((CLUSTER_PORT + 100))"
  printf 'GET /metrics HTTP/1.0\r\nHost: rwsplit\r\n\r\n' >&3
  awk -v n="$1" '$1 == n { print $2 }' <&3
  exec 3>&-
}
BATCHING=$(awk -v r="$(cluster_metric rwsplit_cluster_position_reads_total)" \
  -v f="$(cluster_metric rwsplit_cluster_position_fetches_total)" \
  'BEGIN { printf "%.2f reads per position query (%d reads, %d queries)", (f > 0 ? r / f : 0), r, f }')
# The priority each proxy ran at (field 19 of /proc/PID/stat, after the name).
nice_of() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && sed 's/.*) //' "/proc/$1/stat" | awk '{ print $17 }' || echo "?"; }
NICES="rwsplit at nice $(nice_of "$RWSPLIT_PID"), HAProxy at nice $(nice_of "$HAPROXY_PID")"
STEAL=$(awk -v s=$(( $(steal_ticks) - STEAL0 )) -v t=$(( $(total_ticks) - TOTAL0 )) 'BEGIN { printf "%.1f", (t > 0 ? 100 * s / t : 0) }')

# median and range of space-separated numbers: "median (min-max)"
stats() {
  tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk -v d="${2:-1}" '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "-"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.*f (%.*f-%.*f)", d, m, d, v[1], d, v[NR]
    }'
}
med() { stats "$1" 3 | awk '{ print $1 }'; }

report() {
  echo "rwsplit benchmark: ${TIME}s per run, $ROUNDS interleaved rounds, $THREADS client threads unless named, 4 tables x $TABLE_SIZE rows, $(nproc) CPUs, CPU steal ${STEAL}% over the run"
  echo "direct = one replica (the primary for read_write), no hop; haproxy = TCP mode, round robin over both replicas (the primary for read_write);"
  echo "rwsplit = reads (text and prepared) to both replicas, least connections, $RWSPLIT_THREADS worker thread(s); $NICES"
  echo "cluster = rwsplit with consistency = cluster: $BATCHING"
  echo "session = rwsplit with pool.mode = session (rwsplit itself: transaction, the default); capped = rwsplit with pool.max_connections = 32"
  echo "verify = rwsplit with failover.verify_commits = true (a marker row written in each COMMIT's round trip)"
  [ -n "$BASELINE" ] && echo "baseline = $BASELINE, same settings"
  echo "each cell: median (min-max) over the runs; big_result: ms to the last byte instead of qps, CPU in us per result set;"
  echo "connect: connections per second; conns_mid_run: halfway through threads_*, the app user's connections on the three servers (direct, haproxy) or the backend connections of that rwsplit instance"
  echo
  printf '%-18s %-9s %-24s %-22s %-26s %s\n' workload target "qps (big_result: ms)" p95_ms cpu_us/query conns_mid_run
  for wname in "${WORKLOADS[@]}"; do
    for t in "${TARGETS[@]}"; do
      runs_on "$wname" "$t" || continue
      printf '%-18s %-9s %-24s %-22s %-26s %s\n' "$wname" "$t" "$(stats "${QPS[$wname.$t]}" 0)" \
        "$(stats "${P95[$wname.$t]}" 2)" "$(stats "${CPU[$wname.$t]:-}" 1)" \
        "$( [ -n "${CONNS[$wname.$t]:-}" ] && stats "${CONNS[$wname.$t]}" 0)"
    done
  done
  echo
  printf '%-18s %-26s %-26s %-26s %-26s' workload "qps rwsplit/haproxy" "qps cluster/rwsplit" \
    "qps rwsplit/session" "qps capped/haproxy"
  printf ' %-26s' "connect rwsplit/direct" "qps verify/rwsplit"
  [ -n "$BASELINE" ] && printf ' %-26s' "qps rwsplit/baseline"
  echo "   (per-round ratios: median (min-max); big_result: their time / ours)"
  for wname in "${WORKLOADS[@]}"; do
    printf '%-18s %-26s %-26s %-26s %-26s' "$wname" "$(stats "${RATIO[$wname]}" 2)" "$(stats "${CRATIO[$wname]:-}" 2)" \
      "$(stats "${SRATIO[$wname]:-}" 2)" "$(stats "${KRATIO[$wname]:-}" 2)"
    printf ' %-26s' "$(stats "${DRATIO[$wname]:-}" 2)" "$(stats "${VRATIO[$wname]:-}" 2)"
    [ -n "$BASELINE" ] && printf ' %-26s' "$(stats "${BRATIO[$wname]}" 2)"
    echo
  done
  echo
  printf '%-18s %-26s' workload "cpu/query rwsplit/haproxy"
  [ -n "$BASELINE" ] && printf ' %-26s' "cpu/query rwsplit/baseline"
  echo "   (ratio of medians)"
  for wname in "${WORKLOADS[@]}"; do
    printf '%-18s %-26s' "$wname" "$(ratio "$(med "${CPU[$wname.rwsplit]:-}")" "$(med "${CPU[$wname.haproxy]:-}")")"
    [ -n "$BASELINE" ] && printf ' %-26s' "$(ratio "$(med "${CPU[$wname.rwsplit]:-}")" "$(med "${CPU[$wname.baseline]:-}")")"
    echo
  done
}
report | tee ${OUT:+"$OUT"}
