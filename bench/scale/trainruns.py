"""The TrainRun row of the scale benchmark (bench/scale/scale.py --trainruns R): on the real
training stack (Kubeflow Trainer, JobSet, kube-scheduler, kube-controller-manager's job
controller, kwok's simulated nodes; tests/envtest/control-plane.sh --training-stack), R TrainRuns
of one trainer pod each, run i on store i (mod N) of the row before, created at once with the operator of
that row still running (so the memory figure is for its stores plus the runs). Printed in the
store table's columns:
  - time to all TrainRuns Running, from a watch on the runs;
  - the API floor (a plain client making the operator's writes) and the ratio of the time to all
    Running to the time the upstream stack took to run the last pod (the runs' "lifecycle");
  - API requests per run (audit log), FSx Describe calls per poll interval meanwhile;
  - pod Running to TrainRun Running, p50 and max: from the watch seeing a run's pod Running to it
    seeing the run's status.phase Running;
  - p50/p99 from a spec edit (resilience.maxRestarts) to status.observedGeneration catching up;
  - start-up with the stores and runs existing: a new operator process, caches synced and every
    store and run reconciled once;
  - operator peak RSS while the runs start, steady RSS of the new process, and CPU seconds."""
import sys
import time

from common import (Watch, api_floor, audit_lines, breakdown, control_plane_cpu, cpu_line,
                    describe_calls_per_poll, edit_latencies, fsx_calls, operator_requests, percentile, start_up,
                    wait_for_all)

RUNS = "/apis/trainops.io/v1alpha1/namespaces/{ns}/trainruns"
PODS = "/api/v1/namespaces/{ns}/pods"
RUN_LABEL = "trainops.io/trainrun"


class RunWatch(Watch):
    """When the watch first saw each run's status.phase Running."""

    def __init__(self, api, ns):
        super().__init__(api, RUNS.format(ns=ns))
        self.running = {}

    def record(self, run, now):
        if run.get("status", {}).get("phase") == "Running":
            with self.lock:
                self.running.setdefault(run["metadata"]["name"], now)

    def times(self):
        with self.lock:
            return list(self.running.values())


class PodWatch(Watch):
    """When the watch first saw each trainer pod Running, by run."""

    def __init__(self, api, ns):
        super().__init__(api, PODS.format(ns=ns), f"&labelSelector={RUN_LABEL}")
        self.pods = {}

    def record(self, pod, now):
        run = pod["metadata"].get("labels", {}).get(RUN_LABEL)
        if run and pod.get("status", {}).get("phase") == "Running":
            with self.lock:
                self.pods.setdefault(run, {}).setdefault(pod["metadata"]["name"], now)

    def all_running(self, run):
        with self.lock:
            return max(self.pods.get(run, {}).values(), default=None)


def trainrun(ns, i, stores):
    return {"apiVersion": "trainops.io/v1alpha1", "kind": "TrainRun", "metadata": {"name": f"r{i}", "namespace": ns},
            "spec": {"checkpointStore": f"s{i % stores}", "runtimeRef": {"kind": "ClusterTrainingRuntime", "name": "torch-distributed"},
                     "resilience": {"maxRestarts": 10},
                     "placement": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
                     "trainer": {"image": "public.ecr.aws/example/bench:1.0", "command": ["torchrun", "train.py"],
                                 "numNodes": 1, "resourcesPerNode": {"requests": {"cpu": "1"}}}}}


