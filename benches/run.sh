#!/usr/bin/env bash
# rwsplit's benchmark: sysbench against a replica directly, through HAProxy in TCP mode
# (the cost of a bare hop) and through rwsplit, all in one run, on a topology of its own.
#
#   benches/run.sh [--time SECONDS] [--threads N] [--table-size N] [--out FILE]
#
# Workloads: oltp_point_select (text protocol), oltp_point_select (prepared statements),
# oltp_read_only (text protocol, with --skip_trx so its reads can go to replicas).
# Prints qps and p95 latency per target, the rwsplit/HAProxy ratios, and the CPU time
# per query of rwsplit and HAProxy (utime+stime from /proc).
# Targets on a 2-core machine: rwsplit >= 0.9x HAProxy's qps on point selects, and
# <= 1.5x HAProxy's CPU per query.
set -euo pipefail

# rwsplit's worker threads: 1, as a sidecar sharing a small machine with its app runs it
# (RWSPLIT_BENCH_THREADS=0 for one per CPU, the binary's default).
RWSPLIT_THREADS="${RWSPLIT_BENCH_THREADS:-1}"
cd "$(dirname "$0")/.."

TIME=20 THREADS=8 TABLE_SIZE=100000 OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --time) TIME=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --table-size) TABLE_SIZE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--time S] [--threads N] [--table-size N] [--out FILE]" >&2; exit 2 ;;
  esac
done

bash scripts/deps.sh --bench
cargo build --release -q -p rwsplit

WORK=$(mktemp -d /tmp/rwsplit-bench.XXXXXX)
export RWSPLIT_TOPO_DIR="$WORK/topology" RWSPLIT_TOPO_PORT=${BENCH_PORT:-13316}
PRIMARY=$RWSPLIT_TOPO_PORT R1=$((PRIMARY + 1)) R2=$((PRIMARY + 2))
HAPROXY_PORT=$((PRIMARY + 10)) RWSPLIT_PORT=$((PRIMARY + 11))
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
EOF
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!; PIDS+=("$HAPROXY_PID")

./target/release/rwsplit --listen "127.0.0.1:$RWSPLIT_PORT" --writer "127.0.0.1:$PRIMARY" \
  --reader "127.0.0.1:$R1" --reader "127.0.0.1:$R2" --user app:app \
  --monitor-user monitor:monitor --worker-threads "$RWSPLIT_THREADS" --log-level warn \
  >"$WORK/rwsplit.log" 2>&1 &
RWSPLIT_PID=$!; PIDS+=("$RWSPLIT_PID")

for port in $HAPROXY_PORT $RWSPLIT_PORT; do
  for _ in $(seq 1 100); do
    mariadb -h127.0.0.1 -P"$port" -uapp -papp -e 'select 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
done

SB=(sysbench --mysql-host=127.0.0.1 --mysql-user=app --mysql-password=app --mysql-db=sbtest
    --tables=4 --table-size="$TABLE_SIZE")
"${SB[@]}" --mysql-port="$PRIMARY" oltp_read_only prepare >/dev/null
pos=$(bash scripts/topology.sh sql "$PRIMARY" "SELECT @@gtid_binlog_pos")
for r in $R1 $R2; do bash scripts/topology.sh sql "$r" "SELECT MASTER_GTID_WAIT('$pos', 60)" >/dev/null; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run NAME PORT WORKLOAD ARGS... -> prints "qps p95 queries"
run() {
  local port=$1 workload=$2; shift 2
  "${SB[@]}" --mysql-port="$port" --threads="$THREADS" --time="$TIME" --report-interval=0 \
    "$workload" "$@" run 2>&1 | awk '
      /queries:/ { q=$2; gsub(/\(/,"",$3); qps=$3 }
      /95th percentile:/ { p95=$3 }
      /ignored errors:/ { err=$3 }
      END { printf "%s %s %s %s\n", qps, p95, q, err }'
}

declare -A QPS P95 CPU
WORKLOADS=("point_select_text:oltp_point_select:--db-ps-mode=disable"
           "point_select_ps:oltp_point_select:--db-ps-mode=auto"
           "read_only_text:oltp_read_only:--db-ps-mode=disable --skip_trx=on")
TARGETS=("direct:$R1" "haproxy:$HAPROXY_PORT" "rwsplit:$RWSPLIT_PORT")

for w in "${WORKLOADS[@]}"; do
  IFS=: read -r wname workload args <<<"$w"
  for t in "${TARGETS[@]}"; do
    IFS=: read -r tname port <<<"$t"
    pid=""
    [ "$tname" = haproxy ] && pid=$HAPROXY_PID
    [ "$tname" = rwsplit ] && pid=$RWSPLIT_PID
    before=0; [ -n "$pid" ] && before=$(cpu_ticks "$pid")
    # shellcheck disable=SC2086
    read -r qps p95 queries errors < <(run "$port" "$workload" $args)
    after=0; [ -n "$pid" ] && after=$(cpu_ticks "$pid")
    QPS[$wname.$tname]=$qps; P95[$wname.$tname]=$p95
    if [ -n "$pid" ] && [ "${queries:-0}" -gt 0 ]; then
      CPU[$wname.$tname]=$(awk -v d=$((after - before)) -v hz="$HZ" -v q="$queries" 'BEGIN { printf "%.1f", d / hz / q * 1e6 }')
    else
      CPU[$wname.$tname]="-"
    fi
    if [ "${errors:-0}" != "0" ]; then echo "warning: $wname via $tname: $errors errors" >&2; fi
  done
done

report() {
  echo "rwsplit benchmark: sysbench, $THREADS threads, ${TIME}s per run, 4 tables x $TABLE_SIZE rows, $(nproc) CPUs"
  echo "direct = one replica, no hop; haproxy = TCP mode, round robin over both replicas;"
  echo "rwsplit = reads (text and prepared) to both replicas, least connections, $RWSPLIT_THREADS worker thread(s)"
  echo
  printf '%-20s %-8s %10s %9s %12s\n' workload target qps p95_ms cpu_us/query
  for w in "${WORKLOADS[@]}"; do
    IFS=: read -r wname _ _ <<<"$w"
    for t in direct haproxy rwsplit; do
      printf '%-20s %-8s %10s %9s %12s\n' "$wname" "$t" "${QPS[$wname.$t]}" "${P95[$wname.$t]}" "${CPU[$wname.$t]}"
    done
  done
  echo
  printf '%-20s %18s %22s\n' workload "qps rwsplit/haproxy" "cpu/query rwsplit/haproxy"
  for w in "${WORKLOADS[@]}"; do
    IFS=: read -r wname _ _ <<<"$w"
    awk -v n="$wname" -v a="${QPS[$wname.rwsplit]}" -v b="${QPS[$wname.haproxy]}" \
        -v c="${CPU[$wname.rwsplit]}" -v d="${CPU[$wname.haproxy]}" \
        'BEGIN { printf "%-20s %18.2f %22.2f\n", n, (b > 0 ? a / b : 0), (d > 0 ? c / d : 0) }'
  done
}
report | tee ${OUT:+"$OUT"}
