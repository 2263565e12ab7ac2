#!/usr/bin/env python3
"""One row of the scale benchmark (bench/scale/run.sh starts the control plane and the emulator;
this starts the operator from the command after --operator). Creates N CheckpointStores with A
associations each at once and prints, as a Markdown row:
  - time to all Ready, from a watch on the stores;
  - the API floor: a plain client making as many writes as the operator made, 16 in flight, in
    the same run, and the ratio of the time to all Ready to (FSx lifecycle time + floor), where
    the lifecycle time is the emulator's create time plus its association time;
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
  - operator peak and steady RSS and CPU seconds (of the first process).
The steady-state minute, the outage and the start-up take the same time at every size; run.sh
takes them on the first association count of each N only (--no-extras on the others).
Usage: see run.sh (--header prints the table head)."""
import argparse
import atexit
import concurrent.futures as futures
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

COLUMNS = ["stores", "assoc", "all Ready s", "API floor s", "ratio", "API req/store", "FSx calls/poll (create)",
           "FSx calls/min (steady)", "lifecycle→status p50/max s", "edit→status p50/p99 ms",
           "start-up: synced / all reconciled s (API req, FSx calls)", "API outage 30 s: req while down, re-sync s",
           "RSS peak/steady MB", "CPU s"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASSOCIATION_SECONDS = 1.0  # the emulator's association lifecycle (FsxEmulatorOptions::association_time)
STORES = "/apis/trainops.io/v1alpha1/namespaces/{ns}/checkpointstores"


class Api:
    """The API server as the admin, one kept-alive HTTPS connection per thread (as client-go does)."""

    def __init__(self, cp):
        env = dict(l.strip().split("=", 1) for l in open(f"{cp}/env") if "=" in l)
        self.host = urllib.parse.urlparse(env["CKPT_APISERVER_URL"]).netloc
        self.token = env["CKPT_ADMIN_TOKEN"]
        self.ctx = ssl.create_default_context(cafile=f"{cp}/pki/ca.crt")
        self.local = threading.local()

    def connect(self, timeout=60):
        return http.client.HTTPSConnection(self.host, context=self.ctx, timeout=timeout)

    def call(self, method, path, body=None, content_type="application/json"):
        for attempt in (1, 2):  # once more on a fresh connection if the server closed an idle one
            if not hasattr(self.local, "conn"):
                self.local.conn = self.connect()
            try:
                self.local.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                                        headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type})
                r = self.local.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError, http.client.CannotSendRequest):
                del self.local.conn
                if attempt == 2:
                    raise
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
        return json.loads(data or b"{}")


class StoreWatch(threading.Thread):
    """Records, per store, when the watch first saw: a fileSystemId, lifecycle AVAILABLE, phase Ready."""

    def __init__(self, api, ns):
        super().__init__(daemon=True)
        self.api, self.ns, self.seen = api, ns, {}
        self.lock = threading.Lock()

    def run(self):
        rv = self.api.call("GET", STORES.format(ns=self.ns))["metadata"]["resourceVersion"]
        while True:
            try:
                conn = self.api.connect(timeout=3600)
                conn.request("GET", STORES.format(ns=self.ns) + f"?watch=1&resourceVersion={rv}&allowWatchBookmarks=true",
                             headers={"Authorization": f"Bearer {self.api.token}"})
                for line in conn.getresponse():
                    e = json.loads(line)
                    if e.get("type") == "ERROR" or "object" not in e:  # e.g. 410 Gone: list again
                        rv = self.api.call("GET", STORES.format(ns=self.ns))["metadata"]["resourceVersion"]
                        break
                    rv = e["object"]["metadata"].get("resourceVersion", rv)
                    if e["type"] in ("ADDED", "MODIFIED"):
                        self.record(e["object"])
            except (OSError, http.client.HTTPException, ValueError, RuntimeError, KeyError):
                time.sleep(1)  # the API server outage; the figures that use this watch are taken by then

    def record(self, s):
        now, st = time.time(), s.get("status", {})
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


class Operator:
    """The operator process: started from `cmd`, its log in `log`; metrics port read off the log."""

    def __init__(self, cmd, log):
        self.log = log
        self.started = time.time()
        self.proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        atexit.register(self.proc.kill)
        self.synced = self.wait_log("caches synced") - self.started
        self.port = int(re.search(r"metrics on \S+ \(port (\d+)\)", open(log).read()).group(1))

    def wait_log(self, text, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in open(self.log).read():
                return time.time()
            time.sleep(0.05)
        raise RuntimeError(f"operator never logged {text!r}; see {self.log}")

    def metric(self, name, match=""):
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10).read().decode()
        return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(name) and match in l)

    def proc_stats(self):
        pid = self.proc.pid
        rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")) / 1024
        return rss, cpu_seconds(pid)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


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


