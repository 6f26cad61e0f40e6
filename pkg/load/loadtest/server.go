package loadtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Sample is one series of an instant vector: its labels and value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Mode says how the server answers.
type Mode int

const (
	// Normal answers queries with the samples set for their metric.
	Normal Mode = iota
	// Garbage answers 200 with a body that is not the API's JSON.
	Garbage
	// Failing answers 503 with the API's error envelope.
	Failing
	// Matrix answers a range vector where an instant vector is expected.
	Matrix
)

// Server is a fake Prometheus. Its zero value is not usable; call Start.
type Server struct {
	*httptest.Server

	mu      sync.Mutex
	mode    Mode
	samples map[string][]Sample
	queries []string
}

// metricOf returns the metric set with Set whose name appears in query as a
// whole word: the fake answers by metric name, not by evaluating PromQL.
func (s *Server) metricOf(query string) string {
	for _, w := range word.FindAllString(query, -1) {
		if _, ok := s.samples[w]; ok {
			return w
		}
	}
	return ""
}

var word = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)

// Start returns a running server; Close stops it.
func Start() *Server {
	s := &Server{samples: make(map[string][]Sample)}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/query", s.query)
	s.Server = httptest.NewServer(mux)
	return s
}

// Set replaces the samples answered for metric.
func (s *Server) Set(metric string, samples ...Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples[metric] = samples
}

// SetMode changes how the server answers from now on.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Queries returns the PromQL of every query received so far.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

type envelope struct {
	Status    string `json:"status"`
	Data      any    `json:"data,omitempty"`
	ErrorType string `json:"errorType,omitempty"`
	Error     string `json:"error,omitempty"`
}

type result struct {
	ResultType string `json:"resultType"`
	Result     []any  `json:"result"`
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	s.mu.Lock()
	s.queries = append(s.queries, q)
	mode := s.mode
	samples := s.samples[s.metricOf(q)]
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	now := float64(time.Now().UnixNano()) / 1e9
	switch mode {
	case Garbage:
		_, _ = w.Write([]byte(`<html>not prometheus</html>`))
		return
	case Failing:
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(envelope{Status: "error", ErrorType: "unavailable", Error: "fake outage"})
		return
	case Matrix:
		_ = json.NewEncoder(w).Encode(envelope{Status: "success", Data: result{ResultType: "matrix", Result: []any{}}})
		return
	}
	out := make([]any, 0, len(samples))
	for _, smp := range samples {
		out = append(out, map[string]any{
			"metric": smp.Labels,
			"value":  []any{now, strconv.FormatFloat(smp.Value, 'f', -1, 64)},
		})
	}
	_ = json.NewEncoder(w).Encode(envelope{Status: "success", Data: result{ResultType: "vector", Result: out}})
}
