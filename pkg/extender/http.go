package extender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gpuplane/gpuplane/pkg/extender/wire"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// HandlerOptions shape the HTTP handler.
type HandlerOptions struct {
	// MaxBodyBytes bounds a request body. Default 64 MiB: a filter call
	// without nodeCacheCapable carries every candidate Node object.
	MaxBodyBytes int64
	// Ready tells whether the state has synced; /readyz fails until then.
	// Default: always ready.
	Ready func() bool
	// Gatherer serves /metrics. Default: no /metrics.
	Gatherer prometheus.Gatherer
	// Logger is put in every request's context. Default: klog's global.
	Logger klog.Logger
}

// DefaultMaxBodyBytes is HandlerOptions.MaxBodyBytes's default.
const DefaultMaxBodyBytes = 64 << 20

// Handler returns the extender's HTTP routes: POST /filter, /filter-best,
// /prioritize, /bind and /preempt in the kube-scheduler extender v1 wire format; GET /healthz,
// /readyz, /metrics and /state.
func (e *Extender) Handler(o HandlerOptions) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Ready == nil {
		o.Ready = alwaysReady
	}
	if o.Logger.GetSink() == nil {
		o.Logger = klog.Background()
	}
	bufs := &wire.BufferPool{}
	lent := &argsPool{}
	mux := http.NewServeMux()
	// The verbs that take ExtenderArgs answer with their own JSON, written
	// into a pooled buffer. Their node names are read where the verb
	// looks the nodes up (wire.Pending).
	for verb, answer := range map[string]func(context.Context, *extenderv1.ExtenderArgs, *wire.Pending) wire.Answer{
		"filter": func(ctx context.Context, a *extenderv1.ExtenderArgs, p *wire.Pending) wire.Answer {
			return answerOf(e.filterCounting(ctx, a, p, skipFree), bufs)
		},
		"filter-best": func(ctx context.Context, a *extenderv1.ExtenderArgs, p *wire.Pending) wire.Answer {
			return answerOf(e.filterBest(ctx, a, p), bufs)
		},
		"prioritize": func(ctx context.Context, a *extenderv1.ExtenderArgs, p *wire.Pending) wire.Answer {
			return wire.PriorityAnswer(e.prioritize(ctx, a, p))
		},
	} {
		mux.Handle("POST /"+verb, e.verb(verb, o, o.Ready, func(ctx context.Context, r *http.Request) (any, error) {
			var args extenderv1.ExtenderArgs
			b := lent.get()
			if err := b.decode(r, &args); err != nil {
				lent.put(b)
				return nil, err
			}
			return pooledAnswer{answer(ctx, &args, &b.pending), bufs, b, lent}, nil
		}))
	}
	mux.Handle("POST /bind", e.verb("bind", o, o.Ready, func(ctx context.Context, r *http.Request) (any, error) {
		var args extenderv1.ExtenderBindingArgs
		if err := decode(r, &args); err != nil {
			return nil, err
		}
		return e.Bind(ctx, &args), nil
	}))
	mux.Handle("POST /preempt", e.verb("preempt", o, o.Ready, func(ctx context.Context, r *http.Request) (any, error) {
		var args extenderv1.ExtenderPreemptionArgs
		buf := bufs.Get()
		defer bufs.Put(buf)
		body, err := wire.ReadAll(r.Body, *buf)
		*buf = body
		if err != nil {
			return nil, bodyError(err)
		}
		if err := wire.DecodePreemptionArgs(body, &args); err != nil {
			return nil, err
		}
		return e.Preempt(ctx, &args)
	}))
	mux.Handle("GET /state", e.verb("state", o, alwaysReady, func(context.Context, *http.Request) (any, error) {
		return e.state.View(), nil
	}))
	addProbes(mux, o.Ready)
	if o.Gatherer != nil {
		mux.Handle("GET /metrics", MetricsHandler(o.Gatherer))
	}
	return http.MaxBytesHandler(mux, o.MaxBodyBytes)
}

// ProbeHandler serves /healthz (the process answers) and /readyz (ready
// says the state has synced) alone, for a separate probe port.
func ProbeHandler(ready func() bool) http.Handler {
	mux := http.NewServeMux()
	addProbes(mux, ready)
	return mux
}

// MetricsHandler serves /metrics alone, for a separate metrics port.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

func addProbes(mux *http.ServeMux, ready func() bool) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "informers not synced yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return bodyError(err)
	}
	return nil
}

// argsBuffers are what one call of filter, filter-best or prioritize
// decodes its arguments into, lent from call to call: at 5,000 candidates
// the body is about 70 KiB, the names' array 80 KiB and their spans 40 KiB,
// and the body stays lent until the answer is written, since the names are
// read from it (wire.Pending).
type argsBuffers struct {
	body    []byte
	names   []string
	pending wire.Pending
}

