#!/usr/bin/env python3
"""One row of the scale benchmark (bench/scale/run.sh starts the control plane and the emulator;
this starts the operator from the command after --operator). Creates N CheckpointStores with A
associations each at once and prints, as a Markdown row:
  - time to all Ready, from a watch on the stores;
  - the API floor: a plain client replaying the operator's writes kind for kind (status patches
    of the same stores, as many Events, ConfigMaps for the rest), 16 in flight, with the operator
    stopped, in the same run; and the ratio of the time to all Ready to (FSx lifecycle time +
    floor), where the lifecycle time is the emulator's create time plus its association time;
  - API requests per store (the API server's audit log of the operator's ServiceAccount, Leases
    excluded; the breakdown goes to stderr);
  - FSx Describe calls per poll interval while creating, by operation, and all FSx calls in the
    minute after all Ready;
  - FSx lifecycle change to status: from the moment the emulator made a file system AVAILABLE
    (its create time after the store's status first named it) to the watch seeing
    status.lifecycle AVAILABLE, p50 and max;
  - p50/p99 from a spec edit to status.observedGeneration catching up (100 stores);
  - start-up with the N stores existing: a new operator process, time to caches synced and to one
    reconcile per store, with the API requests and FSx calls it made meanwhile;
  - a 30 s API server outage: requests the operator sent while it was down, and the time from the
    API server's return to an edit made then being reconciled;
  - operator peak RSS while creating, steady RSS afterwards (of the process then running), and the
    CPU seconds it used from the first create to all Ready.
To keep the whole table under 20 minutes run.sh takes the start-up on the first association
count of each N only (--no-extras on the others), and the steady-state minute and the outage on
the largest N only (--steady-minute, --outage). With
--trainruns R, R TrainRuns then run on the first R stores with the same operator and a second
row is printed (bench/scale/trainruns.py). Where the time went goes to stderr, phase by phase.
Usage: see run.sh (--header prints the table head)."""
import argparse
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Api, Operator, Watch, api_floor, audit_lines, breakdown, control_plane_cpu, cpu_line,  # noqa: E402
                    describe_calls_per_poll, edit_and_wait, edit_latencies, fsx_calls,
                    operator_requests, start_up, wait_for_all)
import trainruns  # noqa: E402

