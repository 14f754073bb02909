{{/* Labels. Each takes (dict "root" $ "role" NAME): the role is the Deployment's component. */}}
{{- define "posthorn.selectorLabels" -}}
app.kubernetes.io/name: posthorn
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{- define "posthorn.labels" -}}
{{ include "posthorn.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{/* The Secret with DATABASE_URL and POSTHORN_ENCRYPTION_KEY: the operator's, or the chart's own. */}}
{{- define "posthorn.secretName" -}}
{{ .Values.database.existingSecret | default (printf "%s-posthorn" .Release.Name) }}
{{- end }}
