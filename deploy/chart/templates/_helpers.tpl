{{/* The chart's name, at most 63 characters. */}}
{{- define "kubesnap.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object's name: the release name, or
<release>-kubesnap when the release name does not hold the chart's name.
Short enough for the longest suffix (-leader-election).
*/}}
{{- define "kubesnap.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 46 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 46 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The labels the Deployment selects its pods by. */}}
{{- define "kubesnap.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubesnap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: watch
{{- end -}}

{{/* Every object's labels. */}}
{{- define "kubesnap.labels" -}}
app.kubernetes.io/name: {{ include "kubesnap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
{{- end -}}

{{/* The ServiceAccount the pods run as, bound by both bindings. */}}
{{- define "kubesnap.serviceAccountName" -}}
{{- include "kubesnap.fullname" . -}}
{{- end -}}

{{/*
Credentials: "" when none, else the type, after checking that the values
name a Secret.
*/}}
{{- define "kubesnap.credentials" -}}
{{- $c := .Values.credentials -}}
{{- if $c.type -}}
{{- if not (has $c.type (list "ssh" "https-token")) -}}
{{- fail (printf "credentials.type %q: want \"\", \"ssh\" or \"https-token\"" $c.type) -}}
{{- end -}}
{{- if not $c.secretName -}}
{{- fail (printf "credentials.type is %s but credentials.secretName is empty: name the Secret that holds the credentials (see deploy/README.md)" $c.type) -}}
{{- end -}}
{{- $c.type -}}
{{- end -}}
{{- end -}}
