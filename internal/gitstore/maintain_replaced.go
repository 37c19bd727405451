package gitstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// replacedName is the file that lists the packs a maintenance replaced
// and when: they stay on disk for a grace period, for readers in other
// processes that listed the packs before the new one came.
const replacedName = "kubesnap-replaced-packs"

// packExtensions are the files of a pack, removed in this order: the
// .pack first, since go-git and git find packs by it and go-git fails on
// a pack without its index, not on an index without its pack.
var packExtensions = []string{".pack", ".idx", ".rev", ".bitmap", ".mtimes", ".promisor"}

// readReplaced reads the list: pack name → when it was replaced. A
// missing file is an empty list; a line it cannot read is dropped (the
// pack then stays, as an ordinary pack that a later maintenance rolls
// up again).
func readReplaced(gitDir string) (map[string]time.Time, error) {
	data, err := os.ReadFile(filepath.Join(gitDir, replacedName))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]time.Time{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", replacedName, err)
	}
	out := map[string]time.Time{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		at, name, ok := strings.Cut(sc.Text(), " ")
		sec, err := strconv.ParseInt(at, 10, 64)
		if ok && err == nil && strings.HasPrefix(name, "pack-") && !strings.ContainsAny(name, `/\`) {
			out[name] = time.Unix(sec, 0)
		}
	}
	return out, nil
}

// writeReplaced writes the list, synced and renamed in.
func writeReplaced(gitDir string, replaced map[string]time.Time) error {
	names := make([]string, 0, len(replaced))
	for n := range replaced {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&buf, "%d %s\n", replaced[n].Unix(), n)
	}
	tmp, err := writeTemp(gitDir, "tmp_replaced_", func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
	if err == nil {
		err = os.Rename(tmp, filepath.Join(gitDir, replacedName))
	}
	if err != nil {
		if tmp != "" {
			_ = os.Remove(tmp) // best effort: a stray temporary file is harmless
		}
		return fmt.Errorf("write %s: %w", replacedName, err)
	}
	return syncDir(gitDir)
}

// removeReplaced removes the replaced packs whose grace period is over,
// and forgets them; it returns how many it removed.
func removeReplaced(gitDir string, replaced map[string]time.Time, grace time.Duration, now time.Time) (int, error) {
	packDir := filepath.Join(gitDir, "objects", "pack")
	removed := 0
	for name, at := range replaced {
		if now.Sub(at) < grace {
			continue
		}
		if _, err := os.Stat(filepath.Join(packDir, name+".keep")); err == nil {
			delete(replaced, name) // kept since: someone wants it, leave it be
			continue
		}
		for _, ext := range packExtensions {
			if err := os.Remove(filepath.Join(packDir, name+ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return removed, fmt.Errorf("remove replaced pack %s: %w", name+ext, err)
			}
		}
		delete(replaced, name)
		removed++
	}
	return removed, nil
}
