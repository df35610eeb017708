#!/usr/bin/env bash
# The mediator's throughput on a database with a long history (issue 8):
# seeds N finished transactions into a new database (bench/history), runs
# bench/e2e.sh against it, and prints a summary line.
#
#   bench/history.sh 100000
#   RECORDS=500 CONCURRENCY=1 bench/history.sh 1000000
#   DATABASE_URL=postgres://.../empty_db bench/history.sh 100000   # PostgreSQL: an existing, empty database
#
# bench/e2e.sh's variables (RECORDS, CONCURRENCY, KIND, MODE, ...) apply;
# PACKET_BYTES sizes the seeded packets (default 1500). Everything stays in
# $OUT (default: a new temporary directory), the database included.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:?usage: bench/history.sh N  (finished transactions to seed, e.g. 10000, 100000, 1000000)}
OUT=${OUT:-$(mktemp -d)}
export OUT
mkdir -p "$OUT"
if [ -n "${DATABASE_URL:-}" ]; then
  go run ./bench/history -database-url "$DATABASE_URL" -n "$N" -packet-bytes "${PACKET_BYTES:-1500}" | tee "$OUT/history.out"
else
  export SQLITE_DATABASE_PATH="$OUT/history.sqlite"
  go run ./bench/history -db "$SQLITE_DATABASE_PATH" -n "$N" -packet-bytes "${PACKET_BYTES:-1500}" | tee "$OUT/history.out"
fi
bench/e2e.sh | tee "$OUT/e2e.out"
python3 - "$N" "$OUT/load.json" "$OUT/e2e.out" "$OUT/history.out" <<'PY'
import json, re, sys
n, load, e2e, hist = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3]).read(), open(sys.argv[4]).read()
cpu = re.search(r"= ([\d.]+) ms/record; peak RSS ([\d.]+) MiB", e2e)
seeded = re.search(r"in (\S+) \(", hist)
lat = load.get("latency_ms", {})
print(f"history {n}: {load['completed']}/{load['records']} completed, {load['completed_per_s']:.1f} records/s, "
      f"p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms, mediator {cpu.group(1) if cpu else '?'} ms/record, "
      f"peak RSS {cpu.group(2) if cpu else '?'} MiB (seeded in {seeded.group(1) if seeded else '?'})")
PY
