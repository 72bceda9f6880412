#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/bench_api.sh: the REST API ingest benchmark (prints figures; not a
# test). Starts the release binary on SQLite with synchronous=FULL and, in
# the same run, measures:
#   1. wrk, 32 keep-alive connections, 10 s, single readings with unique keys;
#      the same load against nginx answering a static 202 (the machine's
#      reference); the fsync latency and the group-commit ceiling it implies
#      (32 / fsync latency); and the floor under the service on this
#      machine: bench_floor (bench/bench_floor.c), a libmicrohttpd server with
#      the service's daemon flags and no application logic, under the same
#      load, handing each request to a writer thread with no I/O (none), with
#      one fdatasync per group (fsync), and with one SQLite row per request
#      keyed by its Idempotency-Key, synchronous=FULL (sqlite);
#   2. batch ingest of 1,000,000 readings as NDJSON requests of 10,000;
#   3. p50/p99 at half the measured maximum rate with hey (-q per worker);
# and prints req/s, readings/s, readings per commit, latencies, peak RSS
# (VmHWM) and the ratios. Output lines starting with "api:" are parsed by
# scripts/bench.
#   bench/bench_api.sh [BIN [FLOOR_BIN]]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release/assetbridge}
floor_bin=${2:-$(dirname "$bin")/bench_floor}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

for tool in wrk hey nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "bench_api: $tool is missing (scripts/bootstrap --bench)" >&2; exit 2; }
done
[ -x "$floor_bin" ] || { echo "bench_api: $floor_bin is missing (build the bench_floor target)" >&2; exit 2; }

# the address a server prints as "listening on ADDR" (empty if it does not within 10 s)
listening_addr() {
  for _ in $(seq 100); do grep -q '^listening on ' "$1" 2>/dev/null && break; sleep 0.1; done
  sed -n 's/^listening on //p' "$1"
}
# wrk's figures: the rate, and its count of non-2xx answers (0 if none)
wrk_rps() { awk '/^Requests\/sec/ {printf "%d", $2}' "$1"; }
wrk_non2xx() { awk '/Non-2xx/ {n = $NF} END {print n + 0}' "$1"; }

data=$work/data
# one API key drives the whole load: lift the per-key rate limit, keep FULL
cat >"$work/bench.yaml" <<YAML
server:
  limits:
    requests_per_second_per_key: 1000000000
    burst_per_key: 1000000000
store:
  synchronous: full
log:
  level: warn
tenants:
  default: {}
YAML
"$bin" serve --config "$work/bench.yaml" --listen 127.0.0.1:0 --data-dir "$data" >"$work/out" 2>"$work/err" &
svc=$!
pids+=("$svc")
addr=$(listening_addr "$work/out")
[ -n "$addr" ] || { echo "bench_api: service did not start"; cat "$work/err"; exit 1; }
key=$("$bin" apikey create --config "$work/bench.yaml" --data-dir "$data" --tenant default --scopes write | tail -n1)
export AB_KEY=$key
auth="Authorization: Bearer $key"
curl -fsS -X PUT "http://$addr/v1/assets/BENCH-1" -H "$auth" -H 'Content-Type: application/json' \
  -d '{"name":"bench fixture","type":"fixture","site":"plant-1"}' >/dev/null

commits() { curl -fsS "http://$addr/metrics" | awk '/^assetbridge_store_commits_total/ {print $2}'; }
ingested() { curl -fsS "http://$addr/metrics" | awk '/^assetbridge_readings_ingested_total/ {print $2}'; }

# -- fsync latency and the group-commit ceiling
fsync_us=$(python3 - "$work" <<'PY'
import os, sys, time
p = os.path.join(sys.argv[1], "fsync.bin")
fd = os.open(p, os.O_WRONLY | os.O_CREAT)
n = 500
t = time.perf_counter()
for i in range(n):
    os.write(fd, b"x" * 4096)
    os.fsync(fd)
print(int((time.perf_counter() - t) / n * 1e6))
os.close(fd)
PY
)
ceiling=$(( 32 * 1000000 / (fsync_us > 0 ? fsync_us : 1) ))
echo "api: fsync_us=$fsync_us group_commit_ceiling=$ceiling"

# -- 1. single readings with wrk
c0=$(commits); i0=$(ingested || echo 0); i0=${i0:-0}
AB_RUN=$RANDOM wrk -t 2 -c 32 -d 10s -s bench/wrk_reading.lua "http://$addr" >"$work/wrk.txt"
c1=$(commits); i1=$(ingested)
rps=$(wrk_rps "$work/wrk.txt")
non2xx=$(wrk_non2xx "$work/wrk.txt")
per_commit=$(python3 -c "print(round(($i1-$i0)/max(1,$c1-$c0),1))")
echo "api: single_req_per_s=$rps non_2xx=$non2xx readings_stored=$((i1 - i0)) readings_per_commit=$per_commit"
[ "$non2xx" = 0 ] || { echo "bench_api: $non2xx requests failed; figures are not valid" >&2; exit 1; }

