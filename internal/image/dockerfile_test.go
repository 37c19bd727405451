package image

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// finalStage is what a Dockerfile's last stage says: enough of Docker's
// syntax for ours (continuations, comments, JSON-form ENTRYPOINT and CMD,
// quoted key=value pairs, ARG defaults and ${ARG} in values).
type finalStage struct {
	config v1.Config
	copies []string          // COPY destinations
	args   map[string]string // ARG name → default
	runs   []string          // RUN lines of every stage
}

func parseDockerfile(t *testing.T, path string, buildArgs map[string]string) finalStage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	var st finalStage
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		expand := func(s string) string {
			return os.Expand(s, func(k string) string {
				if v, ok := buildArgs[k]; ok {
					return v
				}
				return st.args[k]
			})
		}
		switch strings.ToUpper(instr) {
		case "FROM":
			st = finalStage{args: map[string]string{}, runs: st.runs}
		case "ARG":
			k, v, _ := strings.Cut(rest, "=")
			st.args[k] = v
		case "RUN":
			st.runs = append(st.runs, rest)
		case "USER":
			st.config.User = expand(rest)
		case "WORKDIR":
			st.config.WorkingDir = expand(rest)
		case "ENTRYPOINT":
			st.config.Entrypoint = jsonForm(t, instr, rest)
		case "CMD":
			st.config.Cmd = jsonForm(t, instr, rest)
		case "COPY":
			f := strings.Fields(rest)
			st.copies = append(st.copies, expand(f[len(f)-1]))
		case "ENV":
			for _, kv := range pairs(t, rest) {
				st.config.Env = append(st.config.Env, kv[0]+"="+expand(kv[1]))
			}
		case "LABEL":
			if st.config.Labels == nil {
				st.config.Labels = map[string]string{}
			}
			for _, kv := range pairs(t, rest) {
				st.config.Labels[kv[0]] = expand(kv[1])
			}
		}
	}
	return st
}

func jsonForm(t *testing.T, instr, rest string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(rest), &out); err != nil {
		t.Fatalf("%s %s: not the JSON form: %v", instr, rest, err)
	}
	return out
}

// pairs splits `k1="v 1" k2=v2` into its key and value pairs.
func pairs(t *testing.T, s string) [][2]string {
	t.Helper()
	var words []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case unicode.IsSpace(r) && !quoted:
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %s", s)
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			t.Fatalf("%q is not key=value", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// The Dockerfile and make image describe one image: same user, entrypoint,
// arguments, working folder, environment, labels, binary path and build
// flags.
func TestDockerfileDescribesTheSameImage(t *testing.T) {
	w := buildTestImage(t)
	cf, err := readLayout(t, w.Layout).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	st := parseDockerfile(t, filepath.Join("..", "..", "Dockerfile"), map[string]string{"VERSION": testVersion, "REVISION": testRevision})
	if diff := cmp.Diff(cf.Config, st.config); diff != "" {
		t.Errorf("the Dockerfile's final stage and make image's config differ (-make image +Dockerfile):\n%s", diff)
	}
	if diff := cmp.Diff([]string{BinaryPath}, st.copies); diff != "" {
		t.Errorf("the Dockerfile copies (-make image +Dockerfile):\n%s", diff)
	}
	names := map[string]bool{}
	for _, e := range layerEntries(t, readLayout(t, w.Layout)) {
		names["/"+strings.TrimSuffix(e.hdr.Name, "/")] = true
	}
	for _, c := range st.copies {
		if !names[c] {
			t.Errorf("the Dockerfile copies to %s, which make image's layer does not hold", c)
		}
	}
	// The binary is built with the same flags (the Dockerfile's values
	// are its ARGs).
	var build string
	for _, r := range st.runs {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	args := BuildArgs(BinaryOptions{Version: "$VERSION", Commit: "$REVISION", Out: "/out/kubesnap"})
	for i := 1; i < len(args)-1; i++ { // build … Package: the Dockerfile builds ./cmd/kubesnap
		a := args[i]
		switch a {
		case "-ldflags":
			a += ` "` + args[i+1] + `"`
			i++
		case "-tags", "-o":
			a += " " + args[i+1]
			i++
		}
		if !strings.Contains(build, a) {
			t.Errorf("the Dockerfile's go build has no %s: %s", a, build)
		}
	}
	if !strings.Contains(build, "CGO_ENABLED=0") {
		t.Errorf("the Dockerfile's go build is not static (CGO_ENABLED=0): %s", build)
	}
}
