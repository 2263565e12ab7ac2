#!/usr/bin/env bash
# The Helm chart (deploy/helm/ckpt-operator) installs the operator the way kustomize does:
#  1. chart version = operator version; crds/ = the repository's crds/; the values table current;
#  2. helm lint, default and EKS-like values; RBAC rendered = deploy/rbac (and namespace-scoped:
#     a Role per namespace); the PrometheusRule it renders passes promtool check rules;
#  3. on a real local control plane (no CRDs but Trainer's and JobSet's): server-side dry runs of
#     both renderings, then `helm install`, the operator binary run as the chart's ServiceAccount
#     with the Deployment's own arguments and env, and the sample store reaching Ready;
#  4. `helm upgrade` to a newer chart version keeps the store (same UID, still Ready);
#  5. `helm uninstall` keeps the CRDs and the store;
#  6. a namespace-scoped release (Roles in the watched namespace only) converges a store there.
#   helm_chart_test.sh BUILD_DIR VERSION
set -euo pipefail
build="$(cd "$1" && pwd)" version="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$root/deploy/helm/ckpt-operator"
tools="$(bash "$root/hack/build-tools.sh")"
helm="$tools/helm" promtool="$tools/promtool"
bin="$(bash "$root/tests/envtest/build-binaries.sh")"
work="$(mktemp -d /tmp/ckpt-helm-XXXXXX)"
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"
pids=() tokens=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash "$root/tests/envtest/control-plane.sh" stop "$work/cp" >/dev/null 2>&1 || true
  if [[ -n "${CKPT_TEST_LOG_DIR:-}" ]]; then  # for tests/log_secrets_test.sh: the logs and what they must not hold
    mkdir -p "$CKPT_TEST_LOG_DIR/helm" && cp "$work"/*.log "$work"/cp/*.log "$CKPT_TEST_LOG_DIR/helm/" 2>/dev/null || true
    printf '%s\n' "${tokens[@]}" >> "$CKPT_TEST_LOG_DIR/known-secrets"
    [[ -f "$work/cp/env" ]] && sed -n 's/^CKPT_ADMIN_TOKEN=//p' "$work/cp/env" >> "$CKPT_TEST_LOG_DIR/known-secrets"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do [[ -f "$f" ]] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}
step() { printf '\n== %s\n' "$*"; }

step "1. versions, CRDs, values table"
grep -q "^version: $version$" "$chart/Chart.yaml" || fail "Chart.yaml version is not $version"
grep -q "^appVersion: \"$version\"$" "$chart/Chart.yaml" || fail "Chart.yaml appVersion is not $version"
for f in "$root"/crds/trainops.io_*.yaml; do cmp -s "$f" "$chart/crds/$(basename "$f")" || fail "chart crds/$(basename "$f") differs from crds/"; done
python3 "$root/hack/helm-values-doc.py" --check || exit 1

step "2. lint and render"
"$helm" lint "$chart" || fail "helm lint"
"$helm" lint "$chart" -f "$root/tests/helm/eks-values.yaml" || fail "helm lint (EKS values)"
! "$helm" template x "$chart" --set logLevel=loud >/dev/null 2>&1 || fail "values.schema.json accepted logLevel=loud"
"$helm" template ckpt-operator "$chart" -n ckpt-system > "$work/default.yaml"
"$helm" template ckpt-operator "$chart" -n ckpt-system -f "$root/tests/helm/eks-values.yaml" > "$work/eks.yaml"
python3 "$root/tests/helm/rbac_matches.py" "$root/deploy/rbac" "$work/default.yaml" "$work/eks.yaml" team-a team-b || exit 1
grep -q 'eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/ckpt-operator' "$work/eks.yaml" || fail "IRSA annotation"
grep -q -- '- --namespaces=team-a,team-b' "$work/eks.yaml" || fail "--namespaces"
"$helm" template ckpt-operator "$chart" -n ckpt-system --set metrics.prometheusRule.enabled=true \
  --show-only templates/prometheusrule.yaml | python3 -c 'import sys, yaml; print(yaml.safe_dump(yaml.safe_load(sys.stdin)["spec"]))' \
  > "$work/rule-groups.yaml"
"$promtool" check rules "$work/rule-groups.yaml" || fail "the PrometheusRule's groups do not pass promtool"

step "3. a local control plane: dry runs, install, the operator as the chart's ServiceAccount"
bash "$root/tests/envtest/control-plane.sh" start "$work/cp" --no-crds --owner-pid $$ >/dev/null
kubectl=("$bin/kubectl" --kubeconfig "$work/cp/kubeconfig")
upstream=("$root"/third_party/kubeflow-trainer/v2.3.0/trainer.kubeflow.org_*.yaml "$root"/third_party/jobset/v0.12.0/*.yaml)
"${kubectl[@]}" apply --server-side -o name "${upstream[@]/#/--filename=}" >/dev/null || fail "upstream CRDs"
"${kubectl[@]}" wait --for condition=Established --timeout 60s crd --all >/dev/null
for ns in ckpt-system team-a team-b samples; do "${kubectl[@]}" create namespace "$ns" >/dev/null; done
"$helm" template ckpt-operator "$chart" -n ckpt-system --include-crds | "${kubectl[@]}" apply --dry-run=server -f - >/dev/null \
  || fail "the default rendering is refused by the API server"
"$helm" template ckpt-operator "$chart" -n ckpt-system --include-crds -f "$root/tests/helm/eks-values.yaml" \
  | "${kubectl[@]}" apply --dry-run=server -f - >/dev/null || fail "the EKS rendering is refused by the API server"
echo "server-side dry runs accepted: default and EKS values"

"$build/emulator/fsx-emulator" --listen 127.0.0.1:0 --create-seconds 2 > "$work/emulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '^http://' "$work/emulator.log" && break; sleep 0.2; done
fsx="$(grep -m1 '^http://' "$work/emulator.log")"
"$helm" --kubeconfig "$work/cp/kubeconfig" install ckpt-operator "$chart" -n ckpt-system \
  --set aws.endpointUrl="$fsx" --set-json 'extraArgs=["--fsx-poll-interval=1s"]' > "$work/install.out" || fail "helm install"
"${kubectl[@]}" get crd checkpointstores.trainops.io trainruns.trainops.io >/dev/null || fail "the chart's CRDs are not installed"

# The Deployment's pods need a kubelet; run its container's command here instead, exactly as
# rendered, as its ServiceAccount.   run_operator RELEASE-FULLNAME LOG
run_operator() {
  local deploy_json args region token admin_token
  deploy_json="$("${kubectl[@]}" get deployment "$1" -n ckpt-system -o json)"
  mapfile -t args < <(python3 -c 'import json,sys; c=json.load(sys.stdin)["spec"]["template"]["spec"]["containers"][0]; print("\n".join(c["args"]))' <<<"$deploy_json")
  region="$(python3 -c 'import json,sys; c=json.load(sys.stdin)["spec"]["template"]["spec"]["containers"][0]; print([e["value"] for e in c["env"] if e["name"]=="AWS_REGION"][0])' <<<"$deploy_json")"
  args=("${args[@]/--health-probe-bind-address=:8081/--health-probe-bind-address=127.0.0.1:0}")
  args=("${args[@]/--metrics-bind-address=:8080/--metrics-bind-address=127.0.0.1:0}")
  token="$("${kubectl[@]}" create token "$1" -n ckpt-system)"
  tokens+=("$token")
  admin_token="$(sed -n 's/^CKPT_ADMIN_TOKEN=//p' "$work/cp/env")"
  sed "s/$admin_token/$token/" "$work/cp/kubeconfig" > "$work/$1.kubeconfig"
  POD_NAME="$1-helm" POD_NAMESPACE=ckpt-system AWS_REGION="$region" AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
    AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
    "$build/controller/ckpt-operator" --kubeconfig "$work/$1.kubeconfig" "${args[@]}" > "$2" 2>&1 &
  pids+=($!)
  echo "operator started as system:serviceaccount:ckpt-system:$1 with: ${args[*]}"
}
ready() {  # ready NAMESPACE
  [[ "$("${kubectl[@]}" get checkpointstore workshop -n "$1" -o jsonpath='{.status.phase}')" == Ready ]]
}
await_ready() {  # await_ready NAMESPACE LOG
  local start=$SECONDS
  until ready "$1"; do ((SECONDS - start < 90)) || fail "the sample store in $1 is not Ready"; sleep 1; done
  echo "sample store in $1 Ready $((SECONDS - start))s after apply"
  ! grep -qi 'forbidden' "$2" || fail "the operator was forbidden something with the chart's RBAC (see $2)"
}
run_operator ckpt-operator "$work/operator.log"
"${kubectl[@]}" apply -n samples -f "$root/deploy/samples/checkpointstore.yaml" >/dev/null
await_ready samples "$work/operator.log"
uid="$("${kubectl[@]}" get checkpointstore workshop -n samples -o jsonpath='{.metadata.uid}')"

step "4. helm upgrade to a newer chart version keeps the store"
cp -r "$chart" "$work/next" && sed -i 's/^version: .*/version: 99.0.0/' "$work/next/Chart.yaml"
"$helm" --kubeconfig "$work/cp/kubeconfig" upgrade ckpt-operator "$work/next" -n ckpt-system --reuse-values --set replicaCount=3 \
  > "$work/upgrade.out" || fail "helm upgrade"
