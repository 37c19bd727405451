// Package testenv starts a real control plane for tests, the demo and
// benchmarks: etcd, kube-apiserver and, on request, kube-controller-manager
// (for garbage collection and namespace deletion), built from their Go
// modules by the Makefile into the user cache folder.
//
// It is a small launcher of its own rather than controller-runtime's
// envtest: envtest starts etcd and kube-apiserver but not a
// controller-manager, and kubesnap's tests need one to delete namespaces
// and collect garbage, as a real cluster does.
//
// # Use in tests
//
// A test package starts one control plane for all its tests from TestMain
// (os.Exit(testenv.Main(m, opts, &env))). Without the binaries, go test
// fails and says how to build them, unless -short asks to skip: env then
// stays nil, and every test that needs the control plane starts with
// testenv.Require(t, env), which skips it. make test sets
// KUBESNAP_REQUIRE_CONTROL_PLANE, so that nothing is skipped there.
//
// # Files
//
//	testenv.go      where the binaries are (BinDir, Binary, Available); Start, Stop,
//	                and stopping and restarting the API server (fault tests)
//	setup.go        what Start writes: the token file and the kubeconfigs (admin, limited,
//	                Options.Users: UserKubeconfig, UserClient), the service account
//	                keys; free ports
//	audit.go        what Start writes for auditing: Options.AuditPolicy and
//	                AuditWebhookKubeconfig, and the API server's flags for them
//	main.go         for tests: Main, Require, Client, ImpersonatingClient, Namespace, Kubectl
//	githttp.go      GitHTTP: a git HTTP server with token authentication, for push tests
//	webhookpki.go   NewAuditWebhook: certificates and the API server's webhook kubeconfig
//	                for an audit webhook on 127.0.0.1
//	proc_*.go       process attributes per OS (the control plane dies with the test)
//	controlplane/   a command that runs the control plane for the demo and benchmarks
package testenv
