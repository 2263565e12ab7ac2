#!/usr/bin/env bash
# Starts and stops a real, throw-away Kubernetes control plane on loopback for tests and the local
# demo: etcd, kube-apiserver (RBAC on, static admin bearer token, service-account issuer and keys)
# and kube-controller-manager (garbage collector, namespace, job, node lifecycle, PV binder, PV/PVC protection and
# service-account controllers), with ckpt-operator's CRDs and the upstream Kubeflow Trainer +
# JobSet CRDs installed and Established. Every start gets its own directory, certificates and free ports, so
# several test processes can each run their own. A watchdog stops the control plane when the
# process that asked for it (--owner-pid) dies, so a crashed test never leaks servers.
# --training-stack adds the real training stack: kube-scheduler, the Kubeflow Trainer and JobSet
# controllers of the chosen release pair (built by build-stack.sh, their webhooks registered by
# URL) and kwok with simulated GPU nodes; kube-controller-manager always runs the job controller.
#
#   control-plane.sh start DIR [--trainer v2.1.0|v2.3.0] [--training-stack] [--owner-pid PID] [--no-crds]
#   control-plane.sh stop DIR
#   control-plane.sh restart-apiserver DIR      # same ports, certs and etcd: a real API restart
#   control-plane.sh stop-apiserver DIR         # an API server outage (etcd keeps running) ...
#   control-plane.sh start-apiserver DIR        # ... and its end
#
# CKPT_KCM_FLAGS adds flags to kube-controller-manager (bench/scale raises its client QPS so the
# PV binder, limited to 20 requests/s by default, is not what a scale figure measures);
# CKPT_STACK_QPS sets the client QPS (burst twice that) of kube-scheduler and Kubeflow Trainer
# (defaults 50 and 50, burst 100) for the same reason; CKPT_STACK_NODES the simulated nodes (8).
# After start, DIR/kubeconfig reaches the API server as the admin user and DIR/env holds
# KUBECONFIG, CKPT_APISERVER_URL, CKPT_ETCD_URL and CKPT_ADMIN_TOKEN.
set -euo pipefail

KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { echo "control-plane: $*" >&2; }
die() { log "error: $*"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
  log "$what ready"
}

