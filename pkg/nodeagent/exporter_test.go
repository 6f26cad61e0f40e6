package nodeagent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbeExporter(t *testing.T) {
	cases := []struct {
		name     string
		handler  http.HandlerFunc
		wantUp   bool
		wantWhy  string
		closeSrv bool
	}{
		{name: "dcgm-exporter", wantUp: true, handler: func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{gpu=\"0\"} 3\n")
		}},
		{name: "another exporter", wantWhy: "answers without DCGM_FI_DEV_GPU_UTIL", handler: func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "node_load1 0.5\n")
		}},
		{name: "error status", wantWhy: "answers 503 Service Unavailable", handler: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}},
		{name: "nothing listening", wantWhy: "no dcgm-exporter answers", closeSrv: true, handler: func(http.ResponseWriter, *http.Request) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			url := srv.URL + "/metrics"
			if tc.closeSrv {
				srv.Close()
			} else {
				defer srv.Close()
			}
			up, why := probeExporter(context.Background(), &http.Client{Timeout: 5 * time.Second}, url)
			if up != tc.wantUp || !strings.Contains(why, tc.wantWhy) {
				t.Fatalf("probe = %v, %q", up, why)
			}
			if !tc.wantUp && !strings.Contains(why, url) {
				t.Errorf("reason %q does not name the URL", why)
			}
		})
	}
}

func TestExporterStep(t *testing.T) {
	const url = "http://127.0.0.1:9400/metrics"
	cases := []struct {
		name                  string
		dcgmUp, serve, nvmlOK bool
		wantVerdict           Verdict
		wantReason            string
	}{
		{"dcgm-exporter", true, false, true, Ready, "DCGMExporter"},
		{"dcgm-exporter wins over serving", true, true, true, Ready, "DCGMExporter"},
		{"served by the agent", false, true, true, Ready, "ServedByNodeAgent"},
		{"serving without NVML", false, true, false, NotReady, "NVMLUnavailable"},
		{"nothing", false, false, true, NotReady, "ExporterUnreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := exporterStep(tc.dcgmUp, "why", url, tc.serve, tc.nvmlOK)
			if s.Verdict != tc.wantVerdict || s.Reason != tc.wantReason {
				t.Fatalf("step = %+v", s)
			}
		})
	}
}
