// Command controlplane runs the test control plane for the demo and for
// benchmarks: it starts etcd, kube-apiserver and kube-controller-manager,
// copies the admin kubeconfig to --kubeconfig, and runs until interrupted.
//
// It is one file: main.go parses the flags, starts the control plane
// through internal/testenv and waits for a signal.
package main
