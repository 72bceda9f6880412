#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/bench_sync.sh: the sync engine benchmark (prints figures; not a
# test). Starts the HTTP peers and runs bench_sync (bench/bench_sync.c) once
# per phase, each in a fresh process and store:
#   1. deliver: N open_request outbox items to nginx answering 202 for every
#      path (with a small JSON body: the generic contract's 2xx carries the
#      created record, and a 2xx the connector cannot read is an unknown
#      outcome); nginx's stub_status counts the HTTP requests the engine made;
#   2. pull: the generic simulator seeded with N assets (--assets), pulled in
#      one full pass (the connector's page size: 200, the contract's maximum).
# Output lines starting with "sync:" are parsed by scripts/bench.
#   bench/bench_sync.sh [BIN] [BENCH_SYNC] [--items N] [--records N] [--batch B]
#                       [--synchronous full|normal]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release/assetbridge}
bench=${2:-build/release/bench_sync}
shift $(( $# < 2 ? $# : 2 ))
items=100000
records=100000
batch=100
sync=full
while [ $# -gt 0 ]; do
  case "$1" in
    --items) items=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --synchronous) sync=$2; shift 2 ;;
    *) echo "bench_sync: unknown option $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

for tool in nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "bench_sync: $tool is missing (scripts/bootstrap --bench)" >&2; exit 2; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# -- nginx: 202 with a JSON body for every path, stub_status for the request count
ngx=$work/nginx
mkdir -p "$ngx/logs"
port=$(free_port)
cat >"$ngx/nginx.conf" <<NGX
worker_processes 2;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $ngx/body;
  default_type application/json;
  server {
    listen 127.0.0.1:$port;
    location = /_status { stub_status; }
    location / { return 202 '{"id":"WO-000001"}'; }
  }
}
NGX
nginx -p "$ngx" -c "$ngx/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/_status" && break; sleep 0.1; done
requests() { curl -fsS "http://127.0.0.1:$port/_status" | awk 'NR == 3 {print $3}'; }

echo "sync: nproc=$(nproc) items=$items records=$records batch=$batch synchronous=$sync"
r0=$(requests)
"$bench" --phase deliver --url "http://127.0.0.1:$port" --items "$items" --batch "$batch" \
  --synchronous "$sync" --dir "$work" | tee "$work/deliver.txt"
r1=$(requests)
# the two status requests themselves are counted too
http=$(( r1 - r0 - 1 ))
echo "sync: deliver_http_requests=$http per_item=$(python3 -c "print(round($http/max(1,$items),2))")"

# -- the generic simulator seeded with the records
sport=$(free_port)
"$bin" sim generic --listen "127.0.0.1:$sport" --seed 1 --assets "$records" --rate-limit 0 \
  >"$work/sim.out" 2>"$work/sim.err" &
pids+=($!)
for _ in $(seq 600); do grep -q '^listening on ' "$work/sim.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^listening on ' "$work/sim.out" || { echo "bench_sync: simulator did not start"; cat "$work/sim.err"; exit 1; }
"$bench" --phase pull --url "http://127.0.0.1:$sport" --records "$records" --synchronous "$sync" \
  --dir "$work" | tee "$work/pull.txt"