make_certs() {  # CA, an API serving certificate for 127.0.0.1/localhost, service-account keys
  local d="$1/pki"; mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ckpt-envtest-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' > "$d/san.ext"
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/san.ext" -out "$d/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

write_kubeconfig() {  # DIR URL TOKEN
  cat > "$1/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster:
    server: $2
    certificate-authority: $1/pki/ca.crt
users:
- name: admin
  user:
    token: $3
contexts:
- name: envtest
  context: {cluster: envtest, user: admin, namespace: default}
current-context: envtest
EOF
}

start_etcd() {
  local dir="$1"; source "$dir/env"
  "$BIN/etcd" --name default --data-dir "$dir/etcd" --unsafe-no-fsync \
    --listen-client-urls "$CKPT_ETCD_URL" --advertise-client-urls "$CKPT_ETCD_URL" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
    >"$dir/etcd.log" 2>&1 &
  echo $! > "$dir/etcd.pid"
  wait_for 30 etcd curl -fsS "$CKPT_ETCD_URL/health" || die "etcd did not start; see $dir/etcd.log"
}

# Audit log of the operator's service accounts (namespace ckpt-system) only: the RBAC test reads
# it to check every call the operator made was allowed and every granted permission was used.
write_audit_policy() {
  cat > "$1/audit-policy.yaml" <<'EOF_POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts:ckpt-system"]
  - level: None
EOF_POLICY
}

start_apiserver() {
  local dir="$1"; source "$dir/env"
  write_audit_policy "$dir"
  "$BIN/kube-apiserver" --etcd-servers "$CKPT_ETCD_URL" \
    --audit-policy-file "$dir/audit-policy.yaml" --audit-log-path "$dir/audit.log" --audit-log-format json \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
    --client-ca-file "$dir/pki/ca.crt" --token-auth-file "$dir/tokens.csv" \
    --authorization-mode RBAC --allow-privileged=true \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$dir/pki/sa.pub" \
    --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --cert-dir "$dir/pki" \
    >"$dir/apiserver.log" 2>&1 &
  echo $! > "$dir/apiserver.pid"
  wait_for 90 kube-apiserver curl -fsS --cacert "$dir/pki/ca.crt" \
    -H "Authorization: Bearer $CKPT_ADMIN_TOKEN" "$CKPT_APISERVER_URL/readyz" \
    || die "kube-apiserver not ready; see $dir/apiserver.log"
}

start_controller_manager() {
  local dir="$1"; source "$dir/env"
  "$BIN/kube-controller-manager" --kubeconfig "$dir/kubeconfig" \
    --controllers garbage-collector-controller,namespace-controller,job-controller,node-lifecycle-controller,persistentvolume-binder-controller,persistentvolume-protection-controller,persistentvolumeclaim-protection-controller,serviceaccount-controller,serviceaccount-token-controller \
    --service-account-private-key-file "$dir/pki/sa.key" --root-ca-file "$dir/pki/ca.crt" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 --pvclaimbinder-sync-period 2s ${CKPT_KCM_FLAGS:-} \
    >"$dir/controller-manager.log" 2>&1 &
  echo $! > "$dir/controller-manager.pid"
}

jobset_for() {  # the JobSet release each supported Trainer release requires
  case "$1" in
    v2.1.0) echo v0.10.1 ;;
    v2.3.0) echo v0.12.0 ;;
    *) die "unknown Trainer version $1 (have v2.1.0, v2.3.0)" ;;
  esac
}

