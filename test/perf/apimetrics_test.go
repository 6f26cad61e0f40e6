package perf

import (
	"strings"
	"testing"
)

const apiMetrics = `# HELP apiserver_request_total Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="binding",verb="POST",version="v1"} 2000
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 1990
apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 10
apiserver_watch_events_total{component="apiserver",group="",kind="Pod",version="v1"} 12000
apiserver_watch_events_sizes_sum{component="apiserver",group="",kind="Pod",version="v1"} 3.6e+07
apiserver_watch_events_sizes_count{component="apiserver",group="",kind="Pod",version="v1"} 12000
weird_label{a="x,y",b="q\"uote"} 3
malformed{a=x} 1
no_value{a="b"}
plain_metric 7
`

func TestParseAPICounts(t *testing.T) {
	c, err := parseAPICounts(strings.NewReader(apiMetrics))
	if err != nil {
		t.Fatal(err)
	}
	if c.Requests["POST pods/binding"] != 2000 || c.Requests["POST pods"] != 2000 || len(c.Requests) != 2 {
		t.Errorf("requests %v", c.Requests)
	}
	if c.WatchEvents["Pod"] != 12000 || c.WatchBytes["Pod"] != 3.6e7 {
		t.Errorf("watch events %v bytes %v", c.WatchEvents, c.WatchBytes)
	}
	before := APICounts{Requests: map[string]float64{"POST pods": 500}, WatchEvents: map[string]float64{"Pod": 2000}}
	d := c.Sub(before)
	if d.Requests["POST pods"] != 1500 || d.WatchEvents["Pod"] != 10000 || Total(d.Requests) != 3500 {
		t.Errorf("difference %+v", d)
	}
	if got := PerPod(d.Requests, 1000, 1); got != "POST pods/binding 2.00" {
		t.Errorf("PerPod = %q", got)
	}
}

func TestParseSample(t *testing.T) {
	tests := []struct {
		line   string
		name   string
		labels map[string]string
		value  float64
		ok     bool
	}{
		{`a{x="1",y="2"} 3`, "a", map[string]string{"x": "1", "y": "2"}, 3, true},
		{`a{x="1,2"} 4.5`, "a", map[string]string{"x": "1,2"}, 4.5, true},
		{`b 7 1700000000`, "b", map[string]string{}, 7, true},
		{`# comment`, "", nil, 0, false},
		{`a{x=1} 3`, "", nil, 0, false},
		{`a{x="1"}`, "", nil, 0, false},
		{`a{x="1"} notanumber`, "", nil, 0, false},
		{``, "", nil, 0, false},
	}
	for _, tt := range tests {
		name, labels, value, ok := parseSample(tt.line)
		if ok != tt.ok || name != tt.name || value != tt.value || len(labels) != len(tt.labels) {
			t.Errorf("parseSample(%q) = %q %v %v %v", tt.line, name, labels, value, ok)
			continue
		}
		for k, v := range tt.labels {
			if labels[k] != v {
				t.Errorf("parseSample(%q) label %s = %q, want %q", tt.line, k, labels[k], v)
			}
		}
	}
}

const schedulerMetrics = `scheduler_scheduling_attempt_duration_seconds_sum{profile="p",result="scheduled"} 2
scheduler_scheduling_attempt_duration_seconds_count{profile="p",result="scheduled"} 1000
scheduler_scheduling_attempt_duration_seconds_sum{profile="p",result="error"} 9
scheduler_scheduling_attempt_duration_seconds_sum{profile="q",result="scheduled"} 7
scheduler_scheduling_algorithm_duration_seconds_sum 1.5
scheduler_scheduling_algorithm_duration_seconds_count 1000
scheduler_framework_extension_point_duration_seconds_sum{extension_point="Filter",profile="p",status="Success"} 0.5
scheduler_framework_extension_point_duration_seconds_sum{extension_point="Score",profile="p",status="Success"} 0.25
scheduler_framework_extension_point_duration_seconds_sum{extension_point="Filter",profile="q",status="Success"} 3
`

func TestParseSchedulerTimes(t *testing.T) {
	got, err := parseSchedulerTimes(strings.NewReader(schedulerMetrics), "p")
	if err != nil {
		t.Fatal(err)
	}
	want := SchedulerTimes{AttemptSeconds: 2, Attempts: 1000, AlgorithmSeconds: 1.5, Algorithms: 1000, FilterSeconds: 0.5, ScoreSeconds: 0.25}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if d := got.Sub(SchedulerTimes{AttemptSeconds: 1, Attempts: 500}); d.AttemptSeconds != 1 || d.Attempts != 500 || d.FilterSeconds != 0.5 {
		t.Errorf("difference %+v", d)
	}
}