COLUMNS = ["stores", "assoc", "all Ready s", "API floor s", "ratio", "API req/store", "FSx calls/poll (create)",
           "FSx calls/min (steady)", "lifecycle→status p50/max s", "edit→status p50/p99 ms",
           "start-up: synced / all reconciled s (API req, FSx calls)", "API outage 30 s: req while down, re-sync s",
           "RSS peak/steady MB", "CPU s"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASSOCIATION_SECONDS = 1.0  # the emulator's association lifecycle (FsxEmulatorOptions::association_time)
STORES = "/apis/trainops.io/v1alpha1/namespaces/{ns}/checkpointstores"


class StoreWatch(Watch):
    """Records, per store, when the watch first saw: a fileSystemId, lifecycle AVAILABLE, phase Ready."""

    def __init__(self, api, ns):
        super().__init__(api, STORES.format(ns=ns))
        self.seen = {}

    def record(self, s, now):
        st = s.get("status", {})
        with self.lock:
            t = self.seen.setdefault(s["metadata"]["name"], {})
            if st.get("fileSystemId"):
                t.setdefault("id", now)
            if st.get("lifecycle") == "AVAILABLE":
                t.setdefault("available", now)
            if st.get("phase") == "Ready":
                t.setdefault("ready", now)

    def ready(self):
        with self.lock:
            return [t["ready"] for t in self.seen.values() if "ready" in t]

    def lifecycle_lags(self, create_seconds):
        with self.lock:
            return sorted(t["available"] - t["id"] - create_seconds for t in self.seen.values() if "available" in t and "id" in t)


class Phases:
    """Where the row's time went, printed to stderr at the end."""

    def __init__(self):
        self.last, self.spent = time.time(), []

    def done(self, what):
        now = time.time()
        self.spent.append(f"{what} {now - self.last:.0f}")
        self.last = now

    def __str__(self):
        return "  (seconds spent: " + ", ".join(self.spent) + ")"


def store(ns, i, associations):
    paths = ["/checkpoints", "/data", "/logs", "/results"][:associations]
    return {"apiVersion": "trainops.io/v1alpha1", "kind": "CheckpointStore", "metadata": {"name": f"s{i}", "namespace": ns},
            "spec": {"fileSystem": {"deploymentType": "PERSISTENT_2", "storageCapacityGiB": 1200, "perUnitStorageThroughput": 125,
                                    "subnetId": "subnet-0123456789abcdef0", "securityGroupIds": ["sg-0123456789abcdef0"]},
                     "dataRepository": {"bucket": "s3://bench-123456789012", "associations": [
                         {"path": p, "prefix": f"s{i}{p}/", "export": ["NEW", "CHANGED"]} for p in paths]},
                     "volume": {"claimName": f"s{i}-ckpt"}, "deletionPolicy": "Retain"}}


def flip_deletion_policy(s):
    return {"spec": {"deletionPolicy": "Delete" if s["spec"]["deletionPolicy"] == "Retain" else "Retain"}}


def api_outage(api, path, cp, op, seconds=30):
    """Stops the API server for `seconds`: (requests the operator sent meanwhile, seconds from its
    return until an edit made then is reconciled)."""
    control = [os.path.join(ROOT, "tests/envtest/control-plane.sh")]
    sent = op.metric("rest_client_requests_total")
    subprocess.run(["bash", *control, "stop-apiserver", cp], check=True, capture_output=True)
    time.sleep(seconds)
    while_down = op.metric("rest_client_requests_total") - sent
    subprocess.run(["bash", *control, "start-apiserver", cp], check=True, capture_output=True)
    api.local = threading.local()  # the old connections died with the server
    return while_down, edit_and_wait(api, path, flip_deletion_policy)


def create_until_ready(a, api, ns, op, watch):
    """Creates the stores, waits for all Ready: (seconds, peak RSS, operator CPU seconds, requests,
    writes by kind, FSx calls per poll, FSx calls so far)."""
    since, before = audit_lines(a.control_plane), fsx_calls(a.fsx)
    cpu_before, op_cpu_before, wall = control_plane_cpu(a.control_plane), op.proc_stats()[1], time.time()
    api.create_all(STORES.format(ns=ns), [store(ns, i, a.associations) for i in range(a.stores)])
    ready_s, peak = wait_for_all(watch.ready, a.stores, op)
    cpu = op.proc_stats()[1] - op_cpu_before
    print(cpu_line(cpu_before, control_plane_cpu(a.control_plane), cpu, time.time() - wall), file=sys.stderr, flush=True)
    after = fsx_calls(a.fsx)
    time.sleep(1)
    requests, _, by = operator_requests(a.control_plane, since, ns)
    print(breakdown(by, a.stores, "store"), file=sys.stderr, flush=True)
    return ready_s, peak, cpu, requests, by, describe_calls_per_poll(before, after, max(1.0, ready_s / a.poll_interval)), after


def extras(a, api, ns, op, cmd, log, after, phases):
    """The steady minute (--steady-minute), the API outage (--outage) and the start-up: (steady,
    outage, start-up, operator now)."""
    steady, outage = "–", "–"
    if a.steady_minute:
        time.sleep(60)
        steady = sum(fsx_calls(a.fsx).values()) - sum(after.values())
        phases.done("steady minute")
    if a.outage:
        down, resync = api_outage(api, f"{STORES.format(ns=ns)}/s1", a.control_plane, op)
        outage = f"{down:.0f}, {resync:.1f}"
        phases.done("outage")
    op.stop()
    synced, reconciled, requests, calls, op = start_up(cmd, log + ".restart", a.control_plane, a.fsx, {"checkpointstore": a.stores})
    phases.done("start-up")
    return steady, outage, f"{synced:.1f} / {reconciled:.1f} ({requests}, {calls})", op


def row(a, cmd, log):
    api, ns, n, phases = Api(a.control_plane), a.namespace, a.stores, Phases()
    api.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    op = Operator(cmd, log)
    watch = StoreWatch(api, ns)
    watch.start()
    time.sleep(0.5)
    ready_s, peak, cpu, requests, by, create_calls, after = create_until_ready(a, api, ns, op, watch)
    phases.done("create to all Ready")
    lags = watch.lifecycle_lags(a.create_seconds)
    steady, start, outage = "–", "–", "–"
    if a.extras:
        steady, outage, start, op = extras(a, api, ns, op, cmd, log, after, phases)
    rss_steady = op.proc_stats()[0]
    stores = [f"{STORES.format(ns=ns)}/s{i}" for i in range(n)]
    p50, p99 = edit_latencies(api, stores, flip_deletion_policy)
    phases.done("edits")
    runs = trainruns.row(a, api, ns, op, cmd, log, phases) if a.trainruns else None
    (runs.op if runs else op).stop()
    floor = api_floor(api, ns, by, stores)
    phases.done("API floor")
    ratio = ready_s / (a.create_seconds + ASSOCIATION_SECONDS + floor)
    print(f"| {n} | {a.associations} | {ready_s:.1f} | {floor:.1f} | {ratio:.1f}× | {requests / n:.1f} | {create_calls} | "
          f"{steady} | {lags[len(lags) // 2]:.1f} / {lags[-1]:.1f} | {p50:.0f} / {p99:.0f} | {start} | {outage} | "
          f"{peak:.1f} / {rss_steady:.1f} | {cpu:.1f} |", flush=True)
    if runs:
        runs.print_row(api, ns)
        phases.done("runs API floor")
    print(phases, file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--header", action="store_true")
    p.add_argument("--stores", type=int)
    p.add_argument("--associations", type=int, default=1)
    p.add_argument("--trainruns", type=int, default=0, help="then run this many TrainRuns on the first stores")
    p.add_argument("--create-seconds", type=float, default=5)
    p.add_argument("--poll-interval", type=float, default=2, help="the operator's --fsx-poll-interval")
    p.add_argument("--control-plane")
    p.add_argument("--fsx")
    p.add_argument("--namespace")
    p.add_argument("--no-extras", dest="extras", action="store_false",
                   help="skip the steady-state minute, the API outage and the start-up figures (run once per N)")
    p.add_argument("--steady-minute", action="store_true", help="with the extras: FSx calls in the minute after all Ready")
    p.add_argument("--outage", action="store_true", help="with the extras: the 30 s API server outage")
    p.add_argument("--log", help="the operator's log file")
    p.add_argument("--operator", nargs=argparse.REMAINDER, help="the operator's command line (last)")
    a = p.parse_args()
    if a.header:
        print("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS))
        return
    row(a, a.operator, a.log)


if __name__ == "__main__":
    main()
