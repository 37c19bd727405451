package testenv

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"testing"
)

// GitHTTP serves the bare repositories under root with git http-backend
// on 127.0.0.1, behind basic authentication as user with password token
// (a hosting service's access token); anything else gets 401. A
// repository takes pushes when its config has http.receivepack true. The
// server stops when the test ends.
func GitHTTP(t testing.TB, root, user, token string) *httptest.Server {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, pass, ok := req.BasicAuth()
		if !ok || u != user || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv
}