install_crds() {
  local dir="$1" trainer="$2" jobset
  jobset="$(jobset_for "$trainer")"
  local kc=("$BIN/kubectl" --kubeconfig "$dir/kubeconfig")
  local files=()
  for f in "$root/third_party/kubeflow-trainer/$trainer"/trainer.kubeflow.org_*.yaml \
           "$root/third_party/jobset/$jobset"/*.yaml "$root"/crds/trainops.io_*.yaml; do
    [[ -f "$f" ]] && files+=(-f "$f")
  done
  "${kc[@]}" apply --server-side -o name "${files[@]}" >/dev/null
  # `kubectl wait` fails outright (instead of waiting) while a new CRD has no status.conditions
  # yet, which happens under load; retry it until every CRD is Established or 60 s pass.
  local deadline=$((SECONDS + 60))
  until "${kc[@]}" wait --for condition=Established --timeout 10s crd --all >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "CRDs not Established after 60 s"
    sleep 0.5
  done
  # The upstream torch-distributed ClusterTrainingRuntime, as a cluster with Trainer has it.
  "${kc[@]}" apply --server-side -o name -f "$root/third_party/kubeflow-trainer/$trainer/torch_distributed.yaml" >/dev/null
  log "CRDs Established (Trainer $trainer, JobSet $jobset)"
}

# ---- The real training stack (--training-stack): kube-scheduler, the JobSet and Kubeflow Trainer
# controllers with their webhooks registered by URL, and kwok playing the kubelet of simulated
# GPU nodes (tests/envtest/kwok-stages.yaml says how a test makes a pod fail or succeed).

webhook_cert() {  # a serving certificate for 127.0.0.1 signed by the control plane's CA
  local d="$1/pki"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$d/webhook.key" -out "$d/webhook.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$d/webhook.ext"
  openssl x509 -req -in "$d/webhook.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/webhook.ext" -out "$d/webhook.crt" 2>/dev/null
}

start_scheduler() {
  local dir="$1"; source "$dir/env"
  local qps=()
  [[ -n "${CKPT_STACK_QPS:-}" ]] && qps=(--kube-api-qps "$CKPT_STACK_QPS" --kube-api-burst "$((CKPT_STACK_QPS * 2))")
  "$BIN/kube-scheduler" --kubeconfig "$dir/kubeconfig" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port 0 "${qps[@]}" >"$dir/scheduler.log" 2>&1 &
  echo $! > "$dir/scheduler.pid"
}

# start_webhook_controller NAME BINARY CONFIG-YAML ARGS...: runs a controller-runtime manager whose
# webhook server reads its certificate from controller-runtime's default directory under TMPDIR,
# waits until /readyz (the webhook server listening), and records its pid.
start_webhook_controller() {
  local dir="$1" name="$2" binary="$3" config="$4"; shift 4
  local tmp="$dir/$name-tmp"
  mkdir -p "$tmp/k8s-webhook-server/serving-certs"
  cp "$dir/pki/webhook.crt" "$tmp/k8s-webhook-server/serving-certs/tls.crt"
  cp "$dir/pki/webhook.key" "$tmp/k8s-webhook-server/serving-certs/tls.key"
  printf '%s\n' "$config" > "$dir/$name-config.yaml"
  TMPDIR="$tmp" KUBECONFIG="$dir/kubeconfig" "$binary" --config "$dir/$name-config.yaml" "$@" \
    >"$dir/$name.log" 2>&1 &
  echo $! > "$dir/$name.pid"
}

start_training_stack() {
  local dir="$1" trainer="$2" jobset; source "$dir/env"
  jobset="$(jobset_for "$trainer")"
  local sbin; sbin="$("$here/build-stack.sh" --trainer "$trainer")"
  webhook_cert "$dir"
  start_scheduler "$dir"
  local js_hook js_probe tr_hook tr_probe
  js_hook="$(free_port)"; js_probe="$(free_port)"; tr_hook="$(free_port)"; tr_probe="$(free_port)"
  start_webhook_controller "$dir" jobset "$sbin/jobset-controller-$jobset" "apiVersion: config.jobset.x-k8s.io/v1alpha1
kind: Configuration
leaderElection: {leaderElect: false}
internalCertManagement: {enable: false}
webhook: {port: $js_hook, host: 127.0.0.1}" \
    --metrics-bind-address 0 --health-probe-bind-address "127.0.0.1:$js_probe"
  start_webhook_controller "$dir" trainer "$sbin/trainer-controller-manager-$trainer" "apiVersion: config.trainer.kubeflow.org/v1alpha1
kind: Configuration
leaderElection: {leaderElect: false}
certManagement: {enable: false}
webhook: {port: $tr_hook, host: 127.0.0.1}
${CKPT_STACK_QPS:+clientConnection: {qps: $CKPT_STACK_QPS, burst: $((CKPT_STACK_QPS * 2))\}}
metrics: {bindAddress: '0'}
health: {healthProbeBindAddress: '127.0.0.1:$tr_probe'}"
  wait_for 60 "JobSet $jobset controller" curl -fsS "http://127.0.0.1:$js_probe/readyz" \
    || die "JobSet controller not ready; see $dir/jobset.log"
  wait_for 60 "Kubeflow Trainer $trainer controller" curl -fsS "http://127.0.0.1:$tr_probe/readyz" \
    || die "Trainer controller not ready; see $dir/trainer.log"
  local kc=("$BIN/kubectl" --kubeconfig "$dir/kubeconfig")
  { python3 "$here/stack-manifests.py" webhooks "$sbin/jobset-webhooks-$jobset.yaml" \
      "https://127.0.0.1:$js_hook" "$dir/pki/ca.crt" jobset-
    echo ---
    python3 "$here/stack-manifests.py" webhooks "$sbin/trainer-webhooks-$trainer.yaml" \
      "https://127.0.0.1:$tr_hook" "$dir/pki/ca.crt" trainer-
  } | "${kc[@]}" apply --server-side -o name -f - >/dev/null
  "$sbin/kwok-$KWOK_VERSION" --kubeconfig "$dir/kubeconfig" --config "$here/kwok-stages.yaml" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds 40 --server-address "127.0.0.1:$(free_port)" \
    >"$dir/kwok.log" 2>&1 &
  echo $! > "$dir/kwok.pid"
  python3 "$here/stack-manifests.py" nodes "${CKPT_STACK_NODES:-8}" | "${kc[@]}" apply -o name -f - >/dev/null
  wait_for 60 "${CKPT_STACK_NODES:-8} simulated GPU nodes" "${kc[@]}" wait --for condition=Ready \
    --timeout 5s node -l type=kwok || die "kwok nodes not Ready; see $dir/kwok.log"
  log "training stack up: Trainer $trainer, JobSet $jobset, kube-scheduler, kwok $KWOK_VERSION"
}

watchdog() {  # stops the control plane once the owner process is gone
  local dir="$1" owner="$2"
  ( trap '' HUP; while kill -0 "$owner" 2>/dev/null && [[ -f "$dir/env" ]]; do sleep 1; done
    "$here/control-plane.sh" stop "$dir" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
}

cmd_start() {
  local dir="$1"; shift
  local trainer=v2.3.0 owner="" crds=1 stack=0
  while (($#)); do
    case "$1" in
      --trainer) trainer="$2"; shift 2 ;;
      --training-stack) stack=1; shift ;;
      --owner-pid) owner="$2"; shift 2 ;;
      --no-crds) crds=0; shift ;;
      *) die "unknown flag $1" ;;
    esac
  done
  local t0=$SECONDS bin
  bin="$("$here/build-binaries.sh")"
  mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
  make_certs "$dir"
  local token; token="$(openssl rand -hex 24)"
  echo "$token,admin,admin-uid,system:masters" > "$dir/tokens.csv"
  local api_port etcd_port; api_port="$(free_port)"; etcd_port="$(free_port)"
  cat > "$dir/env" <<EOF
BIN=$bin
API_PORT=$api_port
ETCD_PEER_PORT=$(free_port)
KUBECONFIG=$dir/kubeconfig
CKPT_APISERVER_URL=https://127.0.0.1:$api_port
CKPT_ETCD_URL=http://127.0.0.1:$etcd_port
CKPT_ADMIN_TOKEN=$token
EOF
  write_kubeconfig "$dir" "https://127.0.0.1:$api_port" "$token"
  [[ -n "$owner" ]] && watchdog "$dir" "$owner"
  start_etcd "$dir"
  start_apiserver "$dir"
  # CRDs first: the garbage collector maps owner kinds with what discovery showed at its start.
  ((crds)) && install_crds "$dir" "$trainer"
  start_controller_manager "$dir"
  ((stack)) && start_training_stack "$dir" "$trainer"
  log "control plane up in $((SECONDS - t0))s: KUBECONFIG=$dir/kubeconfig"
}

stop_pid() {
  local f="$1"
  [[ -f "$f" ]] || return 0
  local pid; pid="$(cat "$f")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

cmd_stop() {
  local dir="$1"
  [[ -d "$dir" ]] || return 0
  for c in kwok trainer jobset scheduler controller-manager apiserver etcd; do stop_pid "$dir/$c.pid"; done
  rm -f "$dir/env"
}

cmd_restart_apiserver() {
  local dir="$1"
  stop_pid "$dir/apiserver.pid"
  start_apiserver "$dir"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop "$2" ;;
  restart-apiserver) cmd_restart_apiserver "$2" ;;
  stop-apiserver) stop_pid "$2/apiserver.pid" ;;
  start-apiserver) start_apiserver "$2" ;;
  *) die "usage: control-plane.sh start|stop|restart-apiserver|stop-apiserver|start-apiserver DIR [flags]" ;;
esac