# -- nginx reference: the same load against a static 202
ngx=$work/nginx
mkdir -p "$ngx/logs"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$ngx/nginx.conf" <<NGX
worker_processes 2;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $ngx/body;
  server { listen 127.0.0.1:$port; location / { return 202; } }
}
NGX
nginx -p "$ngx" -c "$ngx/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 50); do curl -fs -o /dev/null -X POST "http://127.0.0.1:$port/" && break; sleep 0.1; done
AB_RUN=0 wrk -t 2 -c 32 -d 10s -s bench/wrk_reading.lua "http://127.0.0.1:$port" >"$work/nginx.txt"
nginx_rps=$(wrk_rps "$work/nginx.txt")
echo "api: nginx_req_per_s=$nginx_rps ratio_to_nginx=$(python3 -c "print(round($rps/max(1,$nginx_rps),3))") ratio_to_ceiling=$(python3 -c "print(round($rps/max(1,$ceiling),3))")"

# -- the floor: libmicrohttpd and a writer thread, no application logic
floor_line="api:"
for mode in none fsync sqlite; do
  mkdir -p "$work/floor-$mode"
  "$floor_bin" --mode "$mode" --dir "$work/floor-$mode" >"$work/floor-$mode.out" 2>&1 &
  fpid=$!
  pids+=("$fpid")
  faddr=$(listening_addr "$work/floor-$mode.out")
  [ -n "$faddr" ] || { echo "bench_api: bench_floor did not start"; cat "$work/floor-$mode.out"; exit 1; }
  AB_RUN=$RANDOM wrk -t 2 -c 32 -d 10s -s bench/wrk_reading.lua "http://$faddr" >"$work/floor-$mode.txt"
  kill -TERM "$fpid"; wait "$fpid" || { echo "bench_api: bench_floor --mode $mode failed"; cat "$work/floor-$mode.out"; exit 1; }
  frps=$(wrk_rps "$work/floor-$mode.txt")
  fnon=$(wrk_non2xx "$work/floor-$mode.txt")
  [ "$fnon" = 0 ] || { echo "bench_api: $fnon floor requests failed; figures are not valid" >&2; exit 1; }
  [ "$mode" = sqlite ] && floor_sqlite=$frps
  fper=$(sed -n 's/.*per_group=\([0-9.]*\).*/\1/p' "$work/floor-$mode.out")
  floor_line+=" floor_${mode}_req_per_s=$frps floor_${mode}_per_group=$fper"
done
echo "$floor_line"
echo "api: ratio_to_floor_sqlite=$(python3 -c "print(round($rps/max(1,$floor_sqlite),3))") floor_sqlite_ratio_to_nginx=$(python3 -c "print(round($floor_sqlite/max(1,$nginx_rps),3))")"

# -- 2. batch ingest: 1,000,000 readings in NDJSON requests of 10,000
python3 - "$work/batch.ndjson" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        f.write('{"asset_ref":"BENCH-1","meter":"cycles","increment":1}\n')
PY
c0=$(commits); i0=$(ingested)
t0=$(date +%s.%N)
seq 100 | xargs -P 2 -I{} curl -fsS -o /dev/null -X POST "http://$addr/v1/readings:batch" -H "$auth" \
  -H 'Content-Type: application/x-ndjson' --data-binary @"$work/batch.ndjson"
t1=$(date +%s.%N)
c1=$(commits); i1=$(ingested)
batch_rps=$(python3 -c "print(int(($i1-$i0)/($t1-$t0)))")
echo "api: batch_readings=$((i1 - i0)) batch_readings_per_s=$batch_rps batch_commits=$((c1 - c0))"

# -- 3. latency at half the maximum rate (hey: -q is per worker)
half=$(( rps / 2 ))
per_worker=$(( half / 32 > 0 ? half / 32 : 1 ))
hey -z 10s -c 32 -q "$per_worker" -m POST -T application/json -H "$auth" \
  -d '{"asset_ref":"BENCH-1","meter":"cycles","increment":1}' "http://$addr/v1/readings" >"$work/hey.txt"
p50=$(awk '/ 50% in / {printf "%.2f", $3 * 1000}' "$work/hey.txt")
p99=$(awk '/ 99% in / {printf "%.2f", $3 * 1000}' "$work/hey.txt")
hey_errors=$(awk '/Status code distribution/ {f=1; next} f && /\[[0-9]+\]/ {gsub(/[\[\]]/, "", $1); if ($1 !~ /^2/) n += $2} END {print n + 0}' "$work/hey.txt")
hey_rps=$(awk '/Requests\/sec/ {printf "%d", $2}' "$work/hey.txt")
echo "api: latency_target_rate=$half achieved_rate=$hey_rps p50_ms=$p50 p99_ms=$p99 non_2xx=$hey_errors"

rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$svc/status")
echo "api: peak_rss_mib=$rss"
kill -TERM "$svc"; wait "$svc" || true
