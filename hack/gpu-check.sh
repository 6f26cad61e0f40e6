#!/usr/bin/env bash
# Runs what `make gpu-check-build` put beside this script against the machine's
# NVIDIA driver: the gpu-tagged tests (NVML discovery, `nodeagent check` through the
# library) and the nodeagent binary's own `check`. Without a driver (no
# libnvidia-ml.so.1) it says so and exits 0. It writes nothing: check runs without
# --apply. Exit status: that of the tests.
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

has_nvml() {
  if command -v ldconfig >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libnvidia-ml\.so\.1'; then
    return 0
  fi
  local d
  for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 /usr/local/cuda/lib64 ${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH//:/ }}; do
    [ -e "$d/libnvidia-ml.so.1" ] && return 0
  done
  return 1
}

if ! has_nvml; then
  echo "gpu-check: no NVIDIA driver on this machine (libnvidia-ml.so.1 not found): nothing to check"
  exit 0
fi

echo "== NVML discovery and nodeagent check through the library (tests tagged gpu)"
rc=0
"$dir/nodeagent-gpu.test" -test.v -test.count=1 -test.run '^TestGPU' || rc=$?

echo "== nodeagent check (the binary; writes nothing)"
check_rc=0
"$dir/nodeagent" check || check_rc=$?
echo "nodeagent check exit status: $check_rc (1 only says a step needs attention on this machine)"

exit "$rc"
