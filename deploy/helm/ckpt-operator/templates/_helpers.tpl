{{/*
Names, labels and the operator's RBAC rules, shared by the templates. The rules are split into
the namespaced ones (a ClusterRole when the whole cluster is watched, a Role per namespace
otherwise) and the cluster-scoped ones; together they are exactly deploy/rbac/cluster_role.yaml.
*/}}
{{- define "ckpt-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ckpt-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ckpt-operator.labels" -}}
{{ include "ckpt-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ckpt-operator.serviceAccountName" -}}
{{- default (include "ckpt-operator.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Rules on namespaced resources (see deploy/rbac/cluster_role.yaml for why each verb). */}}
{{- define "ckpt-operator.namespacedRules" -}}
- apiGroups: [trainops.io]
  resources: [checkpointstores]
  verbs: [list, watch, patch]
- apiGroups: [trainops.io]
  resources: [checkpointstores/status]
  verbs: [patch]
- apiGroups: [trainops.io]
  resources: [trainruns]
  verbs: [list, watch]
- apiGroups: [trainops.io]
  resources: [trainruns/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, list, watch, create]
- apiGroups: [trainer.kubeflow.org]
  resources: [trainjobs]
  verbs: [get, list, watch, create, patch]
- apiGroups: [trainer.kubeflow.org]
  resources: [trainingruntimes]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [jobset.x-k8s.io]
  resources: [jobsets]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* Rules on cluster-scoped resources: the static PVs and the cluster training runtimes. */}}
{{- define "ckpt-operator.clusterRules" -}}
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [trainer.kubeflow.org]
  resources: [clustertrainingruntimes]
  verbs: [list, watch]
{{- end -}}
