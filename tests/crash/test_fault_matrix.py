#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fault matrix: every connector that exists (generic, wats, sap_pm) against
its simulator, crossed with every fault action of the simulator framework
(src/sim/fault.c, docs/sim/README.md): 429 with Retry-After, 5xx, a timeout,
a reset before and after the provider applied the request, a truncated and a
malformed body, a repeated page, an expired token (SAP: an expired CSRF token
on writes), and a permanent refusal (a 4xx that is not 408/429).

Rows are (connector, operation): each connector's pushes (generic:
open_request and update_work_order; wats: push_reading (usage totals) and
record_calibration; sap_pm: open_request (notifications), update_work_order
(completion) and push_reading (measurement documents)) and its asset pull.
For each cell one fault rule (count 1, or 2 for 429/503) is put on the
operation's provider path, one item (or one change at the source, for a pull)
is produced, and the test waits until it settles. The cell passes when
- the rule fired (the fault really happened);
- nothing is lost: the item is done (a pull: the change reached the hub);
- nothing is applied twice: the simulator's effect counters grew by exactly
  one (usage: the provider's total equals the hub's; a pull: every record
  linked once);
- dead letters appear only for the permanent refusal (and, for WATS, the
  expired token: docs/connectors/wats.md makes its 401 permanent), with
  nothing else dead; a replay of it (API, or the CLI `assetbridge
  dead-letters replay` for WATS) brings it through, applied once.
The table (rows connector x operation x fault; columns fired, delivered,
applied, dead, replayed, verdict) is printed. `repeat_page` applies to list
requests only: push rows show it as n/a.

One service per connector serves all of its cells (the cells run one after
the other; every rule is cleared after its cell). The engine's retry base
and cap are shortened with the `sync.retry` keys so retries take
milliseconds. Known product bugs (KNOWN_BUGS) are run and reported in the
table without failing the test; a known bug that stops failing is
reported as fixed.

Fast subset (make test): each connector's first push under the faults that
cost no Retry-After wait (timeout, reset_after_apply, truncate, malformed,
expire_token, a permanent refusal with its replay), one 429, and a repeated
page on the generic and SAP pulls. AB_RELIABILITY=full (make reliability):
the whole matrix."""
import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig  # noqa: E402

SYNC = """
sync:
  lease: 5s
  poll_interval: 100ms
  retry: {base: 100ms, cap: 1s}
  breaker: {cooldown: 1s}
