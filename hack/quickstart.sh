#!/usr/bin/env bash
# The local end-to-end quickstart. On a fresh machine it installs what is missing, builds, starts a
# local control plane (etcd + kube-apiserver + kube-controller-manager + kube-scheduler, with
# ckpt-operator's and Kubeflow Trainer's CRDs) with the real training stack (the Kubeflow Trainer
# and JobSet controllers with their webhooks, and kwok's simulated GPU nodes), the FSx emulator,
# and ckpt-operator itself running as the ServiceAccount deploy/rbac grants; applies the sample
# CheckpointStore and TrainRun (deploy/samples) and waits until the store is Ready and the run's
# pods are Running. Everything keeps running afterwards:
#   bash hack/quickstart.sh        start (or restart) it all
#   bash hack/quickstart.sh down   stop it all
# State and logs live in $QUICKSTART_DIR (default .cache/quickstart); the build in $BUILD_DIR.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dir="${QUICKSTART_DIR:-$root/.cache/quickstart}"
build="${BUILD_DIR:-build}"
cp_dir="$dir/control-plane"
ns=default
step() { printf '\n==> [%s] %s\n' "$1" "$2" >&2; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

stop_all() {
  for name in operator emulator; do
    [[ -f "$dir/$name.pid" ]] || continue
    kill -TERM "$(cat "$dir/$name.pid")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null || break; sleep 0.2; done
    rm -f "$dir/$name.pid"
  done
  [[ -f "$cp_dir/env" ]] && bash tests/envtest/control-plane.sh stop "$cp_dir" >/dev/null 2>&1 || true
}

if [[ "${1:-}" == "down" ]]; then
  stop_all
  echo "quickstart stopped (state kept in $dir)" >&2
  exit 0
fi

# Waits up to $1 seconds for the command after it to succeed, printing a dot every 2 s.
wait_until() {
  local limit=$1; shift
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - start < limit)) || return 1
    printf '.' >&2; sleep 2
  done
  printf '\n' >&2
}

# "probes on 127.0.0.1:0 (port 41234)" in the operator's log -> 41234
port_in_log() { sed -n "s/.*$1 on .* (port \([0-9]*\)).*/\1/p" "$2" | head -1; }

step 1/8 "Installing Debian packages (skipped when present)"
bash hack/install-deps.sh

step 2/8 "Building the local control plane and training stack binaries (cached after the first run)"
bin="$(bash tests/envtest/build-binaries.sh)"
bash tests/envtest/build-stack.sh --trainer "${TRAINER_VERSION:-v2.3.0}" >/dev/null
kubectl=("$bin/kubectl" --kubeconfig "$cp_dir/kubeconfig")

step 3/8 "Building ckpt-operator and the FSx emulator ($build)"
[[ -f "$build/CMakeCache.txt" ]] || cmake -S . -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target ckpt-operator fsx-emulator -j "$(nproc)"

step 4/8 "Starting the local control plane, CRDs and training stack ($cp_dir)"
stop_all
rm -rf "$cp_dir"
mkdir -p "$dir"
bash tests/envtest/control-plane.sh start "$cp_dir" --trainer "${TRAINER_VERSION:-v2.3.0}" --training-stack

step 5/8 "Installing the operator's ServiceAccount and RBAC (deploy/rbac)"
"${kubectl[@]}" create namespace ckpt-system
"${kubectl[@]}" apply -k deploy/rbac
token="$("${kubectl[@]}" create token ckpt-operator -n ckpt-system --duration=24h)"
admin_token="$(sed -n 's/^CKPT_ADMIN_TOKEN=//p' "$cp_dir/env")"
sed "s/$admin_token/$token/" "$cp_dir/kubeconfig" > "$dir/operator.kubeconfig"

step 6/8 "Starting the FSx emulator"
setsid "$build/emulator/fsx-emulator" --listen 127.0.0.1:0 --create-seconds 5 >"$dir/emulator.log" 2>&1 < /dev/null &
echo $! > "$dir/emulator.pid"
wait_until 20 grep -q '^http://' "$dir/emulator.log" || die "the emulator did not start; see $dir/emulator.log"
fsx_url="$(grep -m1 '^http://' "$dir/emulator.log")"
echo "FSx emulator at $fsx_url" >&2

step 7/8 "Starting ckpt-operator as system:serviceaccount:ckpt-system:ckpt-operator"
AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
  setsid "$build/controller/ckpt-operator" --kubeconfig "$dir/operator.kubeconfig" \
  --aws-region us-east-1 --aws-endpoint-url "$fsx_url" --fsx-poll-interval 2s \
  --health-probe-bind-address 127.0.0.1:0 --metrics-bind-address 127.0.0.1:0 \
  >"$dir/operator.log" 2>&1 < /dev/null &
echo $! > "$dir/operator.pid"
wait_until 30 grep -q "became leader" "$dir/operator.log" || die "the operator did not start; see $dir/operator.log"
probes="$(port_in_log probes "$dir/operator.log")"
metrics="$(port_in_log metrics "$dir/operator.log")"
curl -fsS "http://127.0.0.1:$probes/readyz" >/dev/null || die "operator not ready; see $dir/operator.log"
echo "operator is leader; probes on :$probes, metrics on :$metrics" >&2

step 8/8 "Applying deploy/samples and waiting for them to converge"
"${kubectl[@]}" apply -k deploy/samples -n "$ns"
phase() { "${kubectl[@]}" get "$1" -n "$ns" -o 'jsonpath={.status.phase}'; }
is_phase() { [[ "$(phase "$1")" == "$2" ]]; }
printf 'CheckpointStore workshop: FSx file system creating' >&2
wait_until 120 is_phase checkpointstore/workshop Ready || die "store not Ready; see $dir/operator.log"
printf 'TrainRun llama-finetune: waiting until its pods run' >&2
wait_until 60 is_phase trainrun/llama-finetune Running || die "run not Running; see $dir/operator.log"

printf '\n' >&2
"${kubectl[@]}" get checkpointstores,pv,pvc,trainjobs,jobsets -n "$ns"
"${kubectl[@]}" get trainruns -n "$ns" -o wide   # with the S3 URI its checkpoints are exported to
"${kubectl[@]}" get pods -n "$ns" -o wide -l trainops.io/trainrun=llama-finetune
pod="$("${kubectl[@]}" get pods -n "$ns" -l trainops.io/trainrun=llama-finetune -o 'jsonpath={.items[0].metadata.name}')"
cat >&2 <<EOT

Converged: the store is Ready and the run's pods are Running on simulated p5.48xlarge nodes (kwok)
under the real Kubeflow Trainer and JobSet controllers. Everything keeps running; look around:
  export KUBECONFIG=$cp_dir/kubeconfig PATH=$bin:\$PATH
  kubectl annotate pod $pod trainops.io/simulate-exit-code=137 trainops.io/simulate-reason=OOMKilled
                                                   # make a rank fail: watch the gang restart
  kubectl get trainrun llama-finetune -w           # Restarting, then Running, restarts 1
  kubectl describe trainrun llama-finetune         # lastFailure, conditions and Events
  kubectl describe checkpointstore workshop        # conditions and Events
  kubectl get trainingruntime llama-finetune-runtime -o yaml   # the derived runtime
  curl -s http://127.0.0.1:$metrics/metrics | grep -E '^(controller_runtime|fsx_api)'
  curl -s $fsx_url/_emulator/stats                 # FSx calls the operator made
Logs: $dir/operator.log  $dir/emulator.log  $cp_dir/*.log
Stop: bash hack/quickstart.sh down
EOT
