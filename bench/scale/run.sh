#!/usr/bin/env bash
# Scale benchmark: starts its own control plane, FSx emulator (creates take --create-seconds) and
# the real ckpt-operator binary (as its ServiceAccount, default flags unless OPERATOR_FLAGS says
# otherwise), then for each N and association count creates N CheckpointStores at once and prints
# one Markdown row of figures (bench/scale/scale.py). A fresh operator, emulator and namespace per
# row; one control plane for the whole table. With --trainruns R (default 1,000; 0 = none) the
# control plane runs the real training stack too (Kubeflow Trainer, JobSet, kube-scheduler, kwok)
# and R TrainRuns then run on the stores of the largest N's first row (bench/scale/trainruns.py).
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
# kube-controller-manager binds the claims (PV binder) and runs the Jobs; at its default 20
# requests/s it, not the operator, would set the pace for a few hundred stores. kube-scheduler and
# Trainer (50/s) likewise for the runs; 12 simulated nodes hold 1,000 one-pod runs (110 pods each).
stack=()
((trainruns > 0)) && stack=(--training-stack)
CKPT_KCM_FLAGS="--kube-api-qps 500 --kube-api-burst 1000" CKPT_STACK_QPS=500 CKPT_STACK_NODES=$(((trainruns + 99) / 100 + 2)) \
  bash "$root/tests/envtest/control-plane.sh" start "$work/cp" --owner-pid $$ "${stack[@]}" >/dev/null 2>&1
kubectl=("$bin/kubectl" --kubeconfig "$work/cp/kubeconfig")
"${kubectl[@]}" create namespace ckpt-system >/dev/null
"${kubectl[@]}" apply -k "$root/deploy/rbac" >/dev/null
token="$("${kubectl[@]}" create token ckpt-operator -n ckpt-system --duration=24h)"
admin_token="$(sed -n 's/^CKPT_ADMIN_TOKEN=//p' "$work/cp/env")"
sed "s/$admin_token/$token/" "$work/cp/kubeconfig" > "$work/operator.kubeconfig"

echo "ckpt-operator scale benchmark: $(nproc) cores, create takes ${create_seconds}s in the emulator, operator flags: --fsx-poll-interval $poll ${OPERATOR_FLAGS:-}"
python3 "$root/bench/scale/scale.py" --header
first_associations="${associations%% *}" largest="${sizes##* }"
for n in $sizes; do
  order="$associations"
  # The largest N takes its first association count last: that row also runs the TrainRuns, and
  # as the table's last row it leaves its namespace to the control plane's end (no clean-up).
  [[ "$n" == "$largest" ]] && order="$(tr ' ' '\n' <<<"$associations" | tac | xargs)"
  for a in $order; do
    extras=()  # the API outage and start-up: once per N; the steady-state minute at the largest N
    [[ "$a" == "$first_associations" ]] || extras=(--no-extras)
    [[ "$n" == "$largest" && "$a" == "$first_associations" ]] && extras+=(--trainruns "$trainruns" --steady-minute --last)
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
    if [[ -n "${KEEP_LOGS:-}" ]]; then mkdir -p "$KEEP_LOGS" && cp "$work"/operator-"$n-$a".log* "$KEEP_LOGS/"; fi
    if [[ -n "${KEEP_LOGS:-}" && "${extras[*]}" == *trainruns* ]]; then cp "$work"/cp/{trainer,jobset,scheduler,kwok}.log "$KEEP_LOGS/" 2>/dev/null || true; fi
  done
done