"""

# (label, rule without match, count)
FAULTS = [
    ("429 Retry-After", {"action": "status", "status": 429}, 2),
    ("503", {"action": "status", "status": 503}, 2),
    ("500", {"action": "status", "status": 500}, 1),
    ("timeout", {"action": "timeout", "ms": 300}, 1),
    ("reset", {"action": "reset"}, 1),
    ("reset_after_apply", {"action": "reset_after_apply"}, 1),
    ("truncate", {"action": "truncate"}, 1),
    ("malformed", {"action": "malformed"}, 1),
    ("repeat_page", {"action": "repeat_page"}, 1),
    ("expire_token", {"action": "expire_token"}, 1),
    ("permanent", None, 1),  # the operation's permanent status
]
FAULT_NAMES = [f[0] for f in FAULTS]

# (connector, operation, fault) in the fast subset: each connector's first
# push under the faults that cost no Retry-After wait, one 429, and a
# repeated page on two pulls
_CHEAP = ("timeout", "reset_after_apply", "truncate", "malformed", "expire_token", "permanent")
FAST = {(c, op, f) for c, op in (("generic", "open_request"), ("wats", "push_reading"),
                                 ("sap_pm", "open_request")) for f in _CHEAP}
FAST |= {("wats", "push_reading", "429 Retry-After"), ("generic", "pull asset", "repeat_page"),
         ("sap_pm", "pull asset", "repeat_page")}

# (connector, operation) -> what is wrong (reported, not failed)
KNOWN_BUGS = {}  # none open: every cell fails the test when it fails


class Cell:
    def __init__(self, connector, op, fault):
        self.connector, self.op, self.fault = connector, op, fault
        self.fired = "-"
        self.delivered = "-"
        self.applied = "-"
        self.dead = "-"
        self.replayed = "-"
        self.verdict = "?"
        self.problems = []
        self.seconds = 0.0

    def row(self):
        v = self.verdict if len(self.verdict) <= 60 else self.verdict[:57] + "..."
        return (self.connector, self.op, self.fault, self.fired, self.delivered, self.applied,
                self.dead, self.replayed, "%.1f" % self.seconds, v)


# ---- operations ------------------------------------------------------------------------


class Op:
    """One row: how to produce an item, where to fault it, how to check it."""
    name = "?"
    kind = "push"         # or "pull"
    method = "POST"
    path = "/"
    action = None         # outbox action of the items it produces
    permanent = 422       # a status the connector must treat as permanent
    # faults the connector's contract makes permanent for this operation (a
    # dead letter for a person, then a replay), besides "permanent"
    permanent_faults = ()

    def __init__(self, bench):
        self.b = bench

    def setup(self):
        pass

    def produce(self, arm, n):
        """Produce one item (call arm() when the fault must be in place);
        returns a handle for check()."""
        raise NotImplementedError

    def arrived(self, h):
        """The effect is visible at the provider (push) or in the hub (pull)."""
        return True

    def applied(self, h, before):
        """(text for the table, exactly once?)"""
        raise NotImplementedError

    def snapshot(self):
        return self.b.sim.effects()


def _utc_day(n):
    return "2026-%02d-%02dT09:00:00Z" % (1 + (n // 28) % 12, 1 + n % 28)


class GenericOpenRequest(Op):
    name, action, path = "open_request", "open_request", rig.GENERIC_WO

    def produce(self, arm, n):
        arm()
        title = "matrix generic %d" % n
        ref = self.b.generic_refs[n % len(self.b.generic_refs)]
        wo = self.b.hub.api("POST", "/v1/work-orders", {
            "asset_ref": ref, "type": "corrective", "provider_id": "generic",
            "common_status": "open", "notes": title}, expect=201)
        return {"title": title, "wid": wo["common_work_order_id"]}

    def applied(self, h, before):
        d = self.b.sim.effects()["work_orders_created"] - before["work_orders_created"]
        held = self.b.sim.work_order_titles().count(h["title"])
        return "created %d, held %d" % (d, held), d == 1 and held == 1


class GenericUpdate(Op):
    name, action, method, path = "update_work_order", "update_work_order", "PATCH", rig.GENERIC_WO + "/*"

    def produce(self, arm, n):
        b = self.b
        ref = b.generic_refs[n % len(b.generic_refs)]
        wo = b.hub.api("POST", "/v1/work-orders", {
            "asset_ref": ref, "type": "corrective", "provider_id": "generic",
            "common_status": "open", "notes": "matrix generic upd %d" % n}, expect=201)
        wid = wo["common_work_order_id"]
        rig.wait_for("the work order at the provider", lambda: b.hub.api(
            "GET", "/v1/work-orders/" + wid).get("source_work_order_id"), limit=30)
        b.mark()
        arm()
        notes = "matrix generic updated %d" % n
        b.hub.api("PATCH", "/v1/work-orders/" + wid, {"notes": notes})
        sid = b.hub.api("GET", "/v1/work-orders/" + wid)["source_work_order_id"]
        return {"sid": sid, "notes": notes}

    def applied(self, h, before):
        d = self.b.sim.effects()["work_orders_updated"] - before["work_orders_updated"]
        st, wo = self.b.sim.provider("GET", "%s/%s" % (rig.GENERIC_WO, h["sid"]))
        ok = st == 200 and h["notes"] in json.dumps(wo)
        return "updated %d%s" % (d, "" if ok else ", not at the provider"), d == 1 and ok


class GenericPull(Op):
    name, kind, method, path = "pull asset", "pull", "GET", rig.GENERIC_ASSETS

    def produce(self, arm, n):
        arm()
        sid = "A-%06d" % (1 + n % 40)
        name = "matrix renamed %d" % n
        st, body = self.b.sim.provider("PATCH", "%s/%s" % (rig.GENERIC_ASSETS, sid), {"name": name})
        assert st == 200, body
        return {"sid": sid, "name": name}

    def arrived(self, h):
        st, _, a = self.b.hub.request("GET", "/v1/assets:lookup?provider=generic&native_id=" + h["sid"])
        return st == 200 and a.get("name") == h["name"]

    def applied(self, h, before):
        return self.b.links_once("generic", "asset", 40)

    def snapshot(self):
        return None


# docs/connectors/wats.md: "401 is permanent and never retried" (a WATS token
# that expired needs a person: a new token, then a replay)
WATS_PERMANENT = ("expire_token",)


class WatsUsage(Op):
    name, action, method, path, permanent = "push_reading", "push_reading", "PUT", "/api/Asset/Count", 400
    permanent_faults = WATS_PERMANENT
    serial = "AB-MATRIX-U1"

    def setup(self):
        self.b.wait_linked(self.serial)

    def produce(self, arm, n):
        arm()
        b = self.b
        st, _, r = b.hub.request("POST", "/v1/readings", {"asset_ref": self.serial, "meter": "cycles",
                                                          "increment": 1 + n % 4},
                                 headers={"Idempotency-Key": "matrix-wats-%d" % n})
        assert st == 202, r
        return {"total": r["total"]}

    def arrived(self, h):
        return (self.b.sim.asset(self.serial) or {}).get("totalCount") == h["total"]

    def applied(self, h, before):
        a = self.b.sim.asset(self.serial) or {}
        calls = self.b.sim.effects()["count_calls"] - before["count_calls"]
        ok = a.get("totalCount") == h["total"] and a.get("runningCount") == h["total"]
        return "total %s=%g (%d PUTs)" % (a.get("totalCount"), h["total"], calls), ok


class WatsCalibration(Op):
    name, action, path, permanent = "record_calibration", "record_calibration", "/api/Asset/Calibration/External", 400
    permanent_faults = WATS_PERMANENT
    serial = "AB-MATRIX-EXT"

    def setup(self):
        self.b.wait_linked(self.serial)

    def produce(self, arm, n):
        arm()
        performed, due = _utc_day(n), "2027-%02d-%02dT09:00:00Z" % (1 + (n // 28) % 12, 1 + n % 28)
        self.b.hub.api("POST", "/v1/assets/%s/calibration:record" % self.serial, {
            "performed_at": performed, "result": "in_tolerance", "next_due_at": due})
        return {"due": due}

    def arrived(self, h):
        return (self.b.sim.asset(self.serial) or {}).get("nextCalibrationDate", "").startswith(h["due"][:19])

    def applied(self, h, before):
        d = self.b.sim.effects()["calibrations_recorded"] - before["calibrations_recorded"]
        return "recorded %d" % d, d == 1 and self.arrived(h)


class WatsPull(Op):
    name, kind, method, path = "pull asset", "pull", "GET", "/api/Asset*"

    def produce(self, arm, n):
        serial = "AB-MATRIX-P%d" % (n % 3)
        a = self.b.sim.asset(serial)  # before the rule: it would take this GET
        arm()
        name = "matrix renamed %d" % n
        st, body = self.b.sim.call("PUT", "/api/Asset", body={
            "assetId": a["assetId"], "serialNumber": serial, "typeId": a["typeId"], "assetName": name})
        assert st == 200, body
        return {"serial": serial, "name": name}

    def arrived(self, h):
        st, _, a = self.b.hub.request("GET", "/v1/assets/" + h["serial"])
        return st == 200 and a.get("name") == h["name"]

    def applied(self, h, before):
        return self.b.links_once("wats", "asset", self.b.wats_count)

    def snapshot(self):
        return None


class SapOpenRequest(Op):
    name, action, path, permanent = "open_request", "open_request", rig.SAP_NOTIF + "/MaintenanceNotification", 400

    def produce(self, arm, n):
        arm()
        wo = self.b.hub.api("POST", "/v1/work-orders", {
            "asset_ref": "MS-%06d" % (3 + n % 10), "provider_id": "sap_pm", "type": "corrective",
            "common_status": "open", "priority": "high", "notes": "matrix sap %d" % n}, expect=201)
        return {"wid": wo["common_work_order_id"]}

    def applied(self, h, before):
        e = self.b.sim.effects()
        d = e["notifications_created"] - before["notifications_created"]
        ref = rig.tcs.ext_ref("wo:%s:create" % h["wid"])
        st, _, found = self.b.sim.sap.call("GET", rig.SAP_NOTIF + "/MaintenanceNotification", {
            "$filter": "MaintNotifExtReferenceNumber eq '%s'" % ref})
        held = len(found["d"]["results"]) if st == 200 else -1
        return "created %d, held %d" % (d, held), d == 1 and held == 1


class SapComplete(Op):
    name, action, path, permanent = ("update_work_order", "update_work_order",
                                     rig.SAP_NOTIF + "/CompleteMaintNotification", 400)

    def produce(self, arm, n):
        b = self.b
        wo = b.hub.api("POST", "/v1/work-orders", {
            "asset_ref": "MS-%06d" % (3 + n % 10), "provider_id": "sap_pm", "type": "corrective",
            "common_status": "open", "priority": "high", "notes": "matrix sap upd %d" % n}, expect=201)
        wid = wo["common_work_order_id"]
        rig.wait_for("the notification at SAP", lambda: b.hub.api(
            "GET", "/v1/work-orders/" + wid).get("sync_state") == "synchronized", limit=30)
        b.mark()
        arm()
        st, _, r = b.hub.request("POST", "/v1/work-orders/%s:complete" % wid, {})
        assert st in (200, 202), r
        return {"nid": b.hub.api("GET", "/v1/work-orders/" + wid).get("source_work_order_id")}

    def applied(self, h, before):
        d = self.b.sim.effects()["notifications_completed"] - before["notifications_completed"]
        ok = d == 1
        if h["nid"]:
            st, _, x = self.b.sim.sap.call("GET", rig.SAP_NOTIF + "/MaintenanceNotification('%s')" % h["nid"])
            ok = ok and st == 200 and x["d"]["NotifProcessingPhase"] == "4"
        return "completed %d" % d, ok


class SapUsage(Op):
    name, action, path, permanent = "push_reading", "push_reading", rig.SAP_MD + "/MeasurementDocument", 400
    ref = "MS-000002"

    def setup(self):
        b = self.b
        eq = b.hub.api("GET", "/v1/assets/" + self.ref)["links"][0]["native_id"]
        st, _, pts = b.sim.sap.call("GET", rig.SAP_MP + "/MeasuringPoint", {
            "$filter": "Equipment eq '%s' and MeasuringPointPositionNumber eq 'CYCLES'" % eq})
        assert st == 200, pts
        self.mp = pts["value"][0]["MeasuringPoint"]

    def latest(self):
        st, _, b = self.b.sim.sap.call("GET", rig.SAP_MD + "/MeasurementDocument", {
            "$filter": "MeasuringPoint eq '%s'" % self.mp,
            "$orderby": "MsmtRdngDate desc,MeasurementDocument desc", "$top": "1"})
        assert st == 200, b
        return b["value"][0]["MeasurementCounterReading"] if b["value"] else None

    def produce(self, arm, n):
        base = self.latest()
        arm()
        inc = 1 + n % 4
        st, _, r = self.b.hub.request("POST", "/v1/readings", {"asset_ref": self.ref, "meter": "cycles",
                                                               "increment": inc},
                                      headers={"Idempotency-Key": "matrix-sap-%d" % n})
        assert st == 202, r
        return {"total": base + inc}

    def arrived(self, h):
        return self.latest() == h["total"]

    def applied(self, h, before):
        d = self.b.sim.effects()["measurement_documents_created"] - before["measurement_documents_created"]
        got = self.latest()
        return "total %g=%g, %d documents" % (got, h["total"], d), got == h["total"] and d == 1


class SapPull(Op):
    name, kind, method, path = "pull asset", "pull", "GET", rig.SAP_EQ + "/Equipment"

    def produce(self, arm, n):
        arm()
        b = self.b
        ref = "MS-%06d" % (11 + n % 5)
        eq = b.hub.api("GET", "/v1/assets/" + ref)["links"][0]["native_id"]
        name = "matrix renamed %d" % n
        st, _, body = b.sim.sap.write("PATCH", rig.SAP_EQ + "/Equipment(Equipment='%s',ValidityEndDate="
                                      "datetime'9999-12-31T00:00:00')" % eq, body={"EquipmentName": name})
        assert st in (200, 204), body
        return {"ref": ref, "name": name}

    def arrived(self, h):
        st, _, a = self.b.hub.request("GET", "/v1/assets/" + h["ref"])
        return st == 200 and a.get("name") == h["name"]

    def applied(self, h, before):
        return self.b.links_once("sap_pm", "asset", self.b.sap_count)

    def snapshot(self):
        return None


# ---- one connector's bench -------------------------------------------------------------


class Bench:
    connector = "?"
    replay_by = "api"
    ops = ()

    def __init__(self, tmp):
        self.tmp = tmp
        self.sim = None
        self.hub = None
        self.mark_id = 0

    def close(self):
        if self.hub and self.hub.svc:
            self.hub.stop()
        if self.sim:
            self.sim.close()

    def mark(self):
        """Items after this point belong to the cell."""
        self.mark_id = self.hub.db("SELECT COALESCE(MAX(id), 0) FROM outbox")[0][0]

    def items(self, action):
        return self.hub.db("SELECT id, state, attempts, error_class FROM outbox WHERE id > ?"
                           " AND provider = ? AND action = ? ORDER BY id", (self.mark_id, self.connector, action))

    def dead_letters(self):
        return [d for d in self.hub.all_items("/v1/dead-letters") if d["provider"] == self.connector]

    def wait_linked(self, ref):
        def linked():
            st, _, d = self.hub.request("GET", "/v1/assets/" + ref)
            return st == 200 and bool(d.get("links"))
        rig.wait_for(ref + " linked", linked, limit=60)

    def links_once(self, provider, entity, n):
        rows = self.hub.db("SELECT COUNT(*), COUNT(DISTINCT native_id) FROM source_records"
                           " WHERE provider = ? AND entity = ?", (provider, entity))
        c, d = rows[0]
        return "%d records, %d linked once" % (n, d), c == d == n

    def replay(self, dead_id):
        if self.replay_by == "cli":
            env = dict(os.environ, ASSETBRIDGE_API_KEY=self.hub.key)
            p = rig.run("dead-letters", "replay", "--id", str(dead_id), "--url",
                        "http://%s" % self.hub.svc.addr, env=env)
            assert p.returncode == 0, p.stdout + p.stderr
            return "CLI"
        r = self.hub.api("POST", "/v1/dead-letters:replay", {"id": dead_id})
        assert r["replayed"] == 1, r
        return "API"


class GenericBench(Bench):
    connector = "generic"
    ops = (GenericOpenRequest, GenericUpdate, GenericPull)

    def start(self):
        self.sim = rig.GenericSim(self.tmp, assets=40)
        self.hub = rig.Hub(self.tmp, SYNC + """
