package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
)

// upstream stands for the API server's side of the forwarder: it records
// what reaches it.
type upstream struct {
	mu   sync.Mutex
	seen []*http.Request
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.seen = append(u.seen, r.Clone(r.Context()))
	u.mu.Unlock()
	_, _ = w.Write([]byte("page"))
}

func TestForwarder(t *testing.T) {
	prefix := proxyPath("gpuplane-system", "gpuplane-extender-ui", "ui")
	for _, tc := range []struct {
		name, method, host, path string
		code                     int
		// forwarded is the path the API server must see; "" for none.
		forwarded string
		location  string
	}{
		{name: "the page", method: "GET", host: "127.0.0.1:5000", path: prefix, code: 200, forwarded: prefix},
		{name: "its view", method: "GET", host: "localhost:5000", path: prefix + "view.json", code: 200, forwarded: prefix + "view.json"},
		{name: "HEAD", method: "HEAD", host: "[::1]:5000", path: prefix + "ui.js", code: 200, forwarded: prefix + "ui.js"},
		{name: "the root redirects to the page", method: "GET", host: "127.0.0.1:5000", path: "/", code: 302, location: prefix},
		{name: "the prefix without its slash redirects", method: "GET", host: "127.0.0.1:5000", path: strings.TrimSuffix(prefix, "/"), code: 302, location: prefix},
		{name: "a write verb", method: "POST", host: "127.0.0.1:5000", path: prefix + "view.json", code: 405},
		{name: "DELETE", method: "DELETE", host: "127.0.0.1:5000", path: prefix, code: 405},
		{name: "the rest of the API", method: "GET", host: "127.0.0.1:5000", path: "/api/v1/namespaces/kube-system/secrets", code: 404},
		{name: "out of the prefix by ..", method: "GET", host: "127.0.0.1:5000", path: prefix + "../../../secrets", code: 404},
		{name: "another host (DNS rebinding)", method: "GET", host: "evil.example:5000", path: prefix, code: 403},
		{name: "another port", method: "GET", host: "127.0.0.1:6000", path: prefix, code: 403},
		{name: "no port", method: "GET", host: "127.0.0.1", path: prefix, code: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := &upstream{}
			srv := httptest.NewServer(up)
			defer srv.Close()
			f, err := newForwarder(&rest.Config{Host: srv.URL, BearerToken: "kubeconfig-token"}, prefix)
			if err != nil {
				t.Fatal(err)
			}
			f.listenPort = "5000"
			req := httptest.NewRequest(tc.method, "http://"+tc.host+tc.path, nil)
			req.Host = tc.host
			req.Header.Set("Authorization", "Bearer browser-token")
			req.Header.Set("Cookie", "session=browser")
			rec := httptest.NewRecorder()
			f.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("%s %s (Host %s): %d %q, want %d", tc.method, tc.path, tc.host, rec.Code, rec.Body.String(), tc.code)
			}
			if tc.location != "" && rec.Header().Get("Location") != tc.location {
				t.Errorf("Location %q, want %q", rec.Header().Get("Location"), tc.location)
			}
			if tc.code == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", rec.Header().Get("Allow"))
			}
			up.mu.Lock()
			defer up.mu.Unlock()
			if tc.forwarded == "" {
				if len(up.seen) != 0 {
					t.Errorf("forwarded %s %s", up.seen[0].Method, up.seen[0].URL.Path)
				}
				return
			}
			if len(up.seen) != 1 {
				t.Fatalf("%d requests reached the API server, want 1", len(up.seen))
			}
			got := up.seen[0]
			if got.URL.Path != tc.forwarded || got.Method != tc.method {
				t.Errorf("the API server saw %s %s, want %s %s", got.Method, got.URL.Path, tc.method, tc.forwarded)
			}
			if got.Header.Get("Authorization") != "Bearer kubeconfig-token" || got.Header.Get("Cookie") != "" {
				t.Errorf("the API server saw Authorization %q and Cookie %q; want the kubeconfig's token only",
					got.Header.Get("Authorization"), got.Header.Get("Cookie"))
			}
		})
	}
}

func TestCheckUINames(t *testing.T) {
	for _, tc := range []struct {
		ns, svc, port string
		ok            bool
	}{
		{"gpuplane-system", "gpuplane-extender-ui", "ui", true},
		{"gpuplane-system", "gpuplane-extender-ui", "8082", true},
		{"Bad_NS", "gpuplane-extender-ui", "ui", false},
		{"gpuplane-system", "svc/../x", "ui", false},
		{"gpuplane-system", "gpuplane-extender-ui", "70000", false},
		{"gpuplane-system", "gpuplane-extender-ui", "no/slash", false},
	} {
		if err := checkUINames(tc.ns, tc.svc, tc.port); (err == nil) != tc.ok {
			t.Errorf("checkUINames(%q, %q, %q) = %v, want ok %v", tc.ns, tc.svc, tc.port, err, tc.ok)
		}
	}
}

// TestUIBadCommandLines: ui's bad flags exit 1 before any server is asked.
func TestUIBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ui", "extra"}, `takes no arguments`},
		{[]string{"ui", "--service", "Bad_Name", "--kubeconfig", "/nonexistent"}, `--service "Bad_Name"`},
		{[]string{"ui", "--service-port", "70000", "--kubeconfig", "/nonexistent"}, `--service-port "70000"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, tc.args...)
			if code != 1 || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, tc.want)
			}
		})
	}
}
