#!/usr/bin/env bash
# Memory per idle client connection: rwsplit's resident memory (VmRSS from /proc) before
# and after N clients log in and stay idle, divided by N. On a topology of its own, with a
# release build; the clients are PyMySQL connections from one Python process, all on
# loopback. Bounded: N connections (default 1000), then everything is stopped.
#
#   benches/idle_memory.sh [--connections N]
#
# Each session holds its client buffer and its writer connection (rwsplit validates the
# account on the writer at login); kernel socket buffers are not in VmRSS.
set -euo pipefail
cd "$(dirname "$0")/.."

N=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) N=$2; shift 2 ;;
    *) echo "usage: $0 [--connections N]" >&2; exit 2 ;;
  esac
done

bash scripts/deps.sh --test
cargo build --release -q -p rwsplit

WORK=$(mktemp -d /tmp/rwsplit-idle.XXXXXX)
export RWSPLIT_TOPO_DIR="$WORK/topology" RWSPLIT_TOPO_PORT=${BENCH_PORT:-14316}
PRIMARY=$RWSPLIT_TOPO_PORT PORT=$((PRIMARY + 11))
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  bash scripts/topology.sh down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

bash scripts/topology.sh up >/dev/null
./target/release/rwsplit --listen "127.0.0.1:$PORT" --writer "127.0.0.1:$PRIMARY" \
  --reader "127.0.0.1:$((PRIMARY + 1))" --user app:app --monitor-user monitor:monitor \
  --worker-threads 1 --metrics-listen "" --admin-listen "" --log-level warn \
  >"$WORK/rwsplit.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  mariadb -h127.0.0.1 -P"$PORT" -uapp -papp -e 'select 1' >/dev/null 2>&1 && break
  sleep 0.1
done
ulimit -n 65536 2>/dev/null || true

rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
# Warm up: one session's worth of one-time allocations (classifier, metrics handles).
mariadb -h127.0.0.1 -P"$PORT" -uapp -papp -e 'select 1' >/dev/null
sleep 0.5
before=$(rss)
after=$(python3 - "$PORT" "$N" "$PID" <<'EOF'
import sys, time, pymysql
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = [pymysql.connect(host="127.0.0.1", port=port, user="app", password="app") for _ in range(n)]
time.sleep(1.0)
with open(f"/proc/{pid}/status") as f:
    rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
print(rss)
for c in conns:
    c.close()
EOF
)
echo "rwsplit VmRSS: ${before} KiB before, ${after} KiB with $N idle client connections"
echo "per idle client connection: $(awk -v a="$after" -v b="$before" -v n="$N" 'BEGIN {printf "%.1f KiB", (a - b) / n}')"
