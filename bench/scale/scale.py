#!/usr/bin/env python3
"""One row of the scale benchmark (bench/scale/run.sh starts the servers): creates N
CheckpointStores with A associations each at once, waits until all are Ready, and prints, as a
Markdown row: time to all Ready; the API floor (a plain client making as many writes as the
operator made, 16 at a time, in the same run) and the ratio of the time to (FSx create time +
floor); API requests per store (the API server's audit log of the operator's ServiceAccount,
Lease renewals excluded); FSx calls per poll interval while creating, by operation; FSx calls in
the next minute of steady state; p50/p99 from a spec edit to status.observedGeneration; operator
peak RSS, steady RSS and CPU seconds. Figures the issue also asks for and this does not measure
yet: FSx lifecycle change to status, start-up with N objects, re-sync after an API outage, and
TrainRuns at scale.  Usage: see run.sh (--header prints the table head)."""
import argparse
import concurrent.futures as futures
import http.client
import json
import os
import ssl
import threading
import time
import urllib.parse
import urllib.request

COLUMNS = ["stores", "assoc", "all Ready s", "API floor s", "ratio", "API req/store", "FSx calls/poll (create)",
           "FSx calls/min (steady)", "edit→status p50/p99 ms", "RSS peak/steady MB", "CPU s"]


class Api:
    """The API server as the admin, one kept-alive HTTPS connection per thread (as client-go does)."""

    def __init__(self, cp):
        env = dict(l.strip().split("=", 1) for l in open(f"{cp}/env") if "=" in l)
        self.host = urllib.parse.urlparse(env["CKPT_APISERVER_URL"]).netloc
        self.token = env["CKPT_ADMIN_TOKEN"]
        self.ctx = ssl.create_default_context(cafile=f"{cp}/pki/ca.crt")
        self.local = threading.local()

    def call(self, method, path, body=None, content_type="application/json"):
        if not hasattr(self.local, "conn"):
            self.local.conn = http.client.HTTPSConnection(self.host, context=self.ctx, timeout=60)
        conn = self.local.conn
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type})
        r = conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
        return json.loads(data or b"{}")


def store(ns, i, associations):
    paths = ["/checkpoints", "/data", "/logs", "/results"][:associations]
    return {"apiVersion": "trainops.io/v1alpha1", "kind": "CheckpointStore", "metadata": {"name": f"s{i}", "namespace": ns},
            "spec": {"fileSystem": {"deploymentType": "PERSISTENT_2", "storageCapacityGiB": 1200, "perUnitStorageThroughput": 125,
                                    "subnetId": "subnet-0123456789abcdef0", "securityGroupIds": ["sg-0123456789abcdef0"]},
                     "dataRepository": {"bucket": "s3://bench-123456789012", "associations": [
                         {"path": p, "prefix": f"s{i}{p}/", "export": ["NEW", "CHANGED"]} for p in paths]},
                     "volume": {"claimName": f"s{i}-ckpt"}, "deletionPolicy": "Retain"}}


def fsx_calls(fsx):
    return json.load(urllib.request.urlopen(f"{fsx}/_emulator/stats"))["calls"]


def proc(pid):
    rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")) / 1024
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def operator_requests(cp, since_line):
    """(all requests, writes) the operator's ServiceAccount made since `since_line`, Leases excluded."""
    total = writes = 0
    with open(f"{cp}/audit.log") as f:
        for i, line in enumerate(f):
            if i < since_line:
                continue
            e = json.loads(line)
            if e.get("stage") == "ResponseComplete" and e.get("objectRef", {}).get("resource") != "leases":
                total += 1
                writes += e.get("verb") in ("create", "update", "patch", "delete")
    return total, writes


def audit_lines(cp):
    with open(f"{cp}/audit.log") as f:
        return sum(1 for _ in f)


