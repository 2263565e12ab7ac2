"""What the scale benchmark's rows share (bench/scale/scale.py for CheckpointStores,
bench/scale/trainruns.py for TrainRuns): the API server as the admin, a list-then-watch thread,
the operator process and its metrics, the API server's audit log of the operator's requests, CPU
seconds per process, the API floor (a plain client making the same number of writes) and the
edit-to-status and start-up figures."""
import atexit
import concurrent.futures as futures
import http.client
import json
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request

OPERATOR_USER = "system:serviceaccount:ckpt-system:ckpt-operator"


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

    def create_all(self, path, objects, in_flight=16):
        with futures.ThreadPoolExecutor(in_flight) as pool:
            list(pool.map(lambda o: self.call("POST", path, o), objects))


class Watch(threading.Thread):
    """Lists `path` then watches it (listing again after 410 Gone or an outage), calling
    record(object, time seen) for every ADDED or MODIFIED object."""

    def __init__(self, api, path, query=""):
        super().__init__(daemon=True)
        self.api, self.path, self.query = api, path, query
        self.lock = threading.Lock()

    def run(self):
        rv = self.list()
        while True:
            try:
                conn = self.api.connect(timeout=3600)
                conn.request("GET", f"{self.path}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true{self.query}",
                             headers={"Authorization": f"Bearer {self.api.token}"})
                for line in conn.getresponse():
                    e = json.loads(line)
                    if e.get("type") == "ERROR" or "object" not in e:  # e.g. 410 Gone: list again
                        rv = self.list()
                        break
                    rv = e["object"]["metadata"].get("resourceVersion", rv)
                    if e["type"] in ("ADDED", "MODIFIED"):
                        self.record(e["object"], time.time())
            except (OSError, http.client.HTTPException, ValueError, RuntimeError, KeyError):
                time.sleep(1)  # the API server outage; the figures that use this watch are taken by then

    def list(self):
        items = self.api.call("GET", f"{self.path}?{self.query.lstrip('&')}")
        for o in items.get("items", []):
            self.record(o, time.time())
        return items["metadata"]["resourceVersion"]

    def record(self, obj, now):
        raise NotImplementedError


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

    def reconciled(self, controller):
        return self.metric("controller_runtime_reconcile_total", f'controller="{controller}"')

    def proc_stats(self):
        pid = self.proc.pid
        rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")) / 1024
        return rss, cpu_seconds(pid)

    def stop(self):
        """SIGKILL, as a node failure would: a graceful stop takes the daemon about 5 s (its watch
        connections closing), which the table does not measure; nothing here depends on it."""
        self.proc.kill()
        self.proc.wait(30)


def wait_for_all(seen, n, op):
    """Waits until seen() (the times a watch first saw each object reach a state) has n entries:
    (seconds from now to the last of them, the operator's peak RSS meanwhile)."""
    start, peak = time.time(), 0.0
    while len(seen()) < n:
        peak = max(peak, op.proc_stats()[0])
        time.sleep(0.2)
    return max(seen()) - start, peak


def fsx_calls(fsx):
    return json.load(urllib.request.urlopen(f"{fsx}/_emulator/stats"))["calls"]


def describe_calls_per_poll(before, after, polls):
    """FSx Describe calls between two fsx_calls() readings, per poll interval, by operation."""
    return ", ".join(f"{name.replace('Describe', 'D.').replace('DataRepositoryAssociations', 'DRAs')} "
                     f"{(after.get(name, 0) - before.get(name, 0)) / polls:.1f}"
                     for name in sorted(after) if name.startswith("Describe") and after.get(name, 0) > before.get(name, 0)) or "0"


def operator_requests(cp, since_line, ns):
    """(all requests, writes, count by verb and resource) of the operator's ServiceAccount since
    `since_line` about namespace `ns` (and its stores' PVs), Leases excluded; ns None = all."""
    total = writes = 0
    by = {}
    with open(f"{cp}/audit.log") as f:
        for i, line in enumerate(f):
            if i < since_line or OPERATOR_USER not in line:
                continue
            e = json.loads(line)
            ref = e.get("objectRef", {})
            if e.get("stage") != "ResponseComplete" or ref.get("resource") == "leases" or e.get("user", {}).get("username") != OPERATOR_USER:
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


def breakdown(by, n, what):
    return f"  (requests per {what}: " + ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(by.items(), key=lambda kv: -kv[1])) + ")"