tenants:
  default:
    providers:
      generic:
        type: generic
        base_url: http://%s
        auth: {scheme: bearer, token: sim-token}
        mode: write_back
        entities:
          asset: {interval: 1s}
""" % self.sim.addr, name="generic")
        self.hub.start()
        rig.wait_for("the generic pull", lambda: (self.hub.sync_state("generic", "asset") or {}).get(
            "pulled", 0) >= 40, limit=60)
        self.generic_refs = [a["asset_ref"] for a in self.hub.all_items("/v1/assets?provider=generic")]


class WatsBench(Bench):
    connector = "wats"
    replay_by = "cli"
    ops = (WatsUsage, WatsCalibration, WatsPull)

    def start(self):
        self.sim = rig.WatsSim(self.tmp, assets=3)
        self.sim.seed_asset(WatsUsage.serial, "Matrix fixture", total=0)
        self.sim.seed_asset(WatsCalibration.serial, "External DMM", interval=-2)
        for i in range(3):
            self.sim.seed_asset("AB-MATRIX-P%d" % i, "Matrix fixture")
        self.wats_count = 3 + 5
        self.hub = rig.Hub(self.tmp, SYNC + """
tenants:
  default:
    providers:
      wats:
        type: wats
        base_url: http://%s
        auth: {scheme: token, token: "%s"}
        mode: write_back
        rate_limit: {requests_per_second: 200}
        entities:
          asset: {interval: 1s}
        usage:
          flush_window: 200ms
          meters:
            cycles: {target: count}
        wats:
          calibration_external_types: [External DMM]
