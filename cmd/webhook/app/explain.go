package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	corev1 "k8s.io/api/core/v1"

	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/internal/program"
	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/pkg/webhook"
)

// explainConfig is the configuration of `webhook explain`.
type explainConfig struct {
	role              string
	catalog           string
	schedulerName     string
	placementResource string
	file              string
	dra               bool
}

func runExplain(ctx context.Context, args []string, streams program.Streams) int {
	var cfg explainConfig
	flags := program.NewFlags(explainName, usage)
	fs := flags.Section("explain")
	fs.StringVar(&cfg.role, "role", "", "Role of the pod (train, service, notebook, or the catalog's).")
	fs.StringVar(&cfg.catalog, "catalog", "", "GPU catalog file (YAML); empty uses the built-in catalog.")
	fs.StringVar(&cfg.schedulerName, "scheduler-name", "", "Scheduler the webhook writes into GPU pods, as its --scheduler-name.")
	fs.StringVar(&cfg.placementResource, "placement-resource", "", "Resource the webhook gives a pod asking \"0\", as its --placement-resource.")
	fs.BoolVar(&cfg.dra, "dra", false, "Print the DRA form (a ResourceClaimTemplate) for any request of the default vendor, as on a pool with allocation: dra and NVIDIA's DRA driver.")
	fs.StringVarP(&cfg.file, "filename", "f", "", "A Pod (YAML or JSON; - for standard input) to print as the webhook admits it, instead of a REQUEST.")
	// A request may start with "-" ("-1"): it is the request, which the webhook
	// refuses, not a flag (SPEC §8).
	flags.SingleDashArgs()
	rest, err := flags.Parse(args, streams.Out)
	switch {
	case err != nil:
		return program.Exit(explainName, streams.Err, err)
	case cfg.file == "" && len(rest) != 1:
		return program.Exit(explainName, streams.Err,
			program.Usagef("give one REQUEST, such as '2(V100)', or -f POD.yaml (got %d arguments)", len(rest)))
	case cfg.file != "" && (len(rest) != 0 || cfg.role != ""):
		return program.Exit(explainName, streams.Err,
			program.Usagef("-f takes the request and role from the pod's annotations; give no REQUEST and no --role with it"))
	}
	cat, err := catalog.LoadFile(cfg.catalog)
	if err != nil {
		return program.Exit(explainName, streams.Err, err)
	}
	opts := webhook.Options{SchedulerName: cfg.schedulerName, PlacementResource: corev1.ResourceName(cfg.placementResource), ForceDRA: cfg.dra}
	if cfg.file != "" {
		return explainPod(ctx, cfg.file, cat, opts, streams)
	}
	input := rest[0]
	e, err := webhook.Explain(input, cfg.role, cat, opts)
	if err != nil {
		return writeJSON(streams, webhook.Refused{Input: input, Error: err.Error()}, exitRefused)
	}
	return writeJSON(streams, e, program.ExitOK)
}

// explainName names the command in its messages.
const explainName = "webhook explain"

// exitRefused is explain's exit code when the webhook refuses the request
// (SPEC §7): the usage code, since the request is the command's argument.
const exitRefused = program.ExitUsage

func explainPod(ctx context.Context, file string, cat *catalog.Catalog, opts webhook.Options, streams program.Streams) int {
	data, err := readInput(file, streams.In)
	if err != nil {
		return program.Exit(explainName, streams.Err, err)
	}
	podJSON, err := yaml.YAMLToJSON(data)
	if err != nil {
		return program.Exit(explainName, streams.Err, fmt.Errorf("%s is neither YAML nor JSON: %w", file, err))
	}
	var head struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(podJSON, &head); err != nil || (head.Kind != "" && head.Kind != "Pod") {
		return program.Exit(explainName, streams.Err, fmt.Errorf("%s does not hold a Pod (kind %q); explain -f reads one Pod", file, head.Kind))
	}
	out, err := webhook.ExplainPod(ctx, podJSON, cat, opts)
	switch {
	case errors.Is(err, webhook.ErrDenied):
		return writeJSON(streams, webhook.Refused{Input: head.Metadata.Annotations[api.AnnotationGPU], Error: err.Error()}, exitRefused)
	case err != nil:
		return program.Exit(explainName, streams.Err, fmt.Errorf("%s: %w", file, err))
	}
	return writeJSON(streams, json.RawMessage(out), program.ExitOK)
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

// writeJSON prints v as indented JSON and returns code, or ExitFailure when stdout
// cannot be written.
func writeJSON(streams program.Streams, v any, code int) int {
	// CEL selectors hold "&&": written as they are, not escaped for HTML.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	if err == nil {
		_, err = streams.Out.Write(buf.Bytes())
	}
	if err != nil {
		return program.Exit(explainName, streams.Err, fmt.Errorf("writing the answer: %w", err))
	}
	return code
}
