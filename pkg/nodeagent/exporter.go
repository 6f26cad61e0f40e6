package nodeagent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
)

// DefaultExporterURL is where dcgm-exporter listens on a node (it runs
// with the host's network).
const DefaultExporterURL = "http://127.0.0.1:9400/metrics"

// dcgmProbeMetric is the series whose presence shows an answering exporter
// really exports card metrics; the extender's load scoring reads it.
const dcgmProbeMetric = "DCGM_FI_DEV_GPU_UTIL"

// maxProbeBody bounds how much of the exporter's answer is read.
const maxProbeBody = 4 << 20

// probeExporter reports whether url serves DCGM metrics, and if not why.
func probeExporter(ctx context.Context, client *http.Client, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, fmt.Sprintf("bad exporter URL %q: %v", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *neturl.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is in the message already
		}
		return false, fmt.Sprintf("no dcgm-exporter answers at %s (%v)", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
		return false, fmt.Sprintf("the exporter at %s answers %s", url, resp.Status)
	}
	s := bufio.NewScanner(io.LimitReader(resp.Body, maxProbeBody))
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), dcgmProbeMetric) {
			return true, ""
		}
	}
	return false, fmt.Sprintf("the exporter at %s answers without %s", url, dcgmProbeMetric)
}

// exporterStep judges the metrics: a dcgm-exporter that answers, or the
// agent itself when serving is enabled and NVML can be read.
func exporterStep(dcgmUp bool, why, url string, serve, nvmlOK bool) StepResult {
	r := StepResult{Step: StepExporter}
	switch {
	case dcgmUp:
		r.Verdict, r.Reason, r.Message = Ready, "DCGMExporter", fmt.Sprintf("dcgm-exporter answers at %s", url)
	case serve && nvmlOK:
		r.Verdict, r.Reason = Ready, "ServedByNodeAgent"
		r.Message = why + "; the node agent serves the DCGM metrics itself from NVML"
	case serve:
		r.Verdict, r.Reason = NotReady, "NVMLUnavailable"
		r.Message = why + "; the node agent would serve the DCGM metrics itself, but cannot read NVML (see the driver condition)"
	default:
		r.Verdict, r.Reason = NotReady, "ExporterUnreachable"
		r.Message = why + ": run dcgm-exporter on this node, or start the node agent with --serve-metrics"
	}
	return r
}
