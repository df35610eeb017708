{{/* Names and labels. */}}
{{- define "opencrvs-mosip.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "opencrvs-mosip.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "opencrvs-mosip.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opencrvs-mosip.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Values.role }}
{{- end -}}

{{- define "opencrvs-mosip.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "opencrvs-mosip.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "opencrvs-mosip.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "opencrvs-mosip.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The volume name of a secret file, from its variable: DECRYPT_P12_FILE_PATH -> file-decrypt-p12-file-path. */}}
{{- define "opencrvs-mosip.fileVolume" -}}
{{- printf "file-%s" (. | lower | replace "_" "-") | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Refuse what this chart version cannot run, with a message: the split
design's roles, SQLite with several replicas, PostgreSQL without its
Secret. Included by every template that renders a workload.
*/}}
{{- define "opencrvs-mosip.validate" -}}
{{- $roles := list "direct" "opencrvs-side" "mosip-side" -}}
{{- if not (has .Values.role $roles) -}}
{{- fail (printf "role %q: must be one of direct, opencrvs-side, mosip-side" .Values.role) -}}
{{- end -}}
{{- if ne .Values.role "direct" -}}
{{- fail (printf "role %q: the split design (opencrvs-side and mosip-side mediators, Kafka) is not built yet in opencrvs-mosip; this chart version runs role: direct only (see the chart's README)" .Values.role) -}}
{{- end -}}
{{- $db := .Values.database.type -}}
{{- if not (has $db (list "sqlite" "postgresql")) -}}
{{- fail (printf "database.type %q: must be sqlite or postgresql" $db) -}}
{{- end -}}
{{- if and (eq $db "sqlite") (gt (int .Values.replicaCount) 1) -}}
{{- fail (printf "replicaCount %d with database.type sqlite: SQLite is one file with one writer; use one replica, or database.type postgresql" (int .Values.replicaCount)) -}}
{{- end -}}
{{- if and (eq $db "postgresql") (not .Values.database.postgresql.urlSecret.secretName) -}}
{{- fail "database.type postgresql needs database.postgresql.urlSecret.secretName: the Secret holding DATABASE_URL" -}}
{{- end -}}
{{- range $name := list "DATABASE_URL" "SQLITE_DATABASE_PATH" -}}
{{- if hasKey $.Values.config $name -}}
{{- fail (printf "config.%s: the chart sets it from database (see values.yaml)" $name) -}}
{{- end -}}
{{- end -}}
{{- range $name, $_ := .Values.secrets.files -}}
{{- if or (hasKey $.Values.config $name) (hasKey $.Values.secrets.env $name) -}}
{{- fail (printf "%s is both a secret file and a setting: give it once" $name) -}}
{{- end -}}
{{- end -}}
{{- range $name, $_ := .Values.secrets.env -}}
{{- if hasKey $.Values.config $name -}}
{{- fail (printf "%s is both in config and in secrets.env: a secret belongs in secrets.env only" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
