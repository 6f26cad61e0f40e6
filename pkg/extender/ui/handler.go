package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/refusals"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/load"
)

//go:embed static
var static embed.FS

// StateReader is the extender's cache as the page reads it;
// *cache.State is one.
type StateReader interface {
	View() cache.StateView
}

var _ StateReader = (*cache.State)(nil)

// PendingLister lists the pods waiting for a node; *cache.Informers is one.
type PendingLister interface {
	Pending() []*corev1.Pod
}

var _ PendingLister = (*cache.Informers)(nil)

// PendingFunc adapts a function to PendingLister.
type PendingFunc func() []*corev1.Pod

// Pending implements PendingLister.
func (f PendingFunc) Pending() []*corev1.Pod { return f() }

var _ PendingLister = PendingFunc(nil)

// LoadReader is where measured load is read from without counting a
// scoring lookup; *load.Source is one.
type LoadReader interface {
	Peek() (*load.Snapshot, bool)
}

var _ LoadReader = (*load.Source)(nil)

// Config is what the page reads. State, Pending and Vocabulary are
// required.
type Config struct {
	State   StateReader
	Pending PendingLister
	// Load is measured GPU load. Default nil: none (no Prometheus).
	Load LoadReader
	// Refusals are the extender's latest filter verdicts. Default nil: the
	// pods that wait are listed without reasons.
	Refusals *refusals.Record
	// Ready says whether the informers have synced. Default: always.
	Ready      func() bool
	Vocabulary *request.Vocabulary
	// Clock stamps each view. Default: the real clock.
	Clock clock.PassiveClock
	// Logger is put in every request's context. Default: klog's global.
	Logger klog.Logger
}

// UI serves the page and its view.
type UI struct {
	cfg Config
}

// New returns the page for cfg.
func New(cfg Config) (*UI, error) {
	if cfg.State == nil || cfg.Pending == nil || cfg.Vocabulary == nil {
		return nil, errors.New("ui: state, pending pods and vocabulary are required")
	}
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger.GetSink() == nil {
		cfg.Logger = klog.Background()
	}
	return &UI{cfg: cfg}, nil
}

// View reads the cache once and computes the page's view.
func (u *UI) View() View {
	in := Inputs{
		At: u.cfg.Clock.Now(), Synced: u.cfg.Ready(), State: u.cfg.State.View(),
		Pending: u.cfg.Pending.Pending(), Vocabulary: u.cfg.Vocabulary,
	}
	if u.cfg.Load != nil {
		in.LoadConfigured = true
		in.Load, in.LoadFresh = u.cfg.Load.Peek()
	}
	if u.cfg.Refusals != nil {
		in.Verdict = func(p *corev1.Pod) (refusals.Refusal, bool) { return u.cfg.Refusals.Get(p.UID) }
	}
	return Compute(in)
}

// The files of the page, by the path they are served at.
var files = map[string]string{
	"/":       "static/index.html",
	"/ui.css": "static/ui.css",
	"/ui.js":  "static/ui.js",
}

var contentTypes = map[string]string{
	"/": "text/html; charset=utf-8", "/ui.css": "text/css; charset=utf-8", "/ui.js": "text/javascript; charset=utf-8",
}

// contentSecurityPolicy lets the page load its own script, style and view
// only: no inline script, no other origin, no frames.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves GET / (the page), /ui.css, /ui.js and /view.json; any
// other method is answered 405 and any other path 404.
func (u *UI) Handler() http.Handler {
	mux := http.NewServeMux()
	for path, name := range files {
		body, err := fs.ReadFile(static, name)
		if err != nil {
			panic(fmt.Sprintf("ui: embedded %s: %v", name, err)) // the build embeds them
		}
		pattern := "GET " + path
		if path == "/" {
			pattern = "GET /{$}"
		}
		modified := time.Time{}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentTypes[path])
			http.ServeContent(w, r, "", modified, bytes.NewReader(body))
		})
	}
	mux.HandleFunc("GET /view.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(u.View()); err != nil {
			klog.FromContext(r.Context()).V(2).Info("Writing the view failed", "err", err)
		}
	})
	return u.readOnly(mux)
}

// readOnly answers 405 to every method but GET and HEAD before the routes
// see the request, and sets the headers of every answer: the content
// security policy, no sniffing, no caching, no referrer.
func (u *UI) readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "the gpuplane page is read-only: GET only", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r.WithContext(klog.NewContext(r.Context(), u.cfg.Logger)))
	})
}
