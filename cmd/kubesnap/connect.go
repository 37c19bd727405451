package main

import (
	"context"
	"fmt"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/kubesnap/kubesnap/internal/kube"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// connect opens the repository, refusing one that is not kubesnap's (see
// gitstore.CheckOwned) or has uncommitted edits in kubesnap's folders,
// builds the cluster client and checks that the server answers and takes
// the credentials.
func connect(ctx context.Context, dir string, opts gitstore.Options, flags *genericclioptions.ConfigFlags) (*gitstore.Repo, *kube.Cluster, error) {
	repo, err := gitstore.Open(dir, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := repo.CheckOwned(ctx); err != nil {
		return nil, nil, err
	}
	edits, err := repo.LocalEdits()
	if err != nil {
		return nil, nil, err
	}
	if len(edits) > 0 {
		return nil, nil, fmt.Errorf("repository %s has uncommitted changes kubesnap will not overwrite: %s (commit or discard them first)", dir, snapsync.JoinFirst(edits, 5))
	}
	cluster, err := kube.Connect(flags)
	if err != nil {
		return nil, nil, err
	}
	if err := cluster.Check(ctx); err != nil {
		return nil, nil, err
	}
	return repo, cluster, nil
}
