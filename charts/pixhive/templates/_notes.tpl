{{- /* The text of NOTES.txt, in a define so that tests/chart/check.sh can render it (helm template does not). */ -}}
{{- define "pixhive.notes" -}}
PixHive {{ .Chart.AppVersion }} is installed as release {{ .Release.Name }} in namespace {{ .Release.Namespace }}:
every service (auth, media, processing, graph, feed, search) runs `pixhive <service>` as its own
Deployment; the others reach its actors through the headless Service <release>-<service>-actors.

Watch the pods become ready (/readyz on the metrics port {{ .Values.ports.metrics }} checks each
service's stores and its links to the other services):
  kubectl -n {{ .Release.Namespace }} get pods -l app.kubernetes.io/instance={{ .Release.Name }} -w

Database migrations: {{ if .Values.migrations.job.enabled }}the hook Job {{ include "pixhive.fullname" . }}-migrate runs `pixhive admin migrate`
({{ if and .Values.database.existingSecret (not .Values.postgresqlTrial.enabled) }}before install and{{ else }}after install, and{{ end }} before every upgrade). {{ end }}Each service also migrates its own
tables when it starts (recorded per service in schema_migrations, safe when replicas start together).
{{- if .Values.ingress.enabled }}

The API is routed by the Ingress {{ include "pixhive.fullname" . }} (class {{ .Values.ingress.className | default "default" }}), generated from files/ingress-routes.tsv:
  kubectl -n {{ .Release.Namespace }} get ingress
  curl http{{ if .Values.ingress.tls.enabled }}s{{ end }}://{{ .Values.ingress.host | default "<ingress address>" }}/api/v1/operations
{{- else }}

No Ingress: try the API with
  kubectl -n {{ .Release.Namespace }} port-forward svc/{{ include "pixhive.fullname" . }}-processing {{ .Values.ports.http }}
  curl http://127.0.0.1:{{ .Values.ports.http }}/api/v1/operations
{{- end }}
{{- if or .Values.postgresqlTrial.enabled .Values.redisTrial.enabled }}

TRIAL datastores inside the chart (single replica, no backups):{{ if .Values.postgresqlTrial.enabled }} PostgreSQL{{ end }}{{ if .Values.redisTrial.enabled }} Redis{{ end }}.
Use an external PostgreSQL and Redis in production (values-eks.yaml).
{{- end }}
{{- if and .Values.s3.useSecret (not .Values.s3.existingSecret) (not .Values.s3.accessKeyId) }}

WARNING: s3.accessKeyId is empty: uploads fail until S3 credentials are set.
{{- end }}
{{- $noCpu := list }}
{{- range $svc := splitList " " (include "pixhive.serviceNames" .) }}
{{- $v := include "pixhive.svcValues" (dict "root" $ "svc" $svc) | fromYaml }}
{{- if and $v.enabled $v.autoscaling.enabled (not $v.resources.requests.cpu) }}{{ $noCpu = append $noCpu $svc }}{{ end }}
{{- end }}
{{- if $noCpu }}

WARNING: no CPU request for {{ join ", " $noCpu }}: a CPU-utilization HPA cannot compute its metric
without one. Set services.<name>.resources.requests.cpu (the chart's own, measured on the local
cluster, are in bench/results/resources.md).
{{- end }}
{{- end -}}
