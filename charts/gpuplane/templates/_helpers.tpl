{{/*
The labels every object of a component carries, as in deploy/: its name and
part-of gpuplane. No Helm labels are added, so the chart and the kustomize tree
render the same objects.
*/}}
{{- define "gpuplane.labels" -}}
app.kubernetes.io/name: {{ . }}
app.kubernetes.io/part-of: gpuplane
{{- end }}

{{/* The namespace of gpuplane's objects. */}}
{{- define "gpuplane.namespace" -}}
{{ .Values.namespace.name }}
{{- end }}

{{/*
A container's image and pull policy from an image value {repository, tag,
pullPolicy}: the lines `image:` and, when set, `imagePullPolicy:`.
*/}}
{{- define "gpuplane.image" -}}
image: {{ printf "%s:%s" .repository .tag | quote }}
{{- with .pullPolicy }}
imagePullPolicy: {{ . }}
{{- end }}
{{- end }}

{{/* Whether sharing backend `backend` is installed: "true" or "". */}}
{{- define "gpuplane.sharing" -}}
{{- if has .backend .root.Values.sharing.backends }}true{{ end }}
{{- end }}

{{/*
The name kustomize's configMapGenerator gives a ConfigMap `name` holding `data`:
the name, "-", and ten characters of the SHA-256 of {"data": data, "kind":
"ConfigMap", "name": ""} as JSON, with 0, 1, 3, a and e replaced by g, h, k, m
and t. (kustomize v5 hashes an empty name: it looks the name up as one key
"metadata/name", which no object has.) A change of the data renames the
ConfigMap, and so rolls the pods mounting it.
*/}}
{{- define "gpuplane.hashedName" -}}
{{- $sum := dict "kind" "ConfigMap" "name" "" "data" .data | toJson | sha256sum | trunc 10 -}}
{{- $sum = $sum | replace "0" "g" | replace "1" "h" | replace "3" "k" | replace "a" "m" | replace "e" "t" -}}
{{ .name }}-{{ $sum }}
{{- end }}

{{/*
The name of the scheduler's ConfigMap, which holds scheduler-config.yaml as it
is in deploy/base/scheduler (files/ links to it).
*/}}
{{- define "gpuplane.schedulerConfigName" -}}
{{- include "gpuplane.hashedName" (dict "name" "gpuplane-scheduler-config" "data" (dict "scheduler-config.yaml" (.Files.Get "files/scheduler-config.yaml"))) }}
{{- end }}
