#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/bench_sap.sh: the SAP PM connector benchmark (prints figures; not a
# test). Starts `assetbridge sim sap_pm` seeded with N equipment and the
# service (the binary given, normally the release build) with one sap_pm
# provider on a fresh SQLite store, then
#   1. pull: times the first full pass of the equipment (Equipment pages of
#      the simulator's default 1,000, measuring points and the counters'
#      latest documents behind the usage baselines) from the service's start
#      until /v1/sync-state shows the pass finished; counts the requests the
#      simulator served for it (/_sim/requests);
#   2. usage: posts INCREMENTS usage increments of 1 on one asset through
#      POST /v1/readings:batch (NDJSON requests of 10,000, 0.3 s apart, flush
#      window 1 s) and counts the measurement documents SAP received for its
#      counter and SAP's final total (must be baseline + INCREMENTS).
# Output lines starting with "sap:" are parsed by scripts/bench.
# The provider's rate limit is --rps (default 1000 requests/s, so the figure is
# the connector's and the simulator's, not the limiter's: without a
# rate_limit key a sap_pm provider gets the 10/s default of vendors that
# document none).
#   bench/bench_sap.sh [BIN] [--equipment N] [--increments N] [--rps N]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release/assetbridge}
shift $(($# < 1 ? $# : 1))
equipment=10000
increments=100000
rps=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --equipment) equipment=$2; shift 2 ;;
    --increments) increments=$2; shift 2 ;;
    --rps) rps=$2; shift 2 ;;
    *) echo "bench_sap: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v python3 >/dev/null || { echo "bench_sap: python3 is missing" >&2; exit 2; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_line() {
  for _ in $(seq 1 300); do
    grep -q '^listening on ' "$1" 2>/dev/null && break
    sleep 0.1
  done
  sed -n 's/^listening on //p' "$1" | head -n1
}

"$bin" sim sap_pm --listen 127.0.0.1:0 --seed 7 --assets "$equipment" >"$work/sim" 2>"$work/sim.err" &
sim_pid=$!
pids+=($sim_pid)
sim=$(wait_line "$work/sim")
[ -n "$sim" ] || { echo "bench_sap: the simulator did not start" >&2; cat "$work/sim.err" >&2; exit 1; }

cat >"$work/cfg.yaml" <<YAML
tenants:
  default:
    providers:
      sap_pm:
        type: sap_pm
        base_url: http://$sim
        auth: {scheme: basic, user: SIMUSER, password: sim-password}
        mode: write_back
        rate_limit: {requests_per_second: $rps}
        entities:
          asset: {interval: 1s}
          work_order: {interval: 1h}
          notification: {interval: 1h}
          maintenance_plan: {interval: 1h}
          meter: {interval: 1h}
        usage:
          flush_window: 1s
          meters:
            cycles: {target: CYCLES}
        sap_pm:
          sap_client: "100"
    sites:
      plant-1010:
        value_maps:
          plant: {"1010": plant-1010}
          object_type: {MACH: station, TEST: station}
          meter: {CYCLES: cycles}
YAML
mkdir -p "$work/data"
key=$("$bin" apikey create --config "$work/cfg.yaml" --data-dir "$work/data" --tenant default \
  --scopes admin | tail -n1)
start_ns=$(date +%s%N)
"$bin" serve --config "$work/cfg.yaml" --listen 127.0.0.1:0 --data-dir "$work/data" \
  >"$work/svc" 2>"$work/svc.err" &
svc_pid=$!
pids+=($svc_pid)
svc=$(wait_line "$work/svc")
[ -n "$svc" ] || { echo "bench_sap: the service did not start" >&2; cat "$work/svc.err" >&2; exit 1; }

python3 - "$sim" "$svc" "$key" "$equipment" "$increments" "$start_ns" "$svc_pid" "$rps" "$sim_pid" <<'PY'
import base64, json, sys, time, urllib.parse, urllib.request

sim, svc, key, n, incs, start_ns, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
    int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
rps, sim_pid = sys.argv[8], sys.argv[9]
auth = {"Authorization": "Bearer " + key}
basic = {"Authorization": "Basic " + base64.b64encode(b"SIMUSER:sim-password").decode(),
         "Accept": "application/json"}
