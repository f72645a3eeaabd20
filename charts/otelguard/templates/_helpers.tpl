{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "otelguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name when it already contains the chart name. */}}
{{- define "otelguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "otelguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object of the release. */}}
{{- define "otelguard.labels" -}}
helm.sh/chart: {{ include "otelguard.chart" . }}
{{ include "otelguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: otelguard
{{- end }}

{{/* Labels that select the operator pod (never change them: a Deployment's selector is immutable). */}}
{{- define "otelguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "otelguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "otelguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "otelguard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "otelguard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Namespaces where the operator may get Secrets, one per line. */}}
{{- define "otelguard.secretNamespaces" -}}
{{- $namespaces := .Values.rbac.secretNamespaces }}
{{- if not $namespaces }}
{{- $namespaces = .Values.watch.namespaces | default (list .Release.Namespace) }}
{{- end }}
{{- join "\n" (uniq $namespaces) }}
{{- end }}

{{/* The binding subject: the operator's ServiceAccount. */}}
{{- define "otelguard.subjects" -}}
- kind: ServiceAccount
  name: {{ include "otelguard.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/*
RBAC rules for namespaced resources: everything the operator reads and writes where OTelGuard resources live.
A ClusterRole when watching every namespace, else a Role in each watched namespace.
- otelguard.io: watch the six kinds; patch them (kopf's finalizers and progress annotations, never spec);
  write /status; update /finalizers, which owner references with blockOwnerDeletion on children require.
  No create or delete: the resources come from git.
- Children of an OTelGuard (Deployments, Services, ConfigMaps, ServiceAccounts, and the StatefulSet of an
  in-cluster ClickHouse), applied server-side and deleted when no longer desired.
- Events about reconciles, in both the core and the events.k8s.io API.
*/}}
{{- define "otelguard.namespacedRules" -}}
- apiGroups: ["otelguard.io"]
  resources: ["alertrules", "dashboards", "evaluators", "guardrailpolicies", "otelguards", "prompts"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["otelguard.io"]
  resources:
    - alertrules/status
    - dashboards/status
    - evaluators/status
    - guardrailpolicies/status
    - otelguards/status
    - prompts/status
  verbs: ["get", "patch", "update"]
- apiGroups: ["otelguard.io"]
  resources:
    - alertrules/finalizers
    - dashboards/finalizers
    - evaluators/finalizers
    - guardrailpolicies/finalizers
    - otelguards/finalizers
    - prompts/finalizers
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["configmaps", "serviceaccounts", "services"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* kopf watches CRDs to notice otelguard.io resources appearing or changing (read-only). */}}
{{- define "otelguard.crdRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["get", "list", "watch"]
{{- end }}
