package perf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FakeAPI serves the nodes and pods of a Fleet the way kube-apiserver serves
// an informer: a streamed watch-list (every object as an ADDED event, then
// the bookmark that ends the initial events), a plain list for clients that
// do not stream, and watches that stay open without events. It lets the
// extender run its real informers, with their transform and their memory, on
// a cluster far larger than a 2-core machine can hold in etcd. Each object is
// encoded once; the objects themselves are not kept.
type FakeAPI struct {
	nodes, pods [][]byte
	// done ends open watches when the server stops.
	done chan struct{}
}

// fakeResourceVersion is the only resource version of the fake cluster.
const fakeResourceVersion = "1"

// NewFakeAPI encodes the fleet's objects.
func NewFakeAPI(f *Fleet) (*FakeAPI, error) {
	a := &FakeAPI{done: make(chan struct{})}
	for _, n := range f.Nodes {
		raw, err := json.Marshal(n)
		if err != nil {
			return nil, fmt.Errorf("encoding node %s: %w", n.Name, err)
		}
		a.nodes = append(a.nodes, raw)
	}
	for _, p := range f.Pods {
		raw, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encoding pod %s: %w", p.Name, err)
		}
		a.pods = append(a.pods, raw)
	}
	return a, nil
}

// Bytes is the size of the encoded objects, nodes and pods.
func (a *FakeAPI) Bytes() (nodes, pods int) {
	for _, n := range a.nodes {
		nodes += len(n)
	}
	for _, p := range a.pods {
		pods += len(p)
	}
	return nodes, pods
}

// Close ends the open watches.
func (a *FakeAPI) Close() { close(a.done) }

// ServeHTTP serves GET /api/v1/nodes and GET /api/v1/pods.
func (a *FakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var objs [][]byte
	var kind string
	switch {
	case r.Method != http.MethodGet:
		fakeStatus(w, http.StatusMethodNotAllowed, "the fake API server only lists and watches")
		return
	case r.URL.Path == "/api/v1/nodes":
		objs, kind = a.nodes, "Node"
	case r.URL.Path == "/api/v1/pods":
		objs, kind = a.pods, "Pod"
	default:
		fakeStatus(w, http.StatusNotFound, "the fake API server serves nodes and pods of all namespaces only, not "+r.URL.Path)
		return
	}
	q := r.URL.Query()
	w.Header().Set("Content-Type", "application/json")
	if q.Get("watch") != "true" && q.Get("watch") != "1" {
		a.list(w, kind, objs)
		return
	}
	flusher, _ := w.(http.Flusher)
	if q.Get("sendInitialEvents") == "true" {
		for _, o := range objs {
			_, _ = w.Write([]byte(`{"type":"ADDED","object":`))
			_, _ = w.Write(o)
			if _, err := w.Write([]byte("}\n")); err != nil {
				return
			}
		}
		bookmark := fmt.Sprintf(`{"type":"BOOKMARK","object":{"kind":%q,"apiVersion":"v1","metadata":{"resourceVersion":%q,"annotations":{%q:"true"}}}}`+"\n",
			kind, fakeResourceVersion, metav1.InitialEventsAnnotationKey)
		_, _ = w.Write([]byte(bookmark))
	}
	if flusher != nil {
		flusher.Flush()
	}
	// Nothing ever changes: hold the watch until the client's timeout, the
	// client leaving or the server stopping.
	timeout := time.Hour
	if s, err := strconv.Atoi(q.Get("timeoutSeconds")); err == nil && s > 0 {
		timeout = time.Duration(s) * time.Second
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-a.done:
	case <-t.C:
	}
}

func (a *FakeAPI) list(w http.ResponseWriter, kind string, objs [][]byte) {
	fmt.Fprintf(w, `{"kind":"%sList","apiVersion":"v1","metadata":{"resourceVersion":%q},"items":[`, kind, fakeResourceVersion)
	for i, o := range objs {
		if i > 0 {
			_, _ = w.Write([]byte{','})
		}
		_, _ = w.Write(o)
	}
	_, _ = w.Write([]byte("]}\n"))
}

func fakeStatus(w http.ResponseWriter, code int, msg string) {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Code: int32(code),
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}
