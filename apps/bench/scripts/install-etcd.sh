#!/usr/bin/env bash
# Installs a real etcd (Debian's etcd-server and etcd-client, 3.4) for side-by-side benchmarks.
# Needs root and Debian's apt. The benchmarks run Cairn alone, and say so, when etcd is absent.
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then
  echo "etcd is already installed: $(etcd --version | head -1)"
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client
etcd --version | head -1