def operator_requests(cp, since_line, ns, user="system:serviceaccount:ckpt-system:ckpt-operator"):
    """(all requests, writes, count by verb and resource) of the operator's ServiceAccount since
    `since_line` about namespace `ns` (and its stores' PVs), Leases excluded."""
    total = writes = i = 0
    by = {}
    with open(f"{cp}/audit.log") as f:
        for i, line in enumerate(f):
            if i < since_line:
                continue
            e = json.loads(line)
            ref = e.get("objectRef", {})
            if e.get("stage") != "ResponseComplete" or ref.get("resource") == "leases" or e.get("user", {}).get("username") != user:
                continue
            ours = (ref.get("namespace") == ns or f"ckpt-{ns}-" in ref.get("name", "")
                    or (not ref.get("namespace") and not ref.get("name")))  # cluster-wide lists and watches count
            if ns is not None and not ours:
                continue  # another row's objects (its namespace being deleted) do not
            total += 1
            writes += e.get("verb") in ("create", "update", "patch", "delete")
            what = f"{e.get('verb')} {ref.get('resource', e.get('requestURI'))}{'/' + ref['subresource'] if ref.get('subresource') else ''}"
            by[what] = by.get(what, 0) + 1
    return total, writes, by


def audit_lines(cp):
    with open(f"{cp}/audit.log") as f:
        return sum(1 for _ in f)


def cpu_seconds(pid):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return 0.0


def control_plane_cpu(cp):
    """CPU seconds so far of each control-plane process (pid files in the control plane's folder)."""
    out = {}
    for name in ("apiserver", "etcd", "controller-manager"):
        try:
            out[name] = cpu_seconds(int(open(f"{cp}/{name}.pid").read()))
        except (OSError, ValueError):
            pass
    return out


def wait_all_ready(watch, n, op):
    start, peak = time.time(), 0.0
    while len(watch.ready()) < n:
        peak = max(peak, op.proc_stats()[0])
        time.sleep(0.2)
    return max(watch.ready()) - start, peak


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


def edit_and_wait(api, ns, name, timeout=300):
    path = f"{STORES.format(ns=ns)}/{name}"
    policy = "Delete" if api.call("GET", path)["spec"]["deletionPolicy"] == "Retain" else "Retain"
    start = time.time()
    gen = api.call("PATCH", path, {"spec": {"deletionPolicy": policy}}, "application/merge-patch+json")["metadata"]["generation"]
    while api.call("GET", path).get("status", {}).get("observedGeneration", 0) < gen:
        if time.time() - start > timeout:
            raise RuntimeError(f"{name}: generation {gen} never observed")
        time.sleep(0.002)
    return time.time() - start


