package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// benchPod is a pod as the API server sends it to a mutating webhook: defaulted, with
// the fields a real training pod carries.
const benchPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"train-7f9c-","namespace":"ml",
"labels":{"app":"train","pod-template-hash":"7f9c"},"annotations":{"gpuplane.io/gpu":"2(V100|A100)","gpuplane.io/role":"train"},
"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"train-7f9c","uid":"5d1f","controller":true,"blockOwnerDeletion":true}]},
"spec":{"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data"}},{"name":"kube-api-access","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}}],"defaultMode":420}}],
"containers":[{"name":"trainer","image":"registry.local/trainer:1.4","command":["python","train.py"],"args":["--epochs","10"],
"ports":[{"name":"metrics","containerPort":9090,"protocol":"TCP"}],"env":[{"name":"EPOCHS","value":"10"},{"name":"RANK","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}}],
"resources":{"limits":{"cpu":"8","memory":"64Gi"},"requests":{"cpu":"4","memory":"32Gi"}},
"volumeMounts":[{"name":"data","mountPath":"/data"},{"name":"kube-api-access","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],
"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"},
{"name":"sidecar","image":"registry.local/logger:2","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],
"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","serviceAccount":"default",
"securityContext":{},"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[
{"matchExpressions":[{"key":"zone","operator":"In","values":["a"]}]},{"matchExpressions":[{"key":"zone","operator":"In","values":["b"]}]}]}}},
"schedulerName":"default-scheduler","tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],
"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},"status":{}}`

// smallPod is the least a GPU pod carries when the API server sends it: one container
// and the defaults, including the tolerations the API server adds to every pod.
const smallPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"t4-job","namespace":"ml","annotations":{"gpuplane.io/gpu":"1(T4)"}},
"spec":{"containers":[{"name":"main","image":"trainer:1","resources":{},"terminationMessagePath":"/dev/termination-log",
"terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,
"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler","tolerations":[
{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},
{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],
"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},"status":{}}`

// BenchmarkPodMutator is the handler's work per review: decode the pod, decide,
// build the patch and encode it (Complete), as the webhook server does for each; for
// a small pod and for a realistic training pod of about 3KB.
func BenchmarkPodMutator(b *testing.B) {
	for _, bc := range []struct{ name, pod string }{{"small", smallPod}, {"realistic", benchPod}} {
		b.Run(bc.name, func(b *testing.B) {
			metrics, err := NewMetrics(prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			m := newTestMutator(b, Options{SchedulerName: "gpuplane"}, metrics)
			req := rawPodRequest(compact(b, bc.pod))
			ctx := context.Background()
			b.ReportAllocs()
			cpu := startCPUTimer()
			for b.Loop() {
				resp := m.Handle(ctx, req)
				if err := resp.Complete(req); err != nil || len(resp.Patch) == 0 {
					b.Fatalf("no patch: %v %+v", err, resp.Result)
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkPodMutatorReinvocation is a second call on an already admitted pod.
func BenchmarkPodMutatorReinvocation(b *testing.B) {
	m := newTestMutator(b, Options{SchedulerName: "gpuplane"}, nil)
	raw := compact(b, benchPod)
	first := m.Handle(context.Background(), rawPodRequest(raw))
	req := rawPodRequest(applyPatch(b, raw, first.Patch))
	b.ReportAllocs()
	cpu := startCPUTimer()
	for b.Loop() {
		resp := m.Handle(context.Background(), req)
		if err := resp.Complete(req); err != nil || len(resp.Patch) != 0 {
			b.Fatalf("patched again: %v %s", err, resp.Patch)
		}
	}
	cpu.report(b)
}

// BenchmarkServeHTTP adds what the HTTP handler does around it: reading and decoding
// the AdmissionReview body and writing the answer.
func BenchmarkServeHTTP(b *testing.B) {
	handler, err := NewHandler(HandlerOptions{Catalog: catalog.Default(), Mutate: Options{SchedulerName: "gpuplane"}})
	if err != nil {
		b.Fatal(err)
	}
	body := admissionReview(b, rawPodRequest(compact(b, benchPod)).AdmissionRequest)
	b.ReportAllocs()
	cpu := startCPUTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, PathMutatePod, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
	cpu.report(b)
}

func compact(b testing.TB, s string) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