[[ "$("${kubectl[@]}" get deployment ckpt-operator -n ckpt-system -o jsonpath='{.spec.replicas}')" == 3 ]] || fail "upgrade not applied"
[[ "$("${kubectl[@]}" get checkpointstore workshop -n samples -o jsonpath='{.metadata.uid}')" == "$uid" ]] || fail "the store was replaced"
ready samples || fail "the store is not Ready after the upgrade"
echo "upgraded to chart 99.0.0 (revision $("$helm" --kubeconfig "$work/cp/kubeconfig" history ckpt-operator -n ckpt-system -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["revision"])')): store kept, Ready"

step "5. helm uninstall keeps the CRDs and the store"
"$helm" --kubeconfig "$work/cp/kubeconfig" uninstall ckpt-operator -n ckpt-system > "$work/uninstall.out" || fail "helm uninstall"
[[ "$("${kubectl[@]}" get checkpointstore workshop -n samples -o jsonpath='{.metadata.uid}')" == "$uid" ]] || fail "uninstall removed the store"

step "6. a namespace-scoped release (watchNamespaces=[team-a]): Roles only there, the store converges"
kill "${pids[-1]}" && wait "${pids[-1]}" 2>/dev/null || true  # the cluster-wide operator
"$helm" --kubeconfig "$work/cp/kubeconfig" install scoped "$chart" -n ckpt-system --set 'watchNamespaces={team-a}' \
  --set aws.endpointUrl="$fsx" --set-json 'extraArgs=["--fsx-poll-interval=1s"]' > "$work/install-scoped.out" || fail "helm install (scoped)"
! "${kubectl[@]}" get role scoped-ckpt-operator -n team-b >/dev/null 2>&1 || fail "a Role outside watchNamespaces"
run_operator scoped-ckpt-operator "$work/operator-scoped.log"
"${kubectl[@]}" apply -n team-a -f "$root/deploy/samples/checkpointstore.yaml" >/dev/null
await_ready team-a "$work/operator-scoped.log"
echo "PASS: chart $version: lint, RBAC = deploy/rbac, dry runs, install -> sample store Ready, upgrade and uninstall keep the store, namespace-scoped release converges"
