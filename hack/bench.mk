# Benchmarks and scale runs (test/perf): `make bench-all` runs the Go benchmarks,
# the webhook under HTTPS load, the extender at 1,000 to 10,000 nodes and
# kube-scheduler with and without the extender on a local control plane, one
# after the other, writing bench/results.json and the figures of
# docs/performance.md. About 15 minutes on 2 cores. Included by the Makefile;
# BIN and GO come from there.

PERF := $(BIN)/perf
# The webhook as the results file records it: relative to the repository.
BENCH_WEBHOOK_BIN := $(patsubst $(CURDIR)/%,%,$(BIN))/webhook
BENCH_RESULTS ?= bench/results.json
BENCH_DOC ?= docs/performance.md
# Runs of each Go benchmark and how long each runs, repeats of each scale run.
BENCH_COUNT ?= 3
BENCH_TIME ?= 200ms
BENCH_REPEATS ?= 3
# Extra flags for each run, e.g. BENCH_EXTENDER_FLAGS="--nodes 5000".
BENCH_WEBHOOK_FLAGS ?=
BENCH_EXTENDER_FLAGS ?=
BENCH_ENDTOEND_FLAGS ?=

.PHONY: bench-all bench-scale bench-tools bench-go bench-webhook bench-extender bench-endtoend bench-report

# One after the other, never in parallel (make -j): each run measures the
# whole machine.
bench-all: bench-tools tools ## Go benchmarks and every scale run, then the report (about 15 min)
	@echo "load average before: $$(cut -d' ' -f1-3 /proc/loadavg)"
	$(PERF) gobench --count $(BENCH_COUNT) --benchtime $(BENCH_TIME) --results $(BENCH_RESULTS)
	$(PERF) webhook --webhook-bin $(BENCH_WEBHOOK_BIN) --repeats $(BENCH_REPEATS) --results $(BENCH_RESULTS) $(BENCH_WEBHOOK_FLAGS)
	$(PERF) extender --repeats $(BENCH_REPEATS) --results $(BENCH_RESULTS) $(BENCH_EXTENDER_FLAGS)
	$(PERF) endtoend --repeats $(BENCH_REPEATS) --results $(BENCH_RESULTS) $(BENCH_ENDTOEND_FLAGS)
	$(PERF) report --results $(BENCH_RESULTS) --doc $(BENCH_DOC)

bench-scale: bench-tools tools ## the three scale runs without the Go benchmarks, then the report
	$(PERF) webhook --webhook-bin $(BENCH_WEBHOOK_BIN) --repeats $(BENCH_REPEATS) --results $(BENCH_RESULTS) $(BENCH_WEBHOOK_FLAGS)
	$(PERF) extender --repeats $(BENCH_REPEATS) --results $(BENCH_RESULTS) $(BENCH_EXTENDER_FLAGS)
	$(PERF) endtoend --repeats $(BENCH_REPEATS) --results $(BENCH_RESULTS) $(BENCH_ENDTOEND_FLAGS)
	$(PERF) report --results $(BENCH_RESULTS) --doc $(BENCH_DOC)

bench-tools: ## build the load generator (bin/perf) and the webhook (bin/webhook)
	$(GO) build -o $(BIN)/perf ./test/perf/cmd/perf
	$(GO) build -o $(BIN)/webhook ./cmd/webhook

bench-go: bench-tools ## only the Go benchmarks (go test -bench), into the results
	$(PERF) gobench --count $(BENCH_COUNT) --benchtime $(BENCH_TIME) --results $(BENCH_RESULTS)

bench-webhook: bench-tools ## only the webhook under HTTPS load
	$(PERF) webhook --webhook-bin $(BENCH_WEBHOOK_BIN) --repeats $(BENCH_REPEATS) --results $(BENCH_RESULTS) $(BENCH_WEBHOOK_FLAGS)

bench-extender: bench-tools ## only the extender at 1,000 / 5,000 / 10,000 nodes
	$(PERF) extender --repeats $(BENCH_REPEATS) --results $(BENCH_RESULTS) $(BENCH_EXTENDER_FLAGS)

bench-endtoend: bench-tools tools ## only kube-scheduler with and without the extender
	$(PERF) endtoend --repeats $(BENCH_REPEATS) --results $(BENCH_RESULTS) $(BENCH_ENDTOEND_FLAGS)

bench-report: ## rewrite the figures of docs/performance.md from bench/results.json
	$(GO) run ./test/perf/cmd/perf report --results $(BENCH_RESULTS) --doc $(BENCH_DOC)

# `make bench-replay TRACE_DIR=DIR`: a trace's pods, one at a time, through the
# webhook, kube-scheduler with the shipped configuration and the extender on a
# local control plane, against `extender simulate` for the same pods
# (docs/performance.md, "Placement through kube-scheduler"). DIR holds the
# trace's CSVs (REPLAY_NODES, REPLAY_PODS); REPLAY_FLAGS passes flags of
# `bin/perf replay` (e.g. "--seed 43 --until-arrived 130").
TRACE_DIR ?=
REPLAY_NODES ?= openb_node_list_gpu_node.csv
REPLAY_PODS ?= openb_pod_list_default.csv
REPLAY_FLAGS ?=

.PHONY: bench-replay bench-replay-trace
bench-replay: bench-replay-trace bench-tools tools ## a trace through webhook, kube-scheduler and extender vs simulate (TRACE_DIR=dir of the CSVs)
	$(PERF) replay --nodes $(TRACE_DIR)/$(REPLAY_NODES) --pods $(TRACE_DIR)/$(REPLAY_PODS) $(REPLAY_FLAGS)

# Checked before anything is built.
bench-replay-trace:
	@if [ -z "$(TRACE_DIR)" ]; then \
	  echo "bench-replay: TRACE_DIR is not set; set it to the directory holding the trace's $(REPLAY_NODES) and $(REPLAY_PODS)," >&2; \
	  echo "  e.g. make bench-replay TRACE_DIR=DIR_OF_THE_TRACE_CSVS (REPLAY_NODES, REPLAY_PODS name other files of it)" >&2; \
	  exit 2; fi
	@for f in $(REPLAY_NODES) $(REPLAY_PODS); do if [ ! -r "$(TRACE_DIR)/$$f" ]; then \
	  echo "bench-replay: $(TRACE_DIR)/$$f is not a readable file; TRACE_DIR must hold the trace's CSVs" >&2; exit 2; fi; done
