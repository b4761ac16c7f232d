#!/usr/bin/env bash
# etcd's own tools for the compatibility tests (test/etcdctl.test.ts, etcd-gateway, etcd-tls):
# real etcdctl 3.4 drives Cairn's etcd API, and a real etcd prints the outputs it is compared
# with. Idempotent: installs only what is missing. Under CI the tests fail without them.
set -uo pipefail
missing=()
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
if [ ${#missing[@]} -eq 0 ]; then
  echo "etcd tools present: $(ETCDCTL_API=3 etcdctl version | head -1)"
  exit 0
fi
echo "installing ${missing[*]} (Debian packages) for the etcd compatibility tests"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "cannot install ${missing[*]}: no apt-get on this machine"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" || {
  echo "cannot install ${missing[*]} with apt-get"
  exit 1
}
# The server package starts a system etcd on 2379 under systemd; the tests start their own.
ETCDCTL_API=3 etcdctl version | head -1
