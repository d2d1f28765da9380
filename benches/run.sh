#!/usr/bin/env bash
# rwsplit's benchmark: sysbench against a replica directly, through HAProxy in TCP mode
# (the cost of a bare hop) and through rwsplit, all in one run, on a topology of its own.
# Targets run in interleaved rounds (each round runs every workload on every target, the
# order of targets rotating from round to round), and the report gives medians and
# ranges: on a shared machine one run proves nothing.
#
#   benches/run.sh [--time SECONDS] [--rounds N] [--threads N] [--table-size N]
#                  [--baseline RWSPLIT_BINARY] [--out FILE]
#
# --baseline runs a second rwsplit binary (say, main before a change) as one more target,
# "baseline", in the same rounds, and reports rwsplit/baseline too.
# "cluster" is rwsplit with routing.consistency = "cluster" (every read waits for the
# writer's position, fetched once for all the reads that arrived before it was sent);
# "rwsplit" runs the default, "global". The report gives cluster/rwsplit and the reads
# each position query answered.
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

TIME=10 ROUNDS=3 THREADS=8 TABLE_SIZE=100000 OUT="" BASELINE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --time) TIME=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --baseline) BASELINE=$(realpath "$2"); shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --table-size) TABLE_SIZE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--time S] [--rounds N] [--threads N] [--table-size N] [--baseline BIN] [--out FILE]" >&2; exit 2 ;;
  esac
done

bash scripts/deps.sh --bench
cargo build --release -q -p rwsplit

WORK=$(mktemp -d /tmp/rwsplit-bench.XXXXXX)
export RWSPLIT_TOPO_DIR="$WORK/topology" RWSPLIT_TOPO_PORT=${BENCH_PORT:-13316}
PRIMARY=$RWSPLIT_TOPO_PORT R1=$((PRIMARY + 1)) R2=$((PRIMARY + 2))
HAPROXY_PORT=$((PRIMARY + 10)) RWSPLIT_PORT=$((PRIMARY + 11)) BASELINE_PORT=$((PRIMARY + 12))
CLUSTER_PORT=$((PRIMARY + 13))
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
PORTS=("$HAPROXY_PORT" "$RWSPLIT_PORT" "$CLUSTER_PORT")
BASELINE_PID=""
if [ -n "$BASELINE" ]; then
  BASELINE_PID=$(start_rwsplit "$BASELINE" "$BASELINE_PORT" "$WORK/baseline.log")
  PIDS+=("$BASELINE_PID"); PORTS+=("$BASELINE_PORT")
fi

