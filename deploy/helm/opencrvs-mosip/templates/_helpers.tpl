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
What the split design's roles cannot start without, as the mediator's
options table and its split configuration say (internal/app/config.go:
requiredIn, internal/app/split_config.go). "A|B": either. deploy/helm_test.go
checks these lists against the code. The direct role is not checked here:
the chart's defaults leave its URLs to the installer, and the mediator
refuses a missing one at start with one line per problem.
*/}}
{{- define "opencrvs-mosip.roleRequired" -}}
{{- $required := dict
  "opencrvs-side" "STORE_ENCRYPTION_KEY MOSIP_AUTH_URL OPENCRVS_PUBLIC_KEY_URL OPENCRVS_GRAPHQL_GATEWAY_URL PEER_URL ENVELOPE_PRIVATE_KEY_FILE ENVELOPE_PEER_CERT_FILE OPENCRVS_WEBHOOKS_URL OPENCRVS_WEBHOOK_CALLBACK_URL OPENCRVS_CLIENT_SHA_SECRET PEER_CLIENT_ID PEER_CLIENT_SECRET OPENCRVS_CLIENT_ID OPENCRVS_CLIENT_SECRET"
  "mosip-side" "STORE_ENCRYPTION_KEY MOSIP_AUTH_URL MOSIP_PACKET_AUTH_CLIENT_ID MOSIP_PACKET_AUTH_CLIENT_SECRET MOSIP_WEBSUB_AUTH_CLIENT_ID MOSIP_WEBSUB_AUTH_CLIENT_SECRET MOSIP_CREATE_PACKET_URL MOSIP_PROCESS_PACKET_URL MOSIP_WEBSUB_HUB_URL MOSIP_WEBSUB_CALLBACK_URL MOSIP_WEBSUB_SECRET DECRYPT_P12_FILE_PATH DECRYPT_P12_FILE_PASSWORD PEER_URL ENVELOPE_PRIVATE_KEY_FILE ENVELOPE_PEER_CERT_FILE OPENCRVS_CLIENT_ID OPENCRVS_CLIENT_SECRET OPENCRVS_AUTH_TOKEN_URL|OPENCRVS_PUBLIC_KEY_URL"
-}}
{{- get $required . -}}
{{- end -}}

{{/*
The variables the chart sets from values other than config and secrets
(role, envelope, kafka): giving them again under config, secrets.env or
secrets.files is refused, as for the database's.
*/}}
{{- define "opencrvs-mosip.chartOwned" -}}
MEDIATOR_ROLE:role ENVELOPE_PRIVATE_KEY_FILE:envelope.privateKey ENVELOPE_PEER_CERT_FILE:envelope.peerCert KAFKA_BROKERS:kafka.brokers KAFKA_TLS:kafka.tls KAFKA_SASL_MECHANISM:kafka.sasl.mechanism KAFKA_SASL_USERNAME:kafka.sasl.username
{{- end -}}

{{/* Whether the variable in .name is given by the values in .v: "true" or "". */}}
{{- define "opencrvs-mosip.given" -}}
{{- $v := .v -}}
{{- $given := false -}}
{{- range $name := list .name (printf "%s_FILE" .name) -}}
{{- if ne (toString (get $v.config $name | default "")) "" -}}{{- $given = true -}}{{- end -}}
{{- if get $v.secrets.env $name -}}{{- $given = true -}}{{- end -}}
{{- if get $v.secrets.files $name -}}{{- $given = true -}}{{- end -}}
{{- range $v.extraEnv -}}{{- if eq .name $name -}}{{- $given = true -}}{{- end -}}{{- end -}}
{{- end -}}
{{- if and (eq .name "ENVELOPE_PRIVATE_KEY_FILE") $v.envelope.privateKey.secretName -}}{{- $given = true -}}{{- end -}}
{{- if and (eq .name "ENVELOPE_PEER_CERT_FILE") (or $v.envelope.peerCert.secretName $v.envelope.peerCert.configMapName) -}}{{- $given = true -}}{{- end -}}
{{- if $given -}}true{{- end -}}
{{- end -}}

{{/*
The mediator's public base URL, for NOTES.txt: the Ingress's first host,
else the Service inside the cluster.
*/}}
{{- define "opencrvs-mosip.publicURL" -}}
{{- if .Values.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) (first .Values.ingress.hosts).host -}}
{{- else -}}
{{- printf "http://%s.%s.svc:%v" (include "opencrvs-mosip.fullname" .) .Release.Namespace .Values.service.port -}}
{{- end -}}
{{- end -}}

