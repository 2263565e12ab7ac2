#!/usr/bin/env bash
# Scale benchmark: starts its own control plane, FSx emulator (creates take --create-seconds) and
# the real ckpt-operator binary (as its ServiceAccount, default flags unless OPERATOR_FLAGS says
# otherwise), then for each N and association count creates N CheckpointStores at once and prints
# one Markdown row of figures (bench/scale/scale.py). A fresh control plane, emulator and operator
# per row (starting one takes seconds; emptying a namespace of 2,000 stores took minutes). With
# --trainruns R (default 1,000; 0 = none), R TrainRuns then run on the stores of the largest N's
# first row, whose control plane runs the real training stack too (Kubeflow Trainer, JobSet,
# kube-scheduler, kwok; bench/scale/trainruns.py).
#   bash bench/scale/run.sh [--sizes "100 500 2000"] [--associations "1 4"] [--trainruns 1000]
#                           [--create-seconds 5] [--poll-interval 2s]
# Environment: BUILD_DIR (default build), OPERATOR_FLAGS (extra daemon flags), KEEP_LOGS (a folder
# to copy each row's operator log to).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
sizes="100 500 2000" associations="1 4" trainruns=1000 create_seconds=5 poll=2s
while (($#)); do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --associations) associations="$2"; shift 2 ;;
    --trainruns) trainruns="$2"; shift 2 ;;
    --create-seconds) create_seconds="$2"; shift 2 ;;
    --poll-interval) poll="$2"; shift 2 ;;
    *) echo "run.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done
bin="$(bash "$root/tests/envtest/build-binaries.sh")"
cmake --build "$build" --target ckpt-operator fsx-emulator >/dev/null
work="$(mktemp -d /tmp/ckpt-scale-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash "$root/tests/envtest/control-plane.sh" stop "$work/cp" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_control_plane [--training-stack]: a fresh one in $work/cp, the operator's RBAC applied and
# its ServiceAccount's kubeconfig in $work/operator.kubeconfig.
# kube-controller-manager binds the claims (PV binder) and runs the Jobs; at its default 20
# requests/s it, not the operator, would set the pace for a few hundred stores. kube-scheduler and
# Trainer (50/s) likewise for the runs; 12 simulated nodes hold 1,000 one-pod runs (110 pods each).
start_control_plane() {
  rm -rf "$work/cp"
  CKPT_KCM_FLAGS="--kube-api-qps 500 --kube-api-burst 1000" CKPT_STACK_QPS=500 CKPT_STACK_NODES=$(((trainruns + 99) / 100 + 2)) \
    bash "$root/tests/envtest/control-plane.sh" start "$work/cp" --owner-pid $$ "$@" >/dev/null 2>&1
  local kubectl=("$bin/kubectl" --kubeconfig "$work/cp/kubeconfig") token admin_token
  "${kubectl[@]}" create namespace ckpt-system >/dev/null
  "${kubectl[@]}" apply -k "$root/deploy/rbac" >/dev/null
  token="$("${kubectl[@]}" create token ckpt-operator -n ckpt-system --duration=24h)"
  admin_token="$(sed -n 's/^CKPT_ADMIN_TOKEN=//p' "$work/cp/env")"
  sed "s/$admin_token/$token/" "$work/cp/kubeconfig" > "$work/operator.kubeconfig"
}

echo "ckpt-operator scale benchmark: $(nproc) cores, create takes ${create_seconds}s in the emulator, operator flags: --fsx-poll-interval $poll ${OPERATOR_FLAGS:-}"
python3 "$root/bench/scale/scale.py" --header
first_associations="${associations%% *}" largest="${sizes##* }"
for n in $sizes; do
  for a in $associations; do
    extras=() stack=()  # start-up once per N; the steady minute, the outage and the runs at the largest N
    [[ "$a" == "$first_associations" ]] || extras=(--no-extras)
    if [[ "$n" == "$largest" && "$a" == "$first_associations" ]]; then
      extras+=(--steady-minute --outage)
      ((trainruns > 0)) && extras+=(--trainruns "$trainruns") && stack=(--training-stack)
    fi
    start_control_plane "${stack[@]}"
    "$build/emulator/fsx-emulator" --listen 127.0.0.1:0 --create-seconds "$create_seconds" > "$work/emulator.log" 2>&1 &
    emulator=$!; pids+=("$emulator")
    until grep -q '^http://' "$work/emulator.log"; do sleep 0.1; done
    fsx="$(grep -m1 '^http://' "$work/emulator.log")"
    # shellcheck disable=SC2086
    AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
      python3 "$root/bench/scale/scale.py" --stores "$n" --associations "$a" --create-seconds "$create_seconds" \
      --poll-interval "${poll%s}" --control-plane "$work/cp" --fsx "$fsx" --namespace "scale-$n-$a" "${extras[@]}" \
      --log "$work/operator-$n-$a.log" --operator "$build/controller/ckpt-operator" \
      --kubeconfig "$work/operator.kubeconfig" --aws-region us-east-1 --aws-endpoint-url "$fsx" \
      --health-probe-bind-address 127.0.0.1:0 --metrics-bind-address 127.0.0.1:0 --leader-elect=false \
      --fsx-poll-interval "$poll" ${OPERATOR_FLAGS:-}
    kill "$emulator"; wait "$emulator" 2>/dev/null || true
    if [[ -n "${KEEP_LOGS:-}" ]]; then
      mkdir -p "$KEEP_LOGS" && cp "$work"/operator-"$n-$a".log* "$KEEP_LOGS/"
      ((${#stack[@]})) && cp "$work"/cp/{trainer,jobset,scheduler,kwok}.log "$KEEP_LOGS/" 2>/dev/null || true
    fi
    bash "$root/tests/envtest/control-plane.sh" stop "$work/cp" >/dev/null 2>&1
  done
done