for pid in "$RWSPLIT_PID" "$CLUSTER_PID" $BASELINE_PID; do
  sleep 0.5
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "an rwsplit under test exited at start:" >&2; cat "$WORK"/*.log >&2; exit 1
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

# Per workload and target: one value per round, space-separated.
declare -A QPS P95 CPU RATIO BRATIO CRATIO
WORKLOADS=("point_select_text:oltp_point_select:--db-ps-mode=disable"
           "point_select_ps:oltp_point_select:--db-ps-mode=auto"
           "read_only_text:oltp_read_only:--db-ps-mode=disable --skip_trx=on")
TARGETS=("direct:$R1" "haproxy:$HAPROXY_PORT" "rwsplit:$RWSPLIT_PORT" "cluster:$CLUSTER_PORT")
[ -n "$BASELINE" ] && TARGETS+=("baseline:$BASELINE_PORT")
NAMES=(); for t in "${TARGETS[@]}"; do NAMES+=("${t%%:*}"); done

pid_of() {
  case "$1" in
    haproxy) echo "$HAPROXY_PID" ;; rwsplit) echo "$RWSPLIT_PID" ;; cluster) echo "$CLUSTER_PID" ;;
    baseline) echo "$BASELINE_PID" ;; *) echo "" ;;
  esac
}
# CPU steal over the whole run, from /proc/stat (the 8th value of the cpu line).
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }
total_ticks() { awk '/^cpu / { s = 0; for (i = 2; i <= NF; i++) s += $i; print s }' /proc/stat; }
STEAL0=$(steal_ticks) TOTAL0=$(total_ticks)

for round in $(seq 1 "$ROUNDS"); do
  # Rotate the targets' order each round, so none always runs first or last.
  n=${#TARGETS[@]}; order=()
  for i in $(seq 0 $((n - 1))); do order+=("${TARGETS[$(( (i + round - 1) % n ))]}"); done
  for w in "${WORKLOADS[@]}"; do
    IFS=: read -r wname workload args <<<"$w"
    for t in "${order[@]}"; do
      IFS=: read -r tname port <<<"$t"
      pid=$(pid_of "$tname")
      before=0; [ -n "$pid" ] && before=$(cpu_ticks "$pid")
      # shellcheck disable=SC2086
      read -r qps p95 queries errors < <(run "$port" "$workload" $args)
      after=0; [ -n "$pid" ] && after=$(cpu_ticks "$pid")
      QPS[$wname.$tname]+="$qps "; P95[$wname.$tname]+="$p95 "
      if [ -n "$pid" ] && [ "${queries:-0}" -gt 0 ]; then
        CPU[$wname.$tname]+="$(awk -v d=$((after - before)) -v hz="$HZ" -v q="$queries" 'BEGIN { printf "%.1f", d / hz / q * 1e6 }') "
      fi
      if [ "${errors:-0}" != "0" ]; then echo "warning: $wname via $tname: $errors errors" >&2; fi
    done
    # This round's ratios, from targets measured minutes apart at most.
    last() { awk '{ print $NF }' <<<"${QPS[$1]}"; }
    RATIO[$wname]+="$(awk -v a="$(last "$wname.rwsplit")" -v b="$(last "$wname.haproxy")" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }') "
    CRATIO[$wname]+="$(awk -v a="$(last "$wname.cluster")" -v b="$(last "$wname.rwsplit")" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }') "
    if [ -n "$BASELINE" ]; then
      BRATIO[$wname]+="$(awk -v a="$(last "$wname.rwsplit")" -v b="$(last "$wname.baseline")" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }') "
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

report() {
  echo "rwsplit benchmark: sysbench, $THREADS threads, ${TIME}s per run, $ROUNDS interleaved rounds, 4 tables x $TABLE_SIZE rows, $(nproc) CPUs, CPU steal ${STEAL}% over the run"
  echo "direct = one replica, no hop; haproxy = TCP mode, round robin over both replicas;"
  echo "rwsplit = reads (text and prepared) to both replicas, least connections, $RWSPLIT_THREADS worker thread(s)"
  echo "cluster = rwsplit with consistency = cluster: $BATCHING"
  [ -n "$BASELINE" ] && echo "baseline = $BASELINE, same settings"
  echo "each cell: median (min-max) over the rounds"
  echo
  printf '%-18s %-9s %-26s %-22s %-22s\n' workload target qps p95_ms cpu_us/query
  for w in "${WORKLOADS[@]}"; do
    IFS=: read -r wname _ _ <<<"$w"
    for t in "${NAMES[@]}"; do
      printf '%-18s %-9s %-26s %-22s %-22s\n' "$wname" "$t" "$(stats "${QPS[$wname.$t]}" 0)" \
        "$(stats "${P95[$wname.$t]}" 2)" "$(stats "${CPU[$wname.$t]:-}" 1)"
    done
  done
  echo
  printf '%-18s %-26s %-26s' workload "qps rwsplit/haproxy" "qps cluster/rwsplit"
  [ -n "$BASELINE" ] && printf ' %-26s' "qps rwsplit/baseline"
  echo "   (per-round ratios: median (min-max))"
  for w in "${WORKLOADS[@]}"; do
    IFS=: read -r wname _ _ <<<"$w"
    printf '%-18s %-26s %-26s' "$wname" "$(stats "${RATIO[$wname]}" 2)" "$(stats "${CRATIO[$wname]}" 2)"
    [ -n "$BASELINE" ] && printf ' %-26s' "$(stats "${BRATIO[$wname]}" 2)"
    echo
  done
  echo
  printf '%-18s %-26s' workload "cpu/query rwsplit/haproxy"
  [ -n "$BASELINE" ] && printf ' %-26s' "cpu/query rwsplit/baseline"
  echo "   (ratio of medians)"
  for w in "${WORKLOADS[@]}"; do
    IFS=: read -r wname _ _ <<<"$w"
    med() { stats "$1" 3 | awk '{ print $1 }'; }
    printf '%-18s %-26s' "$wname" "$(awk -v a="$(med "${CPU[$wname.rwsplit]:-}")" -v b="$(med "${CPU[$wname.haproxy]:-}")" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    [ -n "$BASELINE" ] && printf ' %-26s' "$(awk -v a="$(med "${CPU[$wname.rwsplit]:-}")" -v b="$(med "${CPU[$wname.baseline]:-}")" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    echo
  done
}
report | tee ${OUT:+"$OUT"}
