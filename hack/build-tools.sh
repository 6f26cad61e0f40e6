#!/usr/bin/env bash
# Builds the control-plane programs that tests and the demo run (etcd, kube-apiserver,
# kube-scheduler, kube-controller-manager) from the pinned module in hack/tools into the
# bin directory.
#
#   hack/build-tools.sh [-f] [TOOL...]
#
# TOOL is etcd, kube-apiserver, kube-scheduler or kube-controller-manager (default: all
# four). A program that is already there is kept unless -f is given. The bin directory is
# $GPUPLANE_BIN_DIR, or bin/ at the repository root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${GPUPLANE_BIN_DIR:-$root/bin}"
force=0
if [[ "${1:-}" == "-f" ]]; then
	force=1
	shift
fi
tools=("$@")
if [[ ${#tools[@]} -eq 0 ]]; then
	tools=(etcd kube-apiserver kube-scheduler kube-controller-manager)
fi

# The version the API server reports to clients; it must match k8s.io/kubernetes in
# hack/tools/go.mod.
kube_version="$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$root/hack/tools/go.mod")"
if [[ ! "$kube_version" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+$ ]]; then
	echo "build-tools: cannot read the k8s.io/kubernetes version from hack/tools/go.mod (got \"$kube_version\")" >&2
	exit 1
fi
major="${BASH_REMATCH[1]}"
minor="${BASH_REMATCH[2]}"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"

mkdir -p "$bin"
for tool in "${tools[@]}"; do
	case "$tool" in
	etcd) src=go.etcd.io/etcd/server/v3 ;;
	kube-apiserver | kube-scheduler | kube-controller-manager) src="k8s.io/kubernetes/cmd/$tool" ;;
	*)
		echo "build-tools: unknown tool \"$tool\"; known: etcd kube-apiserver kube-scheduler kube-controller-manager" >&2
		exit 2
		;;
	esac
	if [[ $force -eq 0 && -x "$bin/$tool" ]]; then
		echo "build-tools: $bin/$tool present, kept"
		continue
	fi
	echo "build-tools: building $tool ($src)"
	start=$SECONDS
	# Built beside the target and renamed, so an interrupted build never leaves a
	# half-written program that a later run would take as present.
	(cd "$root/hack/tools" && GOWORK=off CGO_ENABLED=0 go build -trimpath -buildvcs=false \
		-ldflags "$ldflags" -o "$bin/.$tool.tmp" "$src")
	mv -f "$bin/.$tool.tmp" "$bin/$tool"
	echo "build-tools: built $bin/$tool in $((SECONDS - start))s"
done
