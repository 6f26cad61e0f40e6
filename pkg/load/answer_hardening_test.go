package load

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"
	clocktesting "k8s.io/utils/clock/testing"
)

// answerTransport answers every request with one status and body, as a
// Prometheus (or whatever sits at its URL) could.
type answerTransport struct {
	status int
	body   []byte
}

func (a answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: a.status, Status: http.StatusText(a.status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": []string{"application/json"}},
		Body:    io.NopCloser(bytes.NewReader(a.body)),
		Request: r, ContentLength: int64(len(a.body)),
	}, nil
}

// answerSource is a source whose Prometheus answers status and body.
func answerSource(tb testing.TB, status int, body []byte) *Source {
	tb.Helper()
	client, err := promapi.NewClient(promapi.Config{Address: "http://prometheus.test", Client: &http.Client{Transport: answerTransport{status, body}}})
	if err != nil {
		tb.Fatal(err)
	}
	src, err := NewSource(Config{URL: "http://prometheus.test"}, promv1.NewAPI(client), clocktesting.NewFakeClock(epoch), prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// checkAnswer refreshes src once and checks what it made of the answer:
// either an error of the class ErrQuery and no data, or a snapshot whose
// every card has a utilisation within 0..100 and a memory that is a
// non-negative number.
func checkAnswer(t *testing.T, src *Source) error {
	t.Helper()
	ctx := klog.NewContext(context.Background(), logr.Discard())
	err := src.Refresh(ctx)
	snap, fresh := src.Current()
	if err != nil {
		if !errors.Is(err, ErrQuery) {
			t.Fatalf("refresh error %v is not an ErrQuery", err)
		}
		if fresh || snap != nil {
			t.Fatalf("failed refresh left data: %+v", snap)
		}
		return err
	}
	if !fresh {
		t.Fatal("successful refresh but no fresh data")
	}
	for name, n := range snap.nodes {
		if name == "" {
			t.Fatal("a card without a node")
		}
		for _, c := range n.cards {
			l := c.load
			if c.index < 0 && c.uuid == "" {
				t.Fatalf("node %s: a card with neither index nor UUID", name)
			}
			if l.HasUtil && (math.IsNaN(l.Util) || l.Util < 0 || l.Util > 100) {
				t.Fatalf("node %s card %d: utilisation %v", name, c.index, l.Util)
			}
			if l.HasMemory && (math.IsNaN(l.MemoryUsedMiB) || math.IsInf(l.MemoryUsedMiB, 0) || l.MemoryUsedMiB < 0) {
				t.Fatalf("node %s card %d: memory %v", name, c.index, l.MemoryUsedMiB)
			}
		}
	}
	return nil
}

// TestGarbageAnswers: whatever Prometheus answers that is not an instant
// vector is a failed refresh with a message, never data and never a panic.
func TestGarbageAnswers(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"html error page", 502, "<html><body>Bad Gateway</body></html>", "502"},
		{"not json", 200, "this is not json", "querying GPU load"},
		{"truncated", 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"Hostname":"n"`, "querying GPU load"},
		{"error envelope", 422, `{"status":"error","errorType":"execution","error":"query timed out"}`, "query timed out"},
		{"scalar", 200, `{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`, "want an instant vector"},
		{"string", 200, `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`, "querying GPU load"},
		{"matrix", 200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`, "want an instant vector"},
		{"unknown type", 200, `{"status":"success","data":{"resultType":"table","result":[]}}`, "querying GPU load"},
		{"value not a number", 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"many"]}]}}`, "querying GPU load"},
		{"empty body", 200, "", "querying GPU load"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkAnswer(t, answerSource(t, tc.status, []byte(tc.body)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refresh = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestOddSamples: samples that cannot be tied to a card, or whose value is
// not a usable number, are dropped or clamped; the rest are kept.
func TestOddSamples(t *testing.T) {
	body := `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"Hostname":"n","gpu":"0"},"value":[1,"NaN"]},
		{"metric":{"Hostname":"n","gpu":"1"},"value":[1,"+Inf"]},
		{"metric":{"Hostname":"n","gpu":"2"},"value":[1,"-5"]},
		{"metric":{"Hostname":"n","gpu":"3"},"value":[1,"1e308"]},
		{"metric":{"Hostname":"n","gpu":"-1"},"value":[1,"50"]},
		{"metric":{"Hostname":"n","gpu":"x"},"value":[1,"50"]},
		{"metric":{"gpu":"0"},"value":[1,"50"]},
		{"metric":{"Hostname":"m","UUID":"GPU-1"},"value":[1,"42"]}]}}`
	src := answerSource(t, 200, []byte(body))
	if err := checkAnswer(t, src); err != nil {
		t.Fatal(err)
	}
	snap, _ := src.Current()
	n, _ := snap.Node("n")
	for _, tc := range []struct {
		index int
		ok    bool
		util  float64
	}{{0, false, 0}, {1, false, 0}, {2, true, 0}, {3, true, 100}} {
		c, ok := n.Card(tc.index, "")
		if ok != tc.ok || (ok && c.Util != tc.util) {
			t.Errorf("card %d = %+v, %v; want %v with %v", tc.index, c, ok, tc.ok, tc.util)
		}
	}
	if m, _ := snap.Node("m"); m.Len() != 1 {
		t.Errorf("node m has %d cards, want the one named by UUID", m.Len())
	}
}

// FuzzPrometheusAnswer refreshes a source against arbitrary answers of
// Prometheus: whatever the status and bytes, the refresh fails with an
// ErrQuery and leaves no data, or succeeds with only usable numbers.
func FuzzPrometheusAnswer(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"Hostname":"n","gpu":"0","UUID":"GPU-0"},"value":[1700000000,"37.5"]}]}}`},
		{200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"Hostname":"n","gpu":"0"},"value":[1,"NaN"]},{"metric":{"Hostname":"n","gpu":"1"},"value":[1,"-Inf"]}]}}`},
		{200, `{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["w"],"infos":["i"]}`},
		{200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}}`},
		{200, `{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`},
		{200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"Hostname":"n","gpu":"0"},"histogram":[1,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]}]}}`},
		{422, `{"status":"error","errorType":"bad_data","error":"parse error"}`},
		{503, `{"status":"error","errorType":"unavailable","error":"down"}`},
		{500, `<html>oops</html>`},
		{200, `null`},
		{200, ``},
		{204, ``},
		{302, ``},
	} {
		f.Add(uint16(seed.status), []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		code := 100 + int(status)%500 // 100..599, what an HTTP status can be
		checkAnswer(t, answerSource(t, code, body))
	})
}
