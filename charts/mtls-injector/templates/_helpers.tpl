{{/*
Names, labels and the pieces both Deployments share. Names follow the usual Helm convention so the
documented release name `mtls-injector` yields `mtls-injector-webhook`, `mtls-injector-rotator`, …
*/}}

{{- define "mtls-injector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mtls-injector.fullname" -}}
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

{{/* Object names; component suffixes fit in 63 characters because fullname is cut to 45 first. */}}
{{- define "mtls-injector.webhookName" -}}
{{- printf "%s-webhook" (include "mtls-injector.fullname" . | trunc 45 | trimSuffix "-") }}
{{- end }}
{{- define "mtls-injector.rotatorName" -}}
{{- printf "%s-rotator" (include "mtls-injector.fullname" . | trunc 45 | trimSuffix "-") }}
{{- end }}

{{- define "mtls-injector.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "mtls-injector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mtls-injector
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "webhook"). Never change: selectors are immutable. */}}
{{- define "mtls-injector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mtls-injector.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "mtls-injector.componentLabels" -}}
{{ include "mtls-injector.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "mtls-injector.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The mtls-init container's image: init.image when set (a full reference), else init.repository with the product
image's tag (image.tag, else appVersion). image.digest pins the product image only.
*/}}
{{- define "mtls-injector.initImage" -}}
{{- if .Values.init.image }}
{{- .Values.init.image }}
{{- else }}
{{- printf "%s:%s" .Values.init.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the config file and the webhook serving certificate are mounted (one definition for mount and config). */}}
{{- define "mtls-injector.configDir" -}}/etc/mtls-injector/config{{- end }}
{{- define "mtls-injector.tlsDir" -}}/etc/mtls-injector/tls{{- end }}
{{- define "mtls-injector.deliveryDir" -}}/etc/mtls-injector/delivery{{- end }}

{{/* The signer's ClusterTrustBundle: the signer name, `/` turned into `:`, as the API server requires. */}}
{{- define "mtls-injector.clusterTrustBundleName" -}}
{{- printf "%s:trust-bundle" (.Values.podCertificate.signerName | replace "/" ":") }}
{{- end }}

{{/*
The product's config file (src/config/schema.ts keys, nested). Rendered from values so both Deployments
share every setting; test/chart proves the product's own loader accepts it.
*/}}
{{- define "mtls-injector.config" -}}
{{- $v := .Values -}}
trustDomain: {{ $v.trustDomain | quote }}
clusterDomain: {{ $v.clusterDomain | quote }}
dnsShortNames: {{ $v.dnsShortNames }}
installNamespace: {{ .Release.Namespace | quote }}
keyAlgorithm: {{ $v.keyAlgorithm | quote }}
leafLifetime: {{ $v.leafLifetime | quote }}
backdate: {{ $v.backdate | quote }}
renewAt: {{ $v.renewAt | float64 | toJson }}
renewJitter: {{ $v.renewJitter | float64 | toJson }}
delivery:
  mode: {{ $v.delivery.mode | quote }}
  factsConfigMap: {{ $v.delivery.factsConfigMap | quote }}
podCertificate:
  signerName: {{ $v.podCertificate.signerName | quote }}
  keyType: {{ $v.podCertificate.keyType | quote }}
  maxExpiration: {{ $v.podCertificate.maxExpiration | quote }}
  backdate: {{ $v.podCertificate.backdate | quote }}
  refreshAt: {{ $v.podCertificate.refreshAt | float64 | toJson }}
  trustBundle: {{ $v.podCertificate.trustBundle | quote }}
  trustBundleConfigMap: {{ $v.podCertificate.trustBundleConfigMap | quote }}
ca:
  keyAlgorithm: {{ $v.ca.keyAlgorithm | quote }}
  lifetime: {{ $v.ca.lifetime | quote }}
  secretName: {{ $v.ca.secretName | quote }}
  trustBundleConfigMap: {{ $v.ca.trustBundleConfigMap | quote }}
  nameConstraints: {{ $v.ca.nameConstraints }}
  bringYourOwn: {{ $v.ca.bringYourOwn }}
  propagationDelay: {{ $v.ca.propagationDelay | quote }}
log:
  level: {{ $v.log.level | quote }}
webhook:
  port: {{ $v.webhook.port | int64 }}
  probePort: {{ $v.webhook.probePort | int64 }}
  host: {{ $v.webhook.host | quote }}
  tlsCert: {{ printf "%s/tls.crt" (include "mtls-injector.tlsDir" .) | quote }}
  tlsKey: {{ printf "%s/tls.key" (include "mtls-injector.tlsDir" .) | quote }}
  deliveryFactsFile: {{ printf "%s/delivery.json" (include "mtls-injector.deliveryDir" .) | quote }}
  bodyLimitBytes: {{ $v.webhook.bodyLimitBytes | int64 }}
  failOpen: {{ $v.webhook.failOpen }}
  shutdownDelay: {{ $v.webhook.shutdownDelay | quote }}
  serviceName: {{ include "mtls-injector.webhookName" . | quote }}
  extraDnsNames: {{ join "," $v.webhook.extraDnsNames | quote }}
  tlsSecretName: {{ $v.webhook.tlsSecretName | quote }}
  configurationName: {{ $v.webhook.configurationName | quote }}
init:
  enabled: {{ $v.init.enabled }}
  image: {{ include "mtls-injector.initImage" . | quote }}
  imagePullPolicy: {{ default $v.image.pullPolicy $v.init.imagePullPolicy | quote }}
  windowsImage: {{ $v.init.windowsImage | quote }}
  waitTimeout: {{ $v.init.waitTimeout | quote }}
rotator:
  probePort: {{ $v.rotator.probePort | int64 }}
  leaseName: {{ $v.rotator.leaseName | quote }}
  leaseDuration: {{ $v.rotator.leaseDuration | quote }}
  renewDeadline: {{ $v.rotator.renewDeadline | quote }}
  retryPeriod: {{ $v.rotator.retryPeriod | quote }}
  writeQps: {{ $v.rotator.writeQps | float64 | toJson }}
  writeBurst: {{ $v.rotator.writeBurst | int64 }}
  onboardingAuto: {{ $v.rotator.onboardingAuto }}
{{- end }}

{{/* Pod-level securityContext shared by both Deployments (Pod Security Standards "restricted"). */}}
{{- define "mtls-injector.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level securityContext shared by every container. */}}
{{- define "mtls-injector.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Scheduling of one component: (dict "root" $ "component" "webhook" "values" .Values.webhook). */}}
{{- define "mtls-injector.scheduling" -}}
{{- $sel := include "mtls-injector.selectorLabels" (dict "root" .root "component" .component) -}}
affinity:
{{- if .values.affinity }}
  {{- toYaml .values.affinity | nindent 2 }}
{{- else }}
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- $sel | nindent 14 }}
{{- end }}
{{- with .values.topologySpread }}
{{- if .enabled }}
topologySpreadConstraints:
  - maxSkew: {{ .maxSkew }}
    topologyKey: {{ .topologyKey }}
    whenUnsatisfiable: {{ .whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- $sel | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* The webhook's namespaceSelector exclusion, shared by every entry: only kubernetes.io/metadata.name, which
the API server sets and tenants cannot change. */}}
{{- define "mtls-injector.excludedNamespaces" -}}
- key: kubernetes.io/metadata.name
  operator: NotIn
  values:
    {{- range (list "kube-system" "kube-node-lease" .Release.Namespace | uniq) }}
    - {{ . }}
    {{- end }}
{{- end }}

{{/*
Checks values.schema.json cannot express: ranges of numbers `--set` passes as strings, and settings that must
differ. The product validates its config again at start; failing here saves a crash-looping rollout.
*/}}
{{- define "mtls-injector.validate" -}}
{{- $v := .Values -}}
{{- range $check := list
  (list "renewAt" ($v.renewAt | float64) 0.1 0.9)
  (list "renewJitter" ($v.renewJitter | float64) 0.0 0.3)
  (list "rotator.writeQps" ($v.rotator.writeQps | float64) 0.1 10000.0)
  (list "prometheusRule.admissionErrorRatio" ($v.prometheusRule.admissionErrorRatio | float64) 0.001 1.0)
  (list "prometheusRule.admissionLatencySeconds" ($v.prometheusRule.admissionLatencySeconds | float64) 0.001 30.0) }}
{{- $name := index $check 0 }}{{ $n := index $check 1 }}
{{- if or (lt $n (index $check 2)) (gt $n (index $check 3)) }}
{{- fail (printf "values: %s must be from %v to %v, got %v" $name (index $check 2) (index $check 3) $n) }}
{{- end }}
{{- end }}
{{- $at := $v.renewAt | float64 }}{{ $jitter := $v.renewJitter | float64 }}
{{- if or (ge (addf $at $jitter) 1.0) (le (subf $at $jitter) 0.0) }}
{{- fail (printf "values: renewAt ± renewJitter (%v ± %v) must stay inside (0, 1) of the lifetime" $at $jitter) }}
{{- end }}
{{- if gt (int $v.prometheusRule.caExpiryCriticalDays) (int $v.prometheusRule.caExpiryWarningDays) }}
{{- fail (printf "values: prometheusRule.caExpiryCriticalDays (%v) must not exceed caExpiryWarningDays (%v)" $v.prometheusRule.caExpiryCriticalDays $v.prometheusRule.caExpiryWarningDays) }}
{{- end }}
{{- if hasPrefix "kubernetes.io/" $v.podCertificate.signerName }}
{{- fail (printf "values: podCertificate.signerName %q is reserved (kubernetes.io/ names belong to Kubernetes); use your own domain" $v.podCertificate.signerName) }}
{{- end }}
{{- if eq (int $v.webhook.port) (int $v.webhook.probePort) }}
{{- fail (printf "values: webhook.probePort must differ from webhook.port, both are %v" $v.webhook.port) }}
{{- end }}
{{- end }}
