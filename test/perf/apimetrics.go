package perf

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// APICounts are kube-apiserver's request and watch counters at one moment:
// requests by "VERB resource[/subresource]", watch events and their bytes by
// kind. The difference of two readings says what a run cost the API server.
type APICounts struct {
	Requests    map[string]float64
	WatchEvents map[string]float64
	WatchBytes  map[string]float64
}

// ReadAPICounts scrapes the API server's /metrics.
func ReadAPICounts(ctx context.Context, client kubernetes.Interface) (APICounts, error) {
	raw, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return APICounts{}, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	return parseAPICounts(strings.NewReader(string(raw)))
}

func parseAPICounts(r io.Reader) (APICounts, error) {
	c := APICounts{Requests: map[string]float64{}, WatchEvents: map[string]float64{}, WatchBytes: map[string]float64{}}
	err := eachSample(r, func(name string, labels map[string]string, value float64) {
		switch name {
		case "apiserver_request_total":
			key := labels["verb"] + " " + labels["resource"]
			if s := labels["subresource"]; s != "" {
				key += "/" + s
			}
			c.Requests[key] += value
		case "apiserver_watch_events_total":
			c.WatchEvents[labels["kind"]] += value
		case "apiserver_watch_events_sizes_sum":
			c.WatchBytes[labels["kind"]] += value
		}
	})
	return c, err
}

// eachSample hands f every sample of a /metrics answer in the Prometheus
// text format, in order; lines that are not samples are skipped.
func eachSample(r io.Reader, f func(name string, labels map[string]string, value float64)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if name, labels, value, ok := parseSample(sc.Text()); ok {
			f(name, labels, value)
		}
	}
	return sc.Err()
}

// parseSample reads one line of the Prometheus text format:
// name{k="v",...} value. Comments and malformed lines are not samples.
func parseSample(line string) (name string, labels map[string]string, value float64, ok bool) {
	if line == "" || line[0] == '#' {
		return "", nil, 0, false
	}
	labels = map[string]string{}
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		name = line[:i]
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", nil, 0, false
		}
		for _, pair := range splitLabels(line[i+1 : j]) {
			k, v, found := strings.Cut(pair, "=")
			if !found {
				return "", nil, 0, false
			}
			uq, err := strconv.Unquote(v)
			if err != nil {
				return "", nil, 0, false
			}
			labels[k] = uq
		}
		rest = strings.TrimSpace(line[j+1:])
	} else {
		f := strings.Fields(line)
		if len(f) < 2 {
			return "", nil, 0, false
		}
		name, rest = f[0], f[1]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", nil, 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return "", nil, 0, false
	}
	return name, labels, v, true
}

// splitLabels splits k="v",k2="v2" at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// Sub returns c - before.
func (c APICounts) Sub(before APICounts) APICounts {
	diff := func(a, b map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for k, v := range a {
			if d := v - b[k]; d != 0 {
				out[k] = d
			}
		}
		return out
	}
	return APICounts{Requests: diff(c.Requests, before.Requests), WatchEvents: diff(c.WatchEvents, before.WatchEvents), WatchBytes: diff(c.WatchBytes, before.WatchBytes)}
}

// Total sums a map of counts.
func Total(m map[string]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}

// PerPod writes the largest counts of m divided by pods, at most n of them:
// "POST pods 1.00, POST pods/binding 1.00".
func PerPod(m map[string]float64, pods float64, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f", k, m[k]/pods)
	}
	return strings.Join(parts, ", ")
}

// SchedulerTimes are kube-scheduler's own histograms: the scheduling
// attempts of one profile that placed a pod (algorithm and binding), the
// algorithm (filters, extender calls, scores: the serial part of a cycle;
// the histogram has no profile label, the harness runs one profile per
// kube-scheduler), and the Filter and Score extension points of the profile
// (kube-scheduler's plugins alone).
type SchedulerTimes struct {
	AttemptSeconds, Attempts     float64
	AlgorithmSeconds, Algorithms float64
	FilterSeconds, ScoreSeconds  float64
}

// parseSchedulerTimes reads the histograms of profile from kube-scheduler's
// /metrics.
func parseSchedulerTimes(r io.Reader, profile string) (SchedulerTimes, error) {
	var t SchedulerTimes
	err := eachSample(r, func(name string, labels map[string]string, value float64) {
		switch name {
		case "scheduler_scheduling_attempt_duration_seconds_sum":
			if labels["profile"] == profile && labels["result"] == "scheduled" {
				t.AttemptSeconds += value
			}
		case "scheduler_scheduling_attempt_duration_seconds_count":
			if labels["profile"] == profile && labels["result"] == "scheduled" {
				t.Attempts += value
			}
		case "scheduler_scheduling_algorithm_duration_seconds_sum":
			t.AlgorithmSeconds += value
		case "scheduler_scheduling_algorithm_duration_seconds_count":
			t.Algorithms += value
		case "scheduler_framework_extension_point_duration_seconds_sum":
			if labels["profile"] != profile || labels["status"] != "Success" {
				return
			}
			switch labels["extension_point"] {
			case "Filter":
				t.FilterSeconds += value
			case "Score":
				t.ScoreSeconds += value
			}
		}
	})
	return t, err
}

// Sub returns t - before.
func (t SchedulerTimes) Sub(before SchedulerTimes) SchedulerTimes {
	return SchedulerTimes{
		AttemptSeconds: t.AttemptSeconds - before.AttemptSeconds, Attempts: t.Attempts - before.Attempts,
		AlgorithmSeconds: t.AlgorithmSeconds - before.AlgorithmSeconds, Algorithms: t.Algorithms - before.Algorithms,
		FilterSeconds: t.FilterSeconds - before.FilterSeconds, ScoreSeconds: t.ScoreSeconds - before.ScoreSeconds,
	}
}
