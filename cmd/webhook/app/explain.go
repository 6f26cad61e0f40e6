package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/webhook"
)

// explainConfig is the configuration of `webhook explain`.
type explainConfig struct {
	role          string
	catalog       string
	schedulerName string
	file          string
}

func runExplain(ctx context.Context, args []string, streams Streams) int {
	var cfg explainConfig
	fs := pflag.NewFlagSet("webhook explain", pflag.ContinueOnError)
	fs.SetOutput(streams.Err)
	fs.StringVar(&cfg.role, "role", "", "Role of the pod (train, service, notebook, or the catalog's).")
	fs.StringVar(&cfg.catalog, "catalog", "", "GPU catalog file (YAML); empty uses the built-in catalog.")
	fs.StringVar(&cfg.schedulerName, "scheduler-name", "", "Scheduler the webhook writes into GPU pods, as its --scheduler-name.")
	fs.StringVarP(&cfg.file, "filename", "f", "", "A Pod (YAML or JSON; - for standard input) to print as the webhook admits it, instead of a REQUEST.")
	fs.Usage = func() {
		fmt.Fprintf(streams.Err, "%s\nExplain flags:\n%s", usage, fs.FlagUsages())
	}
	if code, done := parse(fs, args, streams.Err); done {
		return code
	}
	switch {
	case cfg.file == "" && fs.NArg() != 1:
		fmt.Fprintf(streams.Err, "webhook explain: give one REQUEST, such as '2(V100)', or -f POD.yaml (got %d arguments)\n", fs.NArg())
		return ExitFailed
	case cfg.file != "" && (fs.NArg() != 0 || cfg.role != ""):
		fmt.Fprintln(streams.Err, "webhook explain: -f takes the request and role from the pod's annotations; give no REQUEST and no --role with it")
		return ExitFailed
	}
	cat, err := catalog.LoadFile(cfg.catalog)
	if err != nil {
		fmt.Fprintf(streams.Err, "webhook explain: %v\n", err)
		return ExitFailed
	}
	opts := webhook.Options{SchedulerName: cfg.schedulerName}
	if cfg.file != "" {
		return explainPod(ctx, cfg.file, cat, opts, streams)
	}
	input := fs.Arg(0)
	e, err := webhook.Explain(input, cfg.role, cat, opts)
	if err != nil {
		return writeJSON(streams, webhook.Refused{Input: input, Error: err.Error()}, ExitRefused)
	}
	return writeJSON(streams, e, ExitOK)
}

func explainPod(ctx context.Context, file string, cat *catalog.Catalog, opts webhook.Options, streams Streams) int {
	data, err := readInput(file, streams.In)
	if err != nil {
		fmt.Fprintf(streams.Err, "webhook explain: %v\n", err)
		return ExitFailed
	}
	podJSON, err := yaml.YAMLToJSON(data)
	if err != nil {
		fmt.Fprintf(streams.Err, "webhook explain: %s is neither YAML nor JSON: %v\n", file, err)
		return ExitFailed
	}
	var head struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(podJSON, &head); err != nil || (head.Kind != "" && head.Kind != "Pod") {
		fmt.Fprintf(streams.Err, "webhook explain: %s does not hold a Pod (kind %q); explain -f reads one Pod\n", file, head.Kind)
		return ExitFailed
	}
	out, err := webhook.ExplainPod(ctx, podJSON, cat, opts)
	switch {
	case errors.Is(err, webhook.ErrDenied):
		return writeJSON(streams, webhook.Refused{Input: head.Metadata.Annotations[api.AnnotationGPU], Error: err.Error()}, ExitRefused)
	case err != nil:
		fmt.Fprintf(streams.Err, "webhook explain: %s: %v\n", file, err)
		return ExitFailed
	}
	return writeJSON(streams, json.RawMessage(out), ExitOK)
}

func readInput(file string, stdin io.Reader) ([]byte, error) {
	if file == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the pod: %w", err)
	}
	return data, nil
}

// writeJSON prints v as indented JSON and returns code, or ExitFailed when stdout
// cannot be written.
func writeJSON(streams Streams, v any, code int) int {
	data, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		_, err = streams.Out.Write(append(data, '\n'))
	}
	if err != nil {
		fmt.Fprintf(streams.Err, "webhook explain: writing the answer: %v\n", err)
		return ExitFailed
	}
	return code
}