def edit_latencies(api, ns, n, samples=100):
    lat = sorted(edit_and_wait(api, ns, f"s{i}") * 1000 for i in range(0, n, max(1, n // samples)))
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def start_up(cmd, log, cp, fsx, n):
    """A second operator process with the N stores existing: (caches synced s, all reconciled s,
    API requests, FSx calls, process) once it has reconciled every store once."""
    since, calls = audit_lines(cp), sum(fsx_calls(fsx).values())
    op = Operator(cmd, log)
    while op.metric("controller_runtime_reconcile_total", 'controller="checkpointstore"') < n:
        time.sleep(0.05)
    reconciled = time.time() - op.started
    time.sleep(1)  # let the audit log catch up
    return op.synced, reconciled, operator_requests(cp, since, None)[0], sum(fsx_calls(fsx).values()) - calls, op


def api_outage(api, ns, cp, op, seconds=30):
    """Stops the API server for `seconds`: (requests the operator sent meanwhile, seconds from its
    return until an edit made then is reconciled)."""
    control = [os.path.join(ROOT, "tests/envtest/control-plane.sh")]
    sent = op.metric("rest_client_requests_total")
    subprocess.run(["bash", *control, "stop-apiserver", cp], check=True, capture_output=True)
    time.sleep(seconds)
    while_down = op.metric("rest_client_requests_total") - sent
    subprocess.run(["bash", *control, "start-apiserver", cp], check=True, capture_output=True)
    api.local = threading.local()  # the old connections died with the server
    return while_down, edit_and_wait(api, ns, "s1")


def delete_namespace(api, ns, timeout=600):
    api.call("DELETE", f"/api/v1/namespaces/{ns}")
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            api.call("GET", f"/api/v1/namespaces/{ns}")
        except RuntimeError as e:
            if " 404 " in str(e):
                return
        time.sleep(1)
    raise RuntimeError(f"namespace {ns} still there after {timeout}s")


def row(a, cmd, log):
    api, ns, n = Api(a.control_plane), a.namespace, a.stores
    api.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    op = Operator(cmd, log)
    watch = StoreWatch(api, ns)
    watch.start()
    time.sleep(0.5)
    since = audit_lines(a.control_plane)
    before = fsx_calls(a.fsx)
    cpu_before, op_cpu_before, wall = control_plane_cpu(a.control_plane), op.proc_stats()[1], time.time()
    with futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: api.call("POST", STORES.format(ns=ns), store(ns, i, a.associations)), range(n)))
    ready_s, peak = wait_all_ready(watch, n, op)
    used = {k: v - cpu_before.get(k, 0) for k, v in control_plane_cpu(a.control_plane).items()}
    used["ckpt-operator"] = op.proc_stats()[1] - op_cpu_before
    print(f"  (CPU seconds until all Ready, {time.time() - wall:.1f} s wall × {os.cpu_count()} cores: "
          + ", ".join(f"{k} {v:.1f}" for k, v in used.items()) + ")", file=sys.stderr, flush=True)
    after = fsx_calls(a.fsx)
    time.sleep(1)
    requests, writes, by = operator_requests(a.control_plane, since, ns)
    print("  (requests per store: " + ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(by.items(), key=lambda kv: -kv[1])) + ")",
          file=sys.stderr, flush=True)
    polls = max(1.0, ready_s / a.poll_interval)
    create_calls = ", ".join(f"{op_name.replace('Describe', 'D.').replace('DataRepositoryAssociations', 'DRAs')} "
                             f"{(after.get(op_name, 0) - before.get(op_name, 0)) / polls:.1f}"
                             for op_name in sorted(after) if op_name.startswith("Describe") and after.get(op_name, 0) > before.get(op_name, 0))
    lags = watch.lifecycle_lags(a.create_seconds)
    steady, start, outage = "–", "–", "–"
    if a.extras:
        time.sleep(60)
        steady = sum(fsx_calls(a.fsx).values()) - sum(after.values())
    rss_steady, cpu = op.proc_stats()
    p50, p99 = edit_latencies(api, ns, n)
    if a.extras:
        down, resync = api_outage(api, ns, a.control_plane, op)
        outage = f"{down:.0f}, {resync:.1f}"
        op.stop()
        synced, reconciled, start_requests, start_calls, op = start_up(cmd, log + ".restart", a.control_plane, a.fsx, n)
        start = f"{synced:.1f} / {reconciled:.1f} ({start_requests}, {start_calls})"
    floor = api_floor(api, ns, writes)
    delete_namespace(api, ns)  # while an operator runs to release the stores, so the next row starts clean
    op.stop()
    ratio = ready_s / (a.create_seconds + ASSOCIATION_SECONDS + floor)
    return (f"| {n} | {a.associations} | {ready_s:.1f} | {floor:.1f} | {ratio:.1f}× | {requests / n:.1f} | {create_calls} | "
            f"{steady} | {lags[len(lags) // 2]:.1f} / {lags[-1]:.1f} | {p50:.0f} / {p99:.0f} | {start} | {outage} | "
            f"{peak:.1f} / {rss_steady:.1f} | {cpu:.1f} |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--header", action="store_true")
    p.add_argument("--stores", type=int)
    p.add_argument("--associations", type=int, default=1)
    p.add_argument("--create-seconds", type=float, default=5)
    p.add_argument("--poll-interval", type=float, default=2, help="the operator's --fsx-poll-interval")
    p.add_argument("--control-plane")
    p.add_argument("--fsx")
    p.add_argument("--namespace")
    p.add_argument("--no-extras", dest="extras", action="store_false",
                   help="skip the steady-state minute, the API outage and the start-up figures (run once per N)")
    p.add_argument("--log", help="the operator's log file")
    p.add_argument("--operator", nargs=argparse.REMAINDER, help="the operator's command line (last)")
    a = p.parse_args()
    if a.header:
        print("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS))
        return
    print(row(a, a.operator, a.log), flush=True)


if __name__ == "__main__":
    main()
