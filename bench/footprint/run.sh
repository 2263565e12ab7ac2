#!/usr/bin/env bash
# Footprint of ckpt-operator next to its twins on controller-runtime (bench/footprint/crtwin) and
# kube-rs (bench/footprint/krtwin), measured in the same run on the same local control plane.
# ckpt-operator and the controller-runtime twin are warm standbys (leader election on, the lease
# held by a third process), so each runs exactly its list/watch caches and nothing else: the same
# five resources, plus three more the daemon caches (PVs, JobSets, derived TrainingRuntimes; empty
# here). kube-rs has no leader election: its twin runs its two controllers with no-op
# reconcilers and, as is idiomatic there, caches only the two primary kinds (a lower bound). Printed per process: RSS, anonymous RSS (its own heap and stacks,
# without shared-library pages) and time from start to caches synced; first with an empty
# cluster, then with N CheckpointStores, N TrainRuns and N labelled PVCs (default N=2000).
#   bash bench/footprint/run.sh [N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
n="${1:-2000}"
build="${BUILD_DIR:-build}"
cr_version=v0.21.0
twin="$root/.cache/bench/crtwin-$cr_version/crtwin"
kr_target="$root/.cache/bench/krtwin-kube1"

bin="$(bash tests/envtest/build-binaries.sh)"
cmake --build "$build" --target ckpt-operator lease_candidate >/dev/null
if [[ ! -x "$twin" ]]; then
  echo "building the controller-runtime $cr_version twin (once; cached in ${twin%/*})" >&2
  (cd bench/footprint/crtwin && GOSUMDB=off go build -o "$twin" .)
fi
echo "building the kube-rs twin (cached in $kr_target)" >&2
(cd bench/footprint/krtwin && CARGO_TARGET_DIR="$kr_target" cargo build --release --quiet)

work="$(mktemp -d /tmp/ckpt-footprint-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash tests/envtest/control-plane.sh stop "$work/cp" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
bash tests/envtest/control-plane.sh start "$work/cp" --owner-pid $$ >/dev/null
export KUBECONFIG="$work/cp/kubeconfig"
kubectl=("$bin/kubectl")

# A third process holds the lease, so both measured processes stay standbys.
mkdir -p "$work/lease"
"$build/tests/lease_candidate" "$KUBECONFIG" "$work/lease" holder bench-lease >/dev/null 2>&1 &
pids+=($!)
until [[ -f "$work/lease/holder.leading" ]]; do sleep 0.2; done

kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/status"; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# measure NAME READY_CHECK CMD...: starts CMD, waits for READY_CHECK, lets it settle, prints a row.
measure() {
  local name="$1" ready="$2"; shift 2
  local t0 log="$work/$name.log"
  t0=$(date +%s%N)
  "$@" >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  until eval "$ready"; do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.2
  done
  local synced
  synced=$(awk -v ns=$(( $(date +%s%N) - t0 )) 'BEGIN {printf "%.1f", ns / 1e9}')
  sleep 5
  printf '  %-32s RSS %7s MB   anon %7s MB   synced in %4ss\n' "$name" "$(mb "$(kib VmRSS $pid)")" \
    "$(mb "$(kib RssAnon $pid)")" "$synced"
  echo "$(kib VmRSS $pid) $(kib RssAnon $pid)" > "$work/$name.rss"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

ours() {
  measure ckpt-operator "curl -fs http://127.0.0.1:\$(sed -n 's/.*probes.* (port \([0-9]*\)).*/\1/p' $work/ckpt-operator.log | head -1)/readyz >/dev/null 2>&1" \
    env AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=unused \
    "$build/controller/ckpt-operator" --kubeconfig "$KUBECONFIG" --aws-region us-east-1 \
    --aws-endpoint-url http://127.0.0.1:9 --leader-election-namespace default --leader-election-id bench-lease \
    --health-probe-bind-address 127.0.0.1:0 --metrics-bind-address 0
}
theirs() {
  measure "controller-runtime $cr_version" "grep -q synced '$work/controller-runtime $cr_version.log'" \
    env LEASE_NAME=bench-lease "$twin"
}
kuberust() {
  measure "kube-rs 1.1" "grep -q synced '$work/kube-rs 1.1.log'" env EXPECT="$1" "$kr_target/release/krtwin"
}
ratio() {  # ratio FIELD OTHER: OTHER's figure over ckpt-operator's
  awk -v a="$(cut -d' ' -f"$1" "$work/ckpt-operator.rss")" -v b="$(cut -d' ' -f"$1" "$work/$2.rss")" \
    'BEGIN {printf "%.2f", b / a}'
}
report() {
  for other in "controller-runtime $cr_version" "kube-rs 1.1"; do
    printf '  %-32s RSS x%s, anon x%s\n' "$other / ckpt-operator:" "$(ratio 1 "$other")" "$(ratio 2 "$other")"
  done
}

echo "== empty cluster (idle; 2 controllers each; ckpt-operator also caches PVs, JobSets and derived runtimes)"
ours; theirs; kuberust 0; report

"${kubectl[@]}" create namespace bench >/dev/null
python3 - "$n" > "$work/objects.yaml" <<'EOF'
import sys
n = int(sys.argv[1])
for i in range(n):
    print(f"""---
apiVersion: trainops.io/v1alpha1
kind: CheckpointStore
metadata: {{name: store-{i}, namespace: bench, labels: {{team: bench}}}}
spec:
  fileSystem:
    deploymentType: PERSISTENT_2
    storageCapacityGiB: 2400
    perUnitStorageThroughput: 250
    subnetId: subnet-0123456789abcdef0
    fileSystemTypeVersion: "2.15"
  dataRepository:
    bucket: s3://training-ckpt-123456789012
    associations:
      - {{path: /data, prefix: data/, import: [NEW, CHANGED, DELETED]}}
      - {{path: /checkpoints, prefix: checkpoints/, import: [NEW, CHANGED, DELETED], export: [NEW, CHANGED, DELETED]}}
      - {{path: /logs, prefix: logs/, export: [NEW, CHANGED, DELETED]}}
      - {{path: /results, prefix: results/, export: [NEW, CHANGED, DELETED]}}
  volume: {{claimName: store-{i}}}
---
apiVersion: trainops.io/v1alpha1
kind: TrainRun
metadata: {{name: run-{i}, namespace: bench}}
spec:
  checkpointStore: store-{i}
  runtimeRef: {{name: torch-distributed}}
  resilience: {{maxRestarts: 10}}
  trainer: {{image: public.ecr.aws/example/train:1, command: [torchrun, train.py], numNodes: 4}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: store-{i}, namespace: bench, labels: {{trainops.io/checkpointstore: store-{i}}}}}
spec: {{accessModes: [ReadWriteMany], storageClassName: "", volumeName: ckpt-bench-store-{i}, resources: {{requests: {{storage: 2400Gi}}}}}}""")
EOF
t0=$SECONDS
"${kubectl[@]}" create -f "$work/objects.yaml" >/dev/null
echo "== $n CheckpointStores + $n TrainRuns + $n PVCs (created in $((SECONDS - t0))s)"
ours; theirs; kuberust $((2 * n)); report
