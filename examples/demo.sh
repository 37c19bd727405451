#!/usr/bin/env bash
# The demo behind 'make demo': start a local control plane, apply the
# example workloads, snapshot them into a git repository, change one
# object, snapshot again, and show the history.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBECTL=${KUBECTL:?make demo sets KUBECTL}
REPO=${DEMO_REPO:-$PWD/demo-repo}
work=$(mktemp -d)
kubeconfig=$work/kubeconfig
cp_pid=

stop() {
  if [ -n "$cp_pid" ]; then
    echo ">> stopping the control plane"
    kill "$cp_pid" 2>/dev/null || true
    wait "$cp_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

step() { printf '\n\033[1m>> %s\033[0m\n' "$*"; }

step "starting etcd, kube-apiserver and kube-controller-manager on 127.0.0.1"
bin/controlplane --kubeconfig "$kubeconfig" > "$work/controlplane.log" 2>&1 &
cp_pid=$!
for _ in $(seq 1 120); do
  [ -s "$kubeconfig" ] && break
  if ! kill -0 "$cp_pid" 2>/dev/null; then cat "$work/controlplane.log"; exit 1; fi
  sleep 0.5
done
[ -s "$kubeconfig" ] || { echo "control plane did not start:"; cat "$work/controlplane.log"; exit 1; }
k() { "$KUBECTL" --kubeconfig "$kubeconfig" "$@"; }

step "applying examples/workloads: two namespaces, a CRD with custom resources, RBAC, Services, ConfigMaps, a Secret"
k apply -f examples/workloads/00-namespaces.yaml -f examples/workloads/01-crd.yaml
k wait --for condition=established --timeout 60s crd/widgets.example.com
k apply -f examples/workloads/

rm -rf "$REPO"
step "kubesnap snapshot --repo $REPO"
bin/kubesnap snapshot --repo "$REPO" --kubeconfig "$kubeconfig"

step "snapshot again with nothing changed: no commit"
bin/kubesnap snapshot --repo "$REPO" --kubeconfig "$kubeconfig"

step "changing one object: kubectl set image deployment/web web=nginx:1.28 in shop"
k -n shop set image deployment/web web=nginx:1.28
bin/kubesnap snapshot --repo "$REPO" --kubeconfig "$kubeconfig"

step "kubesnap log --repo $REPO"
bin/kubesnap log --repo "$REPO"

step "git log --stat"
git -C "$REPO" --no-pager log --stat --stat-count=8 --format='%n%h %s%n%n%(trailers)'

step "the change, as git shows it"
git -C "$REPO" --no-pager diff HEAD~1 HEAD

printf '\nThe repository is at %s: try git -C %s log, or look at its files.\n' "$REPO" "$REPO"