""" % (self.sim.addr, rig.WATS_TOKEN), name="wats")
        self.hub.start()


class SapBench(Bench):
    connector = "sap_pm"
    ops = (SapOpenRequest, SapComplete, SapUsage, SapPull)

    def start(self):
        self.sap_count = 20
        self.sim = rig.SapSim(self.tmp, assets=self.sap_count)
        self.hub = rig.Hub(self.tmp, SYNC + """
tenants:
  default:
    providers:
      sap_pm:
        type: sap_pm
        base_url: http://%s
        auth: {scheme: basic, user: SIMUSER, password: sim-password}
        mode: write_back
        rate_limit: {requests_per_second: 500}
        timeouts: {request: 3s}
        entities:
          asset: {interval: 1s}
        usage:
          flush_window: 200ms
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
""" % self.sim.addr, name="sap")
        self.hub.start()

        def pulled():
            st = self.hub.sync_state("sap_pm", "asset") or {}
            return st.get("pulled", 0) >= self.sap_count and st.get("watermark") and not st.get("page_token")
        rig.wait_for("the SAP pull", pulled, limit=60)


# ---- the cells -----------------------------------------------------------------------------


def run_cell(bench, op, fault_name, rule, count, n):
    cell = Cell(bench.connector, op.name, fault_name)
    known = KNOWN_BUGS.get((bench.connector, op.name))
    if fault_name == "repeat_page" and op.kind == "push":
        cell.verdict = "n/a (list requests only)"
        return cell
    if rule is None:
        rule = {"action": "status", "status": op.permanent}
    permanent = op.kind == "push" and (fault_name == "permanent" or fault_name in op.permanent_faults)
    t0 = time.monotonic()
    limit = 10 if known else 60  # a known bug is not waited out
    sim = bench.sim
    sim.clear_faults()
    before = op.snapshot()
    dead_before = {d["id"] for d in bench.dead_letters()}
    bench.mark()
    rid = []

    def arm():
        rid.append(sim.fault(match={"method": op.method, "path": op.path}, count=count, **rule))

    try:
        h = op.produce(arm, n)
        if op.kind == "push":
            def settled():
                items = bench.items(op.action)
                if not items or any(s in ("pending", "in_flight") for _, s, _, _ in items):
                    return None
                if any(s == "dead" for _, s, _, _ in items):
                    return "dead"
                return "done" if op.arrived(h) else None
            state = rig.wait_for("%s %s %s settled" % (bench.connector, op.name, fault_name), settled,
                                 limit=limit, interval=0.1)
        else:
            rig.wait_for("%s %s %s: the change in the hub" % (bench.connector, op.name, fault_name),
                         lambda: op.arrived(h) and sim.fired(rid[0]) >= 1, limit=limit, interval=0.1)
            state = "done"
        fired = sim.fired(rid[0])
        cell.fired = str(fired)
        if fired < 1:
            cell.problems.append("the fault never fired")
        new_dead = [d for d in bench.dead_letters() if d["id"] not in dead_before]
        cell.dead = str(len(new_dead))
        if op.kind == "pull":
            cell.delivered = "change pulled"
        else:
            items = bench.items(op.action)
            cell.delivered = "%d/%d done" % (sum(1 for i in items if i[1] == "done"), len(items))
        if permanent:
            if state != "dead" or len(new_dead) != 1:
                cell.problems.append("a permanent refusal is not one dead letter (%s, %d dead)" %
                                     (state, len(new_dead)))
            else:
                how = bench.replay(new_dead[0]["id"])
                rig.wait_for("the replayed item delivered", lambda: (
                    bench.items(op.action) and all(s == "done" for _, s, _, _ in bench.items(op.action))
                    and op.arrived(h)), limit=limit, interval=0.1)
                cell.replayed = "1 by %s -> done" % how
                items = bench.items(op.action)
                cell.delivered = "%d/%d done" % (sum(1 for i in items if i[1] == "done"), len(items))
                cell.dead += " (%s)" % new_dead[0]["error_class"]
        else:
            if new_dead:
                cell.problems.append("dead letter for a transient fault: %s: %s" % (
                    new_dead[0]["error_class"], new_dead[0]["last_error"]))
            if state != "done":
                cell.problems.append("not delivered (%s)" % state)
        text, ok = op.applied(h, before)
        cell.applied = text
        if not ok:
            cell.problems.append("not applied exactly once: " + text)
        if permanent and cell.replayed != "-":
            left = [d["id"] for d in bench.dead_letters() if d["id"] not in dead_before]
            if left:
                cell.problems.append("dead letters left after the replay: %r" % left)
    except AssertionError as e:
        cell.problems.append(str(e).splitlines()[0][:160])
    finally:
        sim.clear_faults()
        # a failed cell must not leave items behind for the next one: dead
        # letters of this cell are left as they are (counted by dead_before)
    cell.seconds = time.monotonic() - t0
    if known:
        cell.verdict = "KNOWN BUG" if cell.problems else "ok (known bug fixed? remove it from KNOWN_BUGS)"
    else:
        cell.verdict = "ok" if not cell.problems else "FAIL: " + "; ".join(cell.problems)
    return cell


BENCHES = {"generic": (GenericBench, None), "wats": (WatsBench, "wats"), "sap_pm": (SapBench, "sap_pm")}


class FaultMatrix(unittest.TestCase):
    def test_matrix(self):
        t_all = time.monotonic()
        cells, timings = [], []
        for connector, (cls, sim_kind) in BENCHES.items():
            why = rig.sim_available(sim_kind or "generic")
            if why:
                rig.log("%s: skipped (%s)" % (connector, why))
                continue
            t0 = time.monotonic()
            tmp = rig.tmpdir("ab-matrix-%s-" % connector)
            bench = cls(tmp)
            try:
                bench.start()
                n = 0
                for op_cls in bench.ops:
                    op = op_cls(bench)
                    op.setup()
                    for fault_name, rule, count in FAULTS:
                        if not rig.FULL and (connector, op.name, fault_name) not in FAST:
                            continue
                        n += 1
                        cell = run_cell(bench, op, fault_name, rule, count, n)
                        cells.append(cell)
                        if cell.verdict.startswith("FAIL"):
                            cell.log = bench.hub.stderr()[-2500:]
            finally:
                bench.close()
                shutil.rmtree(tmp, ignore_errors=True)
            timings.append("%s %.1f s" % (connector, time.monotonic() - t0))
        rig.log("\nfault matrix (%s): %s; %.1f s in all" % (
            "full" if rig.FULL else "fast subset", ", ".join(timings), time.monotonic() - t_all))
        for line in rig.table(["connector", "operation", "fault", "fired", "delivered", "applied",
                               "dead", "replayed", "s", "verdict"], [c.row() for c in cells]):
            rig.log(line)
        for (conn, op), why in KNOWN_BUGS.items():
            if any(c.connector == conn and c.op == op for c in cells):
                rig.log("known bug %s %s: %s" % (conn, op, why))
        failed = [c for c in cells if c.verdict.startswith("FAIL")]
        for c in failed:
            rig.log("\n%s %s %s: %s\n%s" % (c.connector, c.op, c.fault, c.verdict, getattr(c, "log", "")))
        self.assertTrue(cells, "no cell ran")
        self.assertEqual(["%s/%s/%s" % (c.connector, c.op, c.fault) for c in failed], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
