#!/usr/bin/env bash
# The demo behind 'make demo': the whole loop on a local control plane.
#
#   1. snapshot the example workloads into a git repository;
#   2. watch: alice changes a Deployment, the watcher commits it as hers
#      (the API server's audit events name her);
#   3. diff: drift between the repository and the live cluster, as text
#      and as Markdown;
#   4. delete a namespace, then restore it from git: the plan first;
#   5. clone the same revision into a second namespace (--namespace-map);
#   6. history and blame of the changed object.
#
# Each step prints the command it runs. DEMO_REPO keeps the repository
# (default ./demo-repo); it is replaced on every run.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBECTL=${KUBECTL:?make demo sets KUBECTL}
REPO=${DEMO_REPO:-$PWD/demo-repo}
# Replace only an earlier demo's repository: DEMO_REPO=~ must not empty a home.
if [ -e "$REPO" ] && ! { [ -d "$REPO/.git" ] && [ -f "$REPO/.kubesnap/coverage.txt" ]; }; then
  echo "demo: $REPO exists and is not a kubesnap repository; give DEMO_REPO a new folder" >&2
  exit 2
fi
work=$(mktemp -d)
kubeconfig=$work/kubeconfig
cp_pid=
watch_pid=

stop() {
  if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; fi
  if [ -n "$cp_pid" ]; then
    echo ">> stopping the control plane"
    kill "$cp_pid" 2>/dev/null || true
    wait "$cp_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# run prints a command, then runs it. Paths under the scratch folder and
# the repository print short.
show() {
  local shown="$*"
  shown=${shown//$work\//}
  shown=${shown//$REPO/demo-repo}
  printf '\033[36m$ %s\033[0m\n' "$shown"
}
run() { show "$@"; "$@"; }
# drift runs a kubesnap diff, whose exit status 1 means drift.
drift() { local rc=0; run "$@" || rc=$?; [ "$rc" -le 1 ] || exit "$rc"; }
kubectl() { "$KUBECTL" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18443; }

audit_addr=127.0.0.1:$(free_port)
step "start etcd, kube-apiserver and kube-controller-manager on 127.0.0.1, posting audit events to $audit_addr"
bin/controlplane --kubeconfig "$kubeconfig" --dir "$work" --users alice \
  --audit-webhook "$audit_addr" --audit-policy deploy/audit/policy.yaml > "$work/controlplane.log" 2>&1 &
cp_pid=$!
for _ in $(seq 1 240); do
  [ -s "$kubeconfig" ] && break
  if ! kill -0 "$cp_pid" 2>/dev/null; then cat "$work/controlplane.log"; exit 1; fi
  sleep 0.25
done
[ -s "$kubeconfig" ] || { echo "the control plane did not start:"; cat "$work/controlplane.log"; exit 1; }
export KUBECONFIG=$kubeconfig

step "apply examples/workloads: two namespaces, a CRD with custom resources, RBAC, Services, ConfigMaps, a Secret"
run kubectl apply -f examples/workloads/00-namespaces.yaml -f examples/workloads/01-crd.yaml > /dev/null
run kubectl wait --for condition=established --timeout 60s crd/widgets.example.com > /dev/null
run kubectl apply -f examples/workloads/ > /dev/null
# alice may update Deployments in shop, nothing else.
kubectl -n shop create role deployer --verb=get,list,patch,update --resource=deployments.apps > /dev/null
kubectl -n shop create rolebinding alice-deploys --role=deployer --user=alice > /dev/null

rm -rf "$REPO"
step "1. snapshot: every object, canonical YAML, one commit (Secret values redacted)"
run bin/kubesnap snapshot --repo "$REPO"
run git -C "$REPO" ls-files namespaces/shop

step "2. watch: alice changes the Deployment; the watcher commits it with her as the author"
watch=(bin/kubesnap watch --repo "$REPO" --debounce 500ms --listen ""
  --audit-listen "$audit_addr" --audit-tls-cert-file "$work/audit-serving.crt"
  --audit-tls-key-file "$work/audit-serving.key" --audit-client-ca "$work/audit-client-ca.crt")
show "${watch[@]}" "&"
"${watch[@]}" > "$work/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 120); do grep -qE 'msg="?watching' "$work/watch.log" 2>/dev/null && break; sleep 0.25; done
before=$(git -C "$REPO" rev-parse HEAD)
run kubectl --kubeconfig "$work/kubeconfig-alice" -n shop set image deployment/web web=nginx:1.28
for _ in $(seq 1 120); do [ "$(git -C "$REPO" rev-parse HEAD)" != "$before" ] && break; sleep 0.25; done
show kill -TERM %1
kill -TERM "$watch_pid"; wait "$watch_pid" 2>/dev/null || true; watch_pid=
run git -C "$REPO" --no-pager log -1 --format='author: %an <%ae>%n%n%B' --stat
rev=$(git -C "$REPO" rev-parse --short HEAD)

step "3. diff: someone scales the Deployment and adds a ConfigMap by hand; the drift against git"
run kubectl -n shop scale deployment/web --replicas=3 > /dev/null
run kubectl -n shop create configmap hotfix --from-literal=debug=true > /dev/null
drift bin/kubesnap diff --repo "$REPO" --include-namespaces shop
drift bin/kubesnap diff --repo "$REPO" --include-namespaces shop -o markdown

step "4. the namespace shop is deleted; restore it from git, the plan first"
run kubectl delete namespace shop --wait --timeout 60s
run bin/kubesnap restore --repo "$REPO" --rev "$rev" --include-namespaces shop --dry-run
run bin/kubesnap restore --repo "$REPO" --rev "$rev" --include-namespaces shop --yes
run kubectl -n shop get deployments,services,configmaps,widgets

step "5. clone the same revision into a second namespace: shop becomes shop-staging (less its Services: web-public's NodePort is taken)"
run bin/kubesnap restore --repo "$REPO" --rev "$rev" --include-namespaces shop --exclude-resources services \
  --namespace-map shop=shop-staging --yes
run kubectl -n shop-staging get deployments,configmaps,rolebindings

step "6. history and blame of the changed object"
run bin/kubesnap history deployments.apps/shop/web --repo "$REPO"
run bin/kubesnap blame deployments.apps/shop/web --repo "$REPO"

printf '\nThe repository is at %s: try kubesnap log --repo %s, or git -C %s log.\n' "$REPO" "$REPO" "$REPO"