// decode reads r's body into b and decodes it into args.
func (b *argsBuffers) decode(r *http.Request, args *extenderv1.ExtenderArgs) error {
	body, err := wire.ReadAll(r.Body, b.body)
	b.body = body
	if err != nil {
		return bodyError(err)
	}
	return wire.DecodeExtenderArgsWith(body, args, wire.Reuse{Names: &b.names, Pending: &b.pending})
}

// argsPool lends argsBuffers. The zero value is ready.
type argsPool struct{ p sync.Pool }

// maxPooledArgs bounds the buffers kept: a call with whole Node objects
// can be tens of MiB and is better given back to the garbage collector.
const maxPooledArgs = 4 << 20

func (p *argsPool) get() *argsBuffers {
	if b, ok := p.p.Get().(*argsBuffers); ok {
		return b
	}
	return &argsBuffers{}
}

// put takes b back; nothing may use it, nor anything decoded into it,
// afterwards.
func (p *argsPool) put(b *argsBuffers) {
	if cap(b.body) > maxPooledArgs || cap(b.names) > maxPooledArgs/16 {
		return
	}
	// What the call decoded must not outlive it.
	clear(b.names[:cap(b.names)])
	b.body, b.names = b.body[:0], b.names[:0]
	b.pending.Reset()
	p.p.Put(b)
}

// outcomeAnswer is filter's answer written from its outcome by
// wire.AppendOutcome. It holds one pointer, so that making it a wire.Answer
// allocates nothing (wire.OutcomeAnswer, holding an interface, would).
type outcomeAnswer struct{ o *filterOutcome }

// answerOf is o's answer, its refusals written in parts in buffers lent
// by bufs (wire.AppendOutcomeWith).
func answerOf(o *filterOutcome, bufs *wire.BufferPool) outcomeAnswer {
	o.answerBufs = bufs
	return outcomeAnswer{o}
}

func (a outcomeAnswer) AppendJSON(dst []byte) ([]byte, error) {
	return wire.AppendOutcomeWith(dst, a.o, a.o.answerBufs)
}

// Release implements releaser: the outcome goes back to its pool once its
// JSON is written.
func (a outcomeAnswer) Release() { a.o.release() }

// releaser is an answer that lends memory to its call until it has been
// written.
type releaser interface{ Release() }

// pooledAnswer is an answer that writes its own JSON, into a buffer
// borrowed from bufs. args, when set, is what its call's arguments were
// decoded into, given back to argsPool once the answer is written.
type pooledAnswer struct {
	wire.Answer
	bufs     *wire.BufferPool
	args     *argsBuffers
	argsPool *argsPool
}

// bodyError is a body that could not be read or decoded, as a bad request.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fmt.Errorf("%w: body larger than %d bytes", wire.ErrBadRequest, tooBig.Limit)
	}
	return fmt.Errorf("%w: %w", wire.ErrBadRequest, err)
}

// alwaysReady is the readiness of a route that may answer before the
// informers have synced.
func alwaysReady() bool { return true }

// verb wraps one route: logger in the context, JSON out, metrics, and a
// panic turned into a 500 so that one bad request does not take the
// scheduler's extender down. The route answers 503 while ready says no:
// the verbs that read or change the state wait for the informers to sync,
// since a half-listed cluster would hand out cards that are taken.
func (e *Extender) verb(name string, o HandlerOptions, ready func() bool, f func(context.Context, *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := http.StatusOK
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				o.Logger.Error(fmt.Errorf("panic: %v", p), "Handler panicked", "verb", name)
				code = http.StatusInternalServerError
				http.Error(w, "internal error", code)
			}
			e.metrics.requests.WithLabelValues(name, strconv.Itoa(code)).Inc()
			e.metrics.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
		}()
		if !ready() {
			code = http.StatusServiceUnavailable
			http.Error(w, "the extender's cluster state is not synced yet", code)
			return
		}
		ctx := klog.NewContext(r.Context(), o.Logger.WithValues("verb", name))
		out, err := f(ctx, r)
		if err != nil {
			code = http.StatusBadRequest
			if !errors.Is(err, wire.ErrBadRequest) {
				code = http.StatusInternalServerError
			}
			http.Error(w, err.Error(), code)
			return
		}
		if a, ok := out.(pooledAnswer); ok {
			buf := a.bufs.Get()
			defer a.bufs.Put(buf)
			b, err := a.AppendJSON(*buf)
			*buf = b
			if r, ok := a.Answer.(releaser); ok {
				r.Release()
			}
			if a.args != nil {
				a.argsPool.put(a.args)
			}
			if err != nil {
				code = http.StatusInternalServerError
				http.Error(w, fmt.Sprintf("encoding the answer: %v", err), code)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			if _, err := w.Write(b); err != nil {
				klog.FromContext(ctx).V(2).Info("Writing the answer failed", "err", err)
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(out); err != nil {
			klog.FromContext(ctx).V(2).Info("Writing the answer failed", "err", err)
		}
	})
}
