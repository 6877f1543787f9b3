{{- define "pixhive.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pixhive.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The services in start order, and which other services' actors each one needs (as scripts/cluster). */}}
{{- define "pixhive.serviceNames" -}}auth media processing graph feed search{{- end -}}
{{- define "pixhive.actorDeps" -}}
auth: [graph, media]
media: [graph]
processing: [media]
graph: [media, auth]
feed: [media, auth, graph]
search: [media, auth, graph]
{{- end -}}

{{- define "pixhive.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "pixhive.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pixhive
{{- end -}}

{{/* Labels of every PixHive service pod (not the trial PostgreSQL/Redis). */}}
{{- define "pixhive.podSelector" -}}
app.kubernetes.io/name: {{ include "pixhive.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
pixhive.io/role: service
{{- end -}}

{{/* dict "root" $ "svc" name */}}
{{- define "pixhive.selectorLabels" -}}
{{ include "pixhive.podSelector" .root }}
app.kubernetes.io/component: {{ .svc }}
{{- end -}}

{{/* The merged settings of one service: defaults overridden by services.<name>. */}}
{{- define "pixhive.svcValues" -}}
{{- $root := .root -}}
{{- $own := index $root.Values.services .svc | default dict -}}
{{- toYaml (mergeOverwrite (deepCopy $root.Values.defaults) (deepCopy $own)) -}}
{{- end -}}

{{/* Resources without the unset (null) placeholders. */}}
{{- define "pixhive.resources" -}}
{{- $out := dict -}}
{{- range $kind := list "requests" "limits" -}}
{{- $m := dict -}}
{{- range $k, $v := (index $ $kind | default dict) -}}
{{- if not (kindIs "invalid" $v) -}}{{- $_ := set $m $k $v -}}{{- end -}}
{{- end -}}
{{- if $m -}}{{- $_ := set $out $kind $m -}}{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "pixhive.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pixhive.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pixhive.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "pixhive.jwtSecret" -}}{{ default (printf "%s-jwt" (include "pixhive.fullname" .)) .Values.jwt.existingSecret }}{{- end -}}
{{- define "pixhive.databaseSecret" -}}{{ default (printf "%s-database" (include "pixhive.fullname" .)) .Values.database.existingSecret }}{{- end -}}
{{- define "pixhive.s3Secret" -}}{{ default (printf "%s-s3" (include "pixhive.fullname" .)) .Values.s3.existingSecret }}{{- end -}}
{{- define "pixhive.smtpSecret" -}}{{ default (printf "%s-smtp" (include "pixhive.fullname" .)) .Values.smtp.existingSecret }}{{- end -}}

{{- define "pixhive.redisUrl" -}}
{{- if .Values.redis.url -}}{{ .Values.redis.url }}
{{- else if .Values.redisTrial.enabled -}}{{ printf "redis://%s-redis:6379" (include "pixhive.fullname" .) }}
{{- else -}}{{ fail "redis.url is required when redisTrial.enabled is false" }}
{{- end -}}
{{- end -}}

{{/* A value kept across upgrades: the existing Secret's key if there is one, else random. */}}
{{- define "pixhive.keep" -}}
{{- $s := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- if and $s $s.data (hasKey $s.data .key) -}}{{ index $s.data .key | b64dec }}{{- else -}}{{ randAlphaNum 48 }}{{- end -}}
{{- end -}}

{{- define "pixhive.pgPassword" -}}
{{- if .Values.postgresqlTrial.password -}}{{ .Values.postgresqlTrial.password }}
{{- else -}}{{ include "pixhive.keep" (dict "root" . "name" (printf "%s-postgresql" (include "pixhive.fullname" .)) "key" "password") }}
{{- end -}}
{{- end -}}