{{/*
The paths the Ingress exposes when a host lists none: what the role's
callers outside the cluster call, nothing else (never /admin or /metrics).
direct: MOSIP's hub (/websub). opencrvs-side: the MOSIP side's results
(/birthReceiveNid) and OpenCRVS's webhooks (/webhooks/opencrvs).
mosip-side: the OpenCRVS side's records (/opencrvs/v1) and MOSIP's hub.
*/}}
{{- define "opencrvs-mosip.rolePaths" -}}
{{- if eq .Values.role "opencrvs-side" -}}
- {path: /birthReceiveNid, pathType: Exact}
- {path: /webhooks/opencrvs, pathType: Exact}
{{- else if eq .Values.role "mosip-side" -}}
- {path: /opencrvs/v1, pathType: Prefix}
- {path: /websub, pathType: Prefix}
{{- else -}}
- {path: /websub, pathType: Prefix}
{{- end -}}
{{- end -}}

{{/*
Refuse what the mediator cannot run, with a message: a role without what
it needs, SQLite with several replicas, PostgreSQL without its Secret, a
variable given twice. Included by every template that renders a workload.
*/}}
{{- define "opencrvs-mosip.validate" -}}
{{- $roles := list "direct" "opencrvs-side" "mosip-side" -}}
{{- $role := .Values.role -}}
{{- if not (has $role $roles) -}}
{{- fail (printf "role %q: must be one of direct, opencrvs-side, mosip-side" $role) -}}
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
{{- range $owned := splitList " " (include "opencrvs-mosip.chartOwned" .) -}}
{{- $pair := splitList ":" $owned -}}
{{- $name := index $pair 0 -}}
{{- if or (hasKey $.Values.config $name) (hasKey $.Values.secrets.env $name) (hasKey $.Values.secrets.files $name) -}}
{{- fail (printf "%s: the chart sets it from %s (see values.yaml); give it there only" $name (index $pair 1)) -}}
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
{{- $kafka := .Values.kafka -}}
{{- if and $kafka.brokers (ne $role "mosip-side") -}}
{{- fail (printf "kafka.brokers with role %s: only the mosip-side mediator uses Kafka (between its intake and its packet work); remove kafka.brokers, or use role: mosip-side" $role) -}}
{{- end -}}
{{- if and $kafka.sasl.mechanism (not $kafka.brokers) -}}
{{- fail "kafka.sasl.mechanism without kafka.brokers: SASL is for the brokers; set kafka.brokers or remove kafka.sasl" -}}
{{- end -}}
{{- if and $kafka.sasl.mechanism (not (has $kafka.sasl.mechanism (list "PLAIN" "SCRAM-SHA-256" "SCRAM-SHA-512"))) -}}
{{- fail (printf "kafka.sasl.mechanism %q: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512" $kafka.sasl.mechanism) -}}
{{- end -}}
{{- if and $kafka.sasl.mechanism (or (not $kafka.sasl.username) (not (include "opencrvs-mosip.given" (dict "name" "KAFKA_SASL_PASSWORD" "v" .Values)))) -}}
{{- fail "kafka.sasl.mechanism needs kafka.sasl.username and secrets.env.KAFKA_SASL_PASSWORD (the Secret holding the SASL password)" -}}
{{- end -}}
{{- if ne $role "direct" -}}
{{- $env := .Values.envelope -}}
{{- if not $env.privateKey.secretName -}}
{{- fail (printf "role %s needs envelope.privateKey.secretName: the Secret holding this mediator's RSA private key (PEM), mounted as ENVELOPE_PRIVATE_KEY_FILE (docs/install.md, Split design)" $role) -}}
{{- end -}}
{{- if eq (empty $env.peerCert.secretName) (empty $env.peerCert.configMapName) -}}
{{- fail (printf "role %s needs one of envelope.peerCert.secretName or envelope.peerCert.configMapName: where the peer mediator's certificate (PEM) is, mounted as ENVELOPE_PEER_CERT_FILE" $role) -}}
{{- end -}}
{{- $missing := list -}}
{{- range $entry := splitList " " (include "opencrvs-mosip.roleRequired" $role) -}}
{{- $found := false -}}
{{- range $name := splitList "|" $entry -}}
{{- if include "opencrvs-mosip.given" (dict "name" $name "v" $.Values) -}}{{- $found = true -}}{{- end -}}
{{- end -}}
{{- if not $found -}}{{- $missing = append $missing (replace "|" " or " $entry) -}}{{- end -}}
{{- end -}}
{{- if $missing -}}
{{- fail (printf "role %s: missing %s. Give settings under config and secrets under secrets.env (or secrets.files as NAME_FILE); docs/split-design.md says what each is" $role (join ", " $missing)) -}}
{{- end -}}
{{- if and (eq (toString (get .Values.config "WRITEBACK" | default "")) "country-config") (not (include "opencrvs-mosip.given" (dict "name" "WRITEBACK_URL" "v" .Values))) -}}
{{- fail "config.WRITEBACK country-config needs config.WRITEBACK_URL: the country config endpoint that stores MOSIP_AID and MOSIP_PSUT_TOKEN_ID" -}}
{{- end -}}
{{- end -}}
{{- end -}}
