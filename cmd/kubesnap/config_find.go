package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// configFile finds the configuration file: --config if given (it must
// exist), else kubesnap.yaml beside the repository (in the folder that
// holds --repo), else $XDG_CONFIG_HOME/kubesnap/config.yaml. It returns ""
// when there is none.
func configFile(explicit, repo string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", usageError{fmt.Errorf("--config %s: %w; give an existing file, or leave --config out to use %s beside --repo's folder", explicit, unwrapPathError(err), configName)}
		}
		return explicit, nil
	}
	var candidates []string
	if repo != "" {
		if abs, err := filepath.Abs(repo); err == nil {
			candidates = append(candidates, filepath.Join(filepath.Dir(abs), configName))
		}
	}
	if dir := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(dir) {
		candidates = append(candidates, filepath.Join(dir, "kubesnap", "config.yaml"))
	} else if dir, err := os.UserConfigDir(); err == nil {
		// ~/.config on Linux; the system's own folder elsewhere.
		candidates = append(candidates, filepath.Join(dir, "kubesnap", "config.yaml"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("configuration file %s: %w", c, unwrapPathError(err))
		}
	}
	return "", nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