def wait_all_ready(api, ns, n, fsx, pid, poll):
    start, samples, peak = time.time(), [], 0.0
    before = fsx_calls(fsx)
    while True:
        items = api.call("GET", f"/apis/trainops.io/v1alpha1/namespaces/{ns}/checkpointstores")["items"]
        ready = sum(1 for s in items if s.get("status", {}).get("phase") == "Ready")
        peak = max(peak, proc(pid)[0])
        if ready == n:
            return time.time() - start, before, fsx_calls(fsx), peak
        time.sleep(poll)


def api_floor(api, ns, writes):
    """A plain client making `writes` writes (creates, then merge patches), 16 in flight."""
    base = f"/api/v1/namespaces/{ns}/configmaps"
    creates = max(1, writes // 3)
    start = time.time()
    with futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: api.call("POST", base, {"metadata": {"name": f"floor-{i}"}, "data": {"k": "v"}}), range(creates)))
        list(pool.map(lambda i: api.call("PATCH", f"{base}/floor-{i % creates}", {"data": {"k": str(i)}},
                                         "application/merge-patch+json"), range(writes - creates)))
    return time.time() - start


def edit_latencies(api, ns, n, samples=100):
    lat = []
    for i in range(0, n, max(1, n // samples)):
        path = f"/apis/trainops.io/v1alpha1/namespaces/{ns}/checkpointstores/s{i}"
        policy = "Delete" if api.call("GET", path)["spec"]["deletionPolicy"] == "Retain" else "Retain"
        start = time.time()
        gen = api.call("PATCH", path, {"spec": {"deletionPolicy": policy}}, "application/merge-patch+json")["metadata"]["generation"]
        while api.call("GET", path).get("status", {}).get("observedGeneration", 0) < gen:
            time.sleep(0.002)
        lat.append((time.time() - start) * 1000)
    lat.sort()
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--header", action="store_true")
    p.add_argument("--stores", type=int)
    p.add_argument("--associations", type=int, default=1)
    p.add_argument("--create-seconds", type=float, default=5)
    p.add_argument("--poll-interval", type=float, default=2, help="the operator's --fsx-poll-interval")
    p.add_argument("--control-plane")
    p.add_argument("--fsx")
    p.add_argument("--operator-pid", type=int)
    p.add_argument("--namespace")
    a = p.parse_args()
    if a.header:
        print("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS))
        return
    api, ns, n = Api(a.control_plane), a.namespace, a.stores
    api.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    since = audit_lines(a.control_plane)
    with futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: api.call("POST", f"/apis/trainops.io/v1alpha1/namespaces/{ns}/checkpointstores",
                                         store(ns, i, a.associations)), range(n)))
    ready_s, before, after, peak = wait_all_ready(api, ns, n, a.fsx, a.operator_pid, 0.5)
    requests, writes = operator_requests(a.control_plane, since)
    polls = max(1.0, ready_s / a.poll_interval)
    create_calls = ", ".join(f"{op.replace('Describe', 'D.').replace('DataRepositoryAssociations', 'DRAs')} "
                             f"{(after.get(op, 0) - before.get(op, 0)) / polls:.1f}"
                             for op in sorted(after) if op.startswith("Describe") and after.get(op, 0) > before.get(op, 0))
    time.sleep(60)
    steady = sum(fsx_calls(a.fsx).values()) - sum(after.values())
    rss_steady, cpu = proc(a.operator_pid)
    p50, p99 = edit_latencies(api, ns, n)
    floor = api_floor(api, ns, writes)
    ratio = ready_s / (a.create_seconds + floor)
    print(f"| {n} | {a.associations} | {ready_s:.1f} | {floor:.1f} | {ratio:.1f}× | {requests / n:.1f} | {create_calls} | "
          f"{steady} | {p50:.0f} / {p99:.0f} | {peak:.1f} / {rss_steady:.1f} | {cpu:.1f} |", flush=True)


if __name__ == "__main__":
    main()