def wait_for_trainer(api, ns, timeout=180):
    """Seconds until Trainer's TrainJob webhook accepts a (dry-run) TrainJob on a runtime created
    just before. The webhook looks runtimes up in its informer cache, which after the API server
    outage of the row before lags for tens of seconds (its reflectors back off): not this figure."""
    source = api.call("GET", "/apis/trainer.kubeflow.org/v1alpha1/clustertrainingruntimes/torch-distributed")
    runtimes = f"/apis/trainer.kubeflow.org/v1alpha1/namespaces/{ns}/trainingruntimes"
    api.call("POST", runtimes, {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainingRuntime",
                                "metadata": {"name": "bench-probe", "namespace": ns}, "spec": source["spec"]})
    job = {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "metadata": {"name": "bench-probe", "namespace": ns},
           "spec": {"runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "TrainingRuntime", "name": "bench-probe"}}}
    start = time.time()
    while True:
        try:
            api.call("POST", f"/apis/trainer.kubeflow.org/v1alpha1/namespaces/{ns}/trainjobs?dryRun=All", job)
            return time.time() - start
        except RuntimeError:
            if time.time() - start > timeout:
                raise
            time.sleep(0.5)


def flip_max_restarts(run):
    return {"spec": {"resilience": {"maxRestarts": 11 if run["spec"]["resilience"]["maxRestarts"] == 10 else 10}}}


class Figures:
    """The runs' figures, printed once the API floor is measured with the operator stopped."""

    def __init__(self, **figures):
        self.__dict__.update(figures)

    def print_row(self, api, ns):
        floor = api_floor(api, ns, self.by, [f"{RUNS.format(ns=ns)}/r{i}" for i in range(self.n)], prefix="runs-floor")
        print(f"| {self.n} TrainRuns | (on {self.stores} stores) | {self.running_s:.1f} | {floor:.1f} | "
              f"{self.running_s / self.last_pod:.2f}× | {self.requests / self.n:.1f} | {self.calls} | – | "
              f"{percentile(self.lags, 0.5):.1f} / {max(self.lags):.1f} | {self.p50:.0f} / {self.p99:.0f} | {self.start} | – | "
              f"{self.peak:.1f} / {self.rss_steady:.1f} | {self.cpu:.1f} |", flush=True)


def create_until_running(a, api, ns, op):
    """Creates the runs at once and waits for all Running: the figures of that."""
    n = a.trainruns
    runs, pods = RunWatch(api, ns), PodWatch(api, ns)
    runs.start(), pods.start()
    time.sleep(0.5)
    since, before = audit_lines(a.control_plane), fsx_calls(a.fsx)
    cpu_before, op_cpu_before, wall = control_plane_cpu(a.control_plane), op.proc_stats()[1], time.time()
    api.create_all(RUNS.format(ns=ns), [trainrun(ns, i, a.stores) for i in range(n)])
    created = time.time()
    running_s, peak = wait_for_all(runs.times, n, op)
    cpu = op.proc_stats()[1] - op_cpu_before
    print(cpu_line(cpu_before, control_plane_cpu(a.control_plane), cpu, time.time() - wall), file=sys.stderr, flush=True)
    calls = describe_calls_per_poll(before, fsx_calls(a.fsx), max(1.0, running_s / a.poll_interval))
    last_pod = max(pods.all_running(r) or created for r in runs.running) - created
    lags = [t - pods.all_running(r) for r, t in runs.running.items() if pods.all_running(r)]
    time.sleep(1)
    requests, _, by = operator_requests(a.control_plane, since, ns)
    print(breakdown(by, n, "run"), file=sys.stderr, flush=True)
    return Figures(n=n, stores=a.stores, running_s=running_s, peak=peak, cpu=cpu, calls=calls, last_pod=last_pod,
                   lags=lags, requests=requests, by=by)


def row(a, api, ns, op, cmd, log, phases):
    """The runs' figures (Figures.print_row prints them) with the operator then running (.op)."""
    print(f"  (Trainer's webhook saw a new runtime after {wait_for_trainer(api, ns):.1f} s)", file=sys.stderr, flush=True)
    f = create_until_running(a, api, ns, op)
    phases.done("runs to all Running")
    f.p50, f.p99 = edit_latencies(api, [f"{RUNS.format(ns=ns)}/r{i}" for i in range(f.n)], flip_max_restarts)
    phases.done("run edits")
    op.stop()
    synced, reconciled, requests, calls, f.op = start_up(
        cmd, log + ".runs-restart", a.control_plane, a.fsx, {"checkpointstore": a.stores, "trainrun": f.n})
    f.start = f"{synced:.1f} / {reconciled:.1f} ({requests}, {calls})"
    time.sleep(5)
    f.rss_steady = f.op.proc_stats()[0]
    phases.done("start-up with runs")
    return f
