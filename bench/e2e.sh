#!/usr/bin/env bash
# End-to-end benchmark with the mediator (`serve`) and both simulators in
# separate processes, driven by `load`. Prints the load summary (JSON), then
# the mediator's CPU time and peak RSS per completed record.
#
#   bench/e2e.sh                          # 2000 records, concurrency 64
#   RECORDS=500 CONCURRENCY=1 bench/e2e.sh
#   PPROF=1 bench/e2e.sh                  # also a 10 s CPU profile of the mediator in $OUT
#   SQLITE_DATABASE_PATH=FILE bench/e2e.sh # on a database made beforehand (bench/history.sh)
#   RATE=100 RECORDS=6000 bench/e2e.sh    # open loop: 100 records/s (CONCURRENCY caps those in flight)
#   PHASES=1 bench/e2e.sh                 # also per-phase latencies from the admin API (its reads count in the mediator's CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${RECORDS:-2000}
CONCURRENCY=${CONCURRENCY:-64}
KIND=${KIND:-birth}
MODE=${MODE:-fhir}
RATE=${RATE:-0}
SYNC=${SQLITE_SYNCHRONOUS:-FULL}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
bin=bin/opencrvs-mosip
make -s build

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
MED=$(free_port); MOS=$(free_port); OCR=$(free_port); PPR=$(free_port)

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$OUT/key.pem" -out "$OUT/cert.pem" -days 30 -subj /CN=bench-partner 2>/dev/null
openssl pkcs12 -export -inkey "$OUT/key.pem" -in "$OUT/cert.pem" -out "$OUT/partner.p12" -passout pass:bench

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

$bin sim mosip --addr 127.0.0.1:$MOS --partner-cert "$OUT/cert.pem" --credential-format mosip --log-level warn >"$OUT/mosip.log" 2>&1 &
mos=$!
pids+=($mos)
$bin sim opencrvs --addr 127.0.0.1:$OCR --mediator http://127.0.0.1:$MED --log-level warn >"$OUT/opencrvs.log" 2>&1 &
ocr=$!
pids+=($ocr)
M=http://127.0.0.1:$MOS
export ADMIN_TOKEN=bench-admin-token
env HOST=127.0.0.1 PORT=$MED SQLITE_DATABASE_PATH="${SQLITE_DATABASE_PATH:-$OUT/mediator.sqlite}" SQLITE_SYNCHRONOUS=$SYNC LOG_LEVEL=warn \
  STORE_ENCRYPTION_KEY="$($bin keys generate 2>/dev/null | tail -1)" \
  OPENCRVS_PUBLIC_KEY_URL=http://127.0.0.1:$OCR/.well-known OPENCRVS_GRAPHQL_GATEWAY_URL=http://127.0.0.1:$OCR/graphql \
  MOSIP_AUTH_URL=$M/v1/authmanager/authenticate/clientidsecretkey \
  MOSIP_PACKET_AUTH_CLIENT_ID=mosip-regproc-client MOSIP_PACKET_AUTH_CLIENT_SECRET=abcdeABCDE123456 \
  MOSIP_WEBSUB_AUTH_CLIENT_ID=mosip-websub-client MOSIP_WEBSUB_AUTH_CLIENT_SECRET=abcdeABCDE123456 \
  MOSIP_CREATE_PACKET_URL=$M/commons/v1/packetmanager/createPacket \
  MOSIP_PROCESS_PACKET_URL=$M/registrationprocessor/v1/workflowmanager/workflowinstance \
  MOSIP_WEBSUB_HUB_URL=$M/websub/hub MOSIP_WEBSUB_CALLBACK_URL=http://127.0.0.1:$MED/websub/callback \
  MOSIP_WEBSUB_SECRET=bench-secret DECRYPT_P12_FILE_PATH="$OUT/partner.p12" DECRYPT_P12_FILE_PASSWORD=bench \
  PPROF_ADDR=127.0.0.1:$PPR \
  $bin serve >"$OUT/mediator.log" 2>&1 &
med=$!
pids+=($med)
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$MED/readyz >/dev/null && break; sleep 0.1; done
sleep 1 # let the WebSub subscription settle

ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
before=$(ticks $med); before_mos=$(ticks $mos); before_ocr=$(ticks $ocr)
if [ -n "${PPROF:-}" ]; then
  (sleep 2; curl -s -o "$OUT/mediator.cpu.prof" "http://127.0.0.1:$PPR/debug/pprof/profile?seconds=10") &
fi
phases=()
if [ -n "${PHASES:-}" ]; then phases=(--mediator "http://127.0.0.1:$MED"); fi
$bin load --opencrvs http://127.0.0.1:$OCR --records "$RECORDS" --concurrency "$CONCURRENCY" --kind "$KIND" --mode "$MODE" \
  --rate "$RATE" "${phases[@]}" 2>"$OUT/load.log" | tee "$OUT/load.json"
after=$(ticks $med); after_mos=$(ticks $mos); after_ocr=$(ticks $ocr)
hz=$(getconf CLK_TCK)
completed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["completed"])' "$OUT/load.json")
python3 - "$before" "$after" "$hz" "$completed" "$(grep VmHWM /proc/$med/status | awk '{print $2}')" \
  "$before_mos" "$after_mos" "$before_ocr" "$after_ocr" <<'PY'
import sys
b, a, hz, n, hwm, bm, am, bo, ao = map(int, sys.argv[1:])
per = lambda x, y: 1000 * (y - x) / hz / max(n, 1)
print(f"mediator CPU {(a - b) / hz:.2f} s for {n} records = {per(b, a):.2f} ms/record; peak RSS {hwm / 1024:.1f} MiB")
print(f"simulators: MOSIP {per(bm, am):.2f} ms/record, OpenCRVS {per(bo, ao):.2f} ms/record")
PY
echo "logs and profile in $OUT"
