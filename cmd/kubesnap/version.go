package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at link time by make build, make image and the Dockerfile:
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.revision=$(git rev-parse HEAD)"
//
// Empty, they are read from the build information Go records (the module
// version of go install …@v1.2.0, the git revision of a build in a clone).
var (
	version  string
	revision string // the commit
)

// buildInfo is what kubesnap version prints.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func newVersion(stdout io.Writer) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print kubesnap's version, the commit it was built from and the Go version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := textOrJSON().check(output); err != nil {
				return err
			}
			info, _ := debug.ReadBuildInfo()
			b := describeBuild(version, revision, info)
			if output == "json" {
				return writeJSON(stdout, b)
			}
			fmt.Fprintf(stdout, "version:  %s\ncommit:   %s\ngo:       %s\nplatform: %s\n", b.Version, b.Commit, b.GoVersion, b.Platform)
			return nil
		},
	}
	textOrJSON().outputFlag(cmd, &output)
	return cmd
}

// describeBuild says what this binary is: the link-time values first, then
// what Go recorded (info may be nil), then "dev" and "unknown".
func describeBuild(ldVersion, ldCommit string, info *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: ldVersion, Commit: ldCommit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info != nil {
		// go install github.com/kubesnap/kubesnap/cmd/kubesnap@v1.2.0
		// records v1.2.0; a build in a clone records "(devel)", or a
		// pseudo-version derived from git since Go 1.24.
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		if b.Commit == "" {
			var rev, modified string
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if rev != "" && modified == "true" {
				rev += "-dirty"
			}
			b.Commit = rev
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}