def audit_lines(cp):
    with open(f"{cp}/audit.log", "rb") as f:
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
    for name in ("apiserver", "etcd", "controller-manager", "scheduler", "trainer", "jobset", "kwok"):
        try:
            out[name] = cpu_seconds(int(open(f"{cp}/{name}.pid").read()))
        except (OSError, ValueError):
            pass
    return out


def cpu_line(before, after, op_cpu, wall):
    used = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) >= 0.05}
    used["ckpt-operator"] = op_cpu
    return (f"  (CPU seconds, {wall:.1f} s wall × {os.cpu_count()} cores: "
            + ", ".join(f"{k} {v:.1f}" for k, v in used.items()) + ")")


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def api_floor(api, ns, by, objects, prefix="floor", most=500):
    """Seconds a plain client takes to replay the operator's writes `by` (operator_requests), kind
    for kind, 16 in flight, with the operator stopped: its status patches as status patches of the
    same objects (`objects`: their paths, round robin), its Events as Events, every other write
    as a ConfigMap create (creates and apply patches) or merge patch (other patches). Past `most`
    objects it replays that many objects' share and scales the time up, so the largest rows stay
    within the time budget. Measured in full the floor grows a little faster than N (2,000 stores
    with 4 associations: 93.9 s, 4.4 times the 21.2 s of 500), so the scaled floor is a little
    low and the ratio a little high: it errs against the operator."""
    scale = max(1.0, len(objects) / most)
    count = lambda test: int(sum(v for k, v in by.items() if test(k.split()[0], k.split()[1])) / scale)
    status = count(lambda verb, what: verb == "patch" and what.endswith("/status"))
    events = count(lambda verb, what: verb == "create" and what == "events")
    applies = count(lambda verb, what: verb == "patch" and what == "persistentvolumes")
    creates = count(lambda verb, what: verb == "create" and what != "events") + applies
    patches = count(lambda verb, what: verb in ("patch", "update", "delete") and not what.endswith("/status")) - applies
    base = f"/api/v1/namespaces/{ns}"
    event = lambda i: {"metadata": {"name": f"{prefix}-{i}"}, "type": "Normal", "reason": "Floor", "message": "a floor write",
                       "involvedObject": {"apiVersion": "v1", "kind": "ConfigMap", "name": f"{prefix}-0", "namespace": ns}}
    objects = objects[:int(len(objects) / scale)]
    start = time.time()
    with futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: api.call("POST", f"{base}/configmaps", {"metadata": {"name": f"{prefix}-{i}"}, "data": {"k": "v"}}),
                      range(max(1, creates))))
        list(pool.map(lambda i: api.call("POST", f"{base}/events", event(i)), range(events)))
        list(pool.map(lambda i: api.call("PATCH", f"{base}/configmaps/{prefix}-{i % max(1, creates)}", {"data": {"k": str(i)}},
                                         "application/merge-patch+json"), range(patches)))
        list(pool.map(lambda i: api.call("PATCH", f"{objects[i % len(objects)]}/status", {"status": {"observedGeneration": 10**6 + i}},
                                         "application/merge-patch+json"), range(status)))
    return (time.time() - start) * scale


def edit_and_wait(api, path, edit, timeout=300):
    """Merge-patches the object at `path` with edit(object) and waits until its
    status.observedGeneration reaches the new generation: seconds."""
    patch = edit(api.call("GET", path))
    start = time.time()
    gen = api.call("PATCH", path, patch, "application/merge-patch+json")["metadata"]["generation"]
    while api.call("GET", path).get("status", {}).get("observedGeneration", 0) < gen:
        if time.time() - start > timeout:
            raise RuntimeError(f"{path}: generation {gen} never observed")
        time.sleep(0.002)
    return time.time() - start


def edit_latencies(api, paths, edit, samples=100):
    """p50 and p99 ms of edit_and_wait over `samples` of `paths`, evenly spread."""
    step = max(1, len(paths) // samples)
    lat = [edit_and_wait(api, p, edit) * 1000 for p in paths[::step]]
    return percentile(lat, 0.5), percentile(lat, 0.99)


def start_up(cmd, log, cp, fsx, expected):
    """A new operator process with the objects existing: (caches synced s, all reconciled s, API
    requests, FSx calls, process) once each controller has reconciled its `expected` count."""
    since, calls = audit_lines(cp), sum(fsx_calls(fsx).values())
    op = Operator(cmd, log)
    while any(op.reconciled(c) < n for c, n in expected.items()):
        time.sleep(0.05)
    reconciled = time.time() - op.started
    time.sleep(1)  # let the audit log catch up
    return op.synced, reconciled, operator_requests(cp, since, None)[0], sum(fsx_calls(fsx).values()) - calls, op