MP = "/sap/opu/odata4/sap/api_measuringpoint/srvd_a2x/sap/measuringpoint/0001/MeasuringPoint"
MD = "/sap/opu/odata4/sap/api_measurementdocument/srvd_a2x/sap/measurementdocument/0001/MeasurementDocument"

def get(url, headers=None, query=None):
    if query:
        url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as r:
        return json.loads(r.read())

def rss_mib():
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0

def cpu_s(p):
    """User + system CPU seconds of process p so far."""
    with open("/proc/%s/stat" % p) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0

def wait(what, ok, limit=1800):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.1)
    sys.exit("bench_sap: timed out waiting for " + what)

def asset_state():
    for r in get("http://%s/v1/sync-state" % svc, auth)["items"]:
        if r["entity"] == "asset":
            return r
    return {}

def pass_done():
    r = asset_state()
    return r.get("pulled", 0) >= n and bool(r.get("watermark")) and not r.get("page_token")

wait("the full pass of %d equipment" % n, pass_done)
secs = (time.time_ns() - start_ns) / 1e9
reqs = get("http://%s/_sim/requests" % sim)["items"]
by = {}
for r in reqs:
    k = r["path"].rsplit("/", 1)[-1]
    by[k] = by.get(k, 0) + 1
print("sap: pull equipment=%d rps_limit=%s secs=%.2f equipment_per_s=%.0f requests_logged=%d equipment_requests=%d "
      "measuring_point_requests=%d document_requests=%d service_cpu_s=%.1f "
      "service_cpu_us_per_equipment=%.0f simulator_cpu_s=%.1f peak_rss_mib=%.1f"
      % (n, rps, secs, n / secs, len(reqs), by.get("Equipment", 0), by.get("MeasuringPoint", 0),
         by.get("MeasurementDocument", 0), cpu_s(pid), cpu_s(pid) / n * 1e6, cpu_s(sim_pid),
         rss_mib()), flush=True)

# usage: INCREMENTS increments of 1 on one asset
ref = "MS-000002"
eq = get("http://%s/v1/assets/%s" % (svc, ref), auth)["links"][0]["native_id"]
mp = get("http://" + sim + MP, basic, {"$filter": "Equipment eq '%s' and MeasuringPointPositionNumber eq 'CYCLES'"
                                       % eq})["value"][0]["MeasuringPoint"]

def total():
    d = get("http://" + sim + MD, basic, {"$filter": "MeasuringPoint eq '%s'" % mp,
                                          "$orderby": "MsmtRdngDate desc,MeasurementDocument desc",
                                          "$top": "1"})["value"]
    return d[0]["MeasurementCounterReading"]

base = total()
seq = reqs[-1]["seq"] if reqs else 0
per = 10000
line = json.dumps({"asset_ref": ref, "meter": "cycles", "increment": 1})
t0 = time.monotonic()
sent = 0
while sent < incs:
    k = min(per, incs - sent)
    req = urllib.request.Request("http://%s/v1/readings:batch" % svc, method="POST",
                                 data=("\n".join([line] * k) + "\n").encode(),
                                 headers=dict(auth, **{"Content-Type": "application/x-ndjson"}))
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 202 and json.loads(r.read())["accepted"] == k
    sent += k
    time.sleep(0.3)
wait("SAP's counter at %d + %d" % (base, incs), lambda: total() >= base + incs, limit=300)
secs = time.monotonic() - t0
time.sleep(2.5)  # two flush windows: nothing more may arrive
final = total()
docs = [r for r in get("http://%s/_sim/requests" % sim, query={"method": "POST"})["items"]
        if r["seq"] > seq and r["path"].endswith("/MeasurementDocument") and r["status"] == 201
        and isinstance(r.get("body"), dict) and r["body"].get("MeasuringPoint") == mp]
print("sap: usage increments=%d requests=%d documents=%d increments_per_document=%.0f secs=%.1f "
      "baseline=%s final=%s exact=%s"
      % (incs, (incs + per - 1) // per, len(docs), incs / max(1, len(docs)), secs, base, final,
         "yes" if float(final) == float(base) + incs else "NO"), flush=True)
PY
