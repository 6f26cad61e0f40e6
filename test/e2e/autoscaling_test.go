//go:build e2e && unix

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// The autoscaling test runs the KEDA example of deploy/examples as a cluster
// would: KEDA's operator and metrics API server (built from the module pinned
// in hack/keda), the HPA, Deployment and ReplicaSet controllers of a real
// kube-controller-manager, and a real Prometheus scraping DCGM-named series.
const (
	scaleExample = "deploy/examples/gpu-autoscaling-keda"
	// scaleKEDANamespace is where KEDA runs and keeps its objects.
	scaleKEDANamespace = "keda"
	// scaleMetricsService is the Service the external metrics APIService names.
	scaleMetricsService = "keda-metrics-apiserver"
	// scaleLimit bounds each wait of the test: a program ready, a scale.
	scaleLimit = 3 * time.Minute
	// scaleNode is the node the test binds the Deployment's pods to.
	scaleNode = "gpu-t4-1"
)

// TestGPUAutoscaling applies the shipped KEDA example (its Prometheus address
// pointed at the local one) and drives the GPU utilisation of the example
// Deployment's pods: at 90 % against the example's target of 50 % the
// Deployment is scaled up; at 10 % it is scaled back down to one replica.
//
// No kubelet runs: the test binds each new pod to a node and reports it
// Running and Ready through the status subresource, and serves, as
// dcgm-exporter does, one DCGM_FI_DEV_GPU_UTIL series per running pod's card.
func TestGPUAutoscaling(t *testing.T) {
	root := repoRoot(t)
	example := deployRender(t, deployKustomize(t), root, scaleExample)
	prometheus := adapterPrometheus(t)
	kcm := binProgram(t, "kube-controller-manager", "make tools")
	operator := binProgram(t, "keda", "make keda")
	metricsServer := binProgram(t, "keda-adapter", "make keda")
	crdFiles := scaleKEDACRDs(t, root)

	c := cluster.New(t, cluster.Options{})
	ctx := t.Context()
	client := c.Client()
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	deployInstallCRDs(ctx, t, c, crdFiles)
	createNamespace(ctx, t, client, scaleKEDANamespace)
	if _, err := c.AddGPUNode(ctx, cluster.NodeSpec{
		Name:     scaleNode,
		Labels:   map[string]string{"gpu": "true", "gpu-type": "T4", "service": "true"},
		Capacity: map[string]string{"nvidia.com/gpu": "8"},
	}); err != nil {
		t.Fatal(err)
	}

	// The cards' utilisation, in percent, that the exporter reports for every
	// running pod of the example.
	var util atomic.Int64
	util.Store(90)
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cards, err := scaleCards(r.Context(), client, float64(util.Load()))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = io.WriteString(w, adapterExposition(cards))
	}))
	t.Cleanup(exporter.Close)
	promAddr := adapterServePrometheus(t, prometheus, strings.TrimPrefix(exporter.URL, "http://"))

	dir := t.TempDir()
	scaleStartControllerManager(t, c, kcm, dir)
	scaleStartKEDA(ctx, t, c, dyn, operator, metricsServer, dir)

	// The example, as rendered, with only the Prometheus address changed.
	ns := ""
	for _, obj := range example {
		if obj.GetKind() == "ScaledObject" {
			scaleSetServerAddress(t, obj, "http://"+promAddr)
			ns = obj.GetNamespace()
		}
	}
	if ns == "" {
		t.Fatalf("%s renders no ScaledObject", scaleExample)
	}
	mapper := deployMapper(t, c)
	for _, obj := range example {
		if err := deployApply(ctx, dyn, mapper, obj, false); err != nil {
			t.Fatalf("applying %s: %v", deployObjectName(obj), err)
		}
	}
	deploy := deployFind(t, example, "Deployment", "t4-inference")

	// What a kubelet would do: run each pod the ReplicaSet creates.
	kubeletCtx, stopKubelet := context.WithCancel(ctx)
	kubeletDone := make(chan struct{})
	go func() {
		defer close(kubeletDone)
		scaleRunPods(kubeletCtx, client, ns)
	}()
	t.Cleanup(func() {
		stopKubelet()
		<-kubeletDone
	})

	t.Run("scale up at 90%", func(t *testing.T) {
		got := scaleWaitReplicas(ctx, t, client, ns, deploy.GetName(), func(n int32) bool { return n > 1 })
		t.Logf("utilisation 90%%, target 50%%: %d replicas", got)
	})
	util.Store(10)
	t.Run("scale down at 10%", func(t *testing.T) {
		got := scaleWaitReplicas(ctx, t, client, ns, deploy.GetName(), func(n int32) bool { return n == 1 })
		t.Logf("utilisation 10%%, target 50%%: %d replica", got)
	})
}

// scaleCards is one card per running pod of the example, with the given
// utilisation, as dcgm-exporter labels it with the pod using it.
func scaleCards(ctx context.Context, client kubernetes.Interface, util float64) ([]adapterCard, error) {
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: "app=t4-inference"})
	if err != nil {
		return nil, err
	}
	var cards []adapterCard
	for i, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		cards = append(cards, adapterCard{
			gpu: strconv.Itoa(i), uuid: fmt.Sprintf("GPU-5c3e1f7a-0000-4000-8000-%012d", i), host: p.Spec.NodeName,
			namespace: p.Namespace, pod: p.Name, cname: "server", util: util, fbUsedMiB: 4096,
		})
	}
	return cards, nil
}

// scaleRunPods binds every pending pod of the namespace to scaleNode and
// reports it Running and Ready, until ctx ends.
func scaleRunPods(ctx context.Context, client kubernetes.Interface, ns string) {
	for ctx.Err() == nil {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			for i := range pods.Items {
				scaleRunPod(ctx, client, &pods.Items[i])
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollInterval):
		}
	}
}

// scaleRunPod binds one pod and marks it running; errors are left for the
// next round (the pod may be gone, or changed meanwhile).
func scaleRunPod(ctx context.Context, client kubernetes.Interface, p *corev1.Pod) {
	if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodRunning {
		return
	}
	if p.Spec.NodeName == "" {
		binding := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
			Target:     corev1.ObjectReference{Kind: "Node", Name: scaleNode},
		}
		if err := client.CoreV1().Pods(p.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
			return
		}
		got, err := client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return
		}
		p = got
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.StartTime = &now
	p.Status.HostIP = "127.0.0.1"
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	p.Status.ContainerStatuses = nil
	for _, ctr := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: ctr.Name, Image: ctr.Image, ImageID: ctr.Image, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	_, _ = client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
}

// scaleWaitReplicas waits until the Deployment's desired replicas satisfy
// ok and returns them; a failure shows the HPA KEDA made.
func scaleWaitReplicas(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string, ok func(int32) bool) int32 {
	t.Helper()
	var replicas int32
	err := wait.PollUntilContextTimeout(ctx, pollInterval, scaleLimit, true, func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		replicas = scaleReplicas(d)
		return ok(replicas), nil
	})
	if err != nil {
		hpas, _ := client.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
		status, _ := json.MarshalIndent(hpas.Items, "", "  ")
		t.Fatalf("deployment %s/%s has %d replicas after %s (%v); HPAs:\n%s", ns, name, replicas, scaleLimit, err, status)
	}
	return replicas
}

func scaleReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// scaleSetServerAddress points the ScaledObject's prometheus triggers at addr.
func scaleSetServerAddress(t *testing.T, obj *unstructured.Unstructured, addr string) {
	t.Helper()
	triggers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "triggers")
	set := 0
	for _, tr := range triggers {
		m, _ := tr.(map[string]any)
		if m["type"] != "prometheus" {
			continue
		}
		if err := unstructured.SetNestedField(m, addr, "metadata", "serverAddress"); err != nil {
			t.Fatal(err)
		}
		set++
	}
	if set == 0 {
		t.Fatalf("%s: the ScaledObject has no prometheus trigger", scaleExample)
	}
	if err := unstructured.SetNestedSlice(obj.Object, triggers, "spec", "triggers"); err != nil {
		t.Fatal(err)
	}
}

// scaleKEDACRDs returns KEDA's CRD files from the module pinned in hack/keda,
// as it is in the module cache (the build of bin/keda put it there).
func scaleKEDACRDs(t *testing.T, root string) []string {
	t.Helper()
	const module = "github.com/kedacore/keda/v2"
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = filepath.Join(root, "hack", "keda")
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var m struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &m); jerr != nil || m.Dir == "" {
		deployMissing(t, "module %s (pinned in hack/keda/go.mod) is not in the module cache; `make keda` fetches it (go: %v %s %v)", module, err, m.Error, jerr)
	}
	files, err := filepath.Glob(filepath.Join(m.Dir, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRD in %s/config/crd/bases: %v", m.Dir, err)
	}
	return files
}

// scaleStartControllerManager runs kube-controller-manager with the
// controllers the example needs: Deployments, ReplicaSets and the HPA, which
// syncs every second and may scale down five seconds after the metric fell
// (the defaults are 15 seconds and 5 minutes).
func scaleStartControllerManager(t *testing.T, c *cluster.Cluster, bin, dir string) {
	t.Helper()
	faultRun(t, "kube-controller-manager", bin, dir,
		"--kubeconfig="+c.KubeconfigPath(),
		"--controllers=deployment-controller,replicaset-controller,horizontal-pod-autoscaler-controller",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--secure-port=0",
		"--horizontal-pod-autoscaler-sync-period=1s",
		"--horizontal-pod-autoscaler-downscale-stabilization=5s",
		"--concurrent-deployment-syncs=2",
		"--concurrent-replicaset-syncs=2",
		"--v=2",
	)
}

// scaleStartKEDA runs KEDA's operator and metrics API server. They talk gRPC
// over mutual TLS on loopback with certificates of the cluster's CA: the
// operator serves with one for 127.0.0.1, the metrics server presents a
// client certificate. The metrics server serves external.metrics.k8s.io on
// 127.0.0.1; the APIService reaches it through an ExternalName Service
// naming localhost (the aggregator dials an ExternalName Service's name), and
// trusts the cluster's CA. It returns once the API server serves the group.
func scaleStartKEDA(ctx context.Context, t *testing.T, c *cluster.Cluster, dyn dynamic.Interface, operatorBin, metricsBin, dir string) {
	t.Helper()
	// The operator's gRPC server: serving certificate for 127.0.0.1, client
	// certificates checked against the cluster's CA.
	opCerts := filepath.Join(dir, "keda-operator-certs")
	opCert, opKey := scaleServingPEM(t, c, "127.0.0.1")
	scaleWriteFiles(t, opCerts, map[string][]byte{"ca.crt": c.CABundle(), "tls.crt": opCert, "tls.key": opKey})
	// The metrics server's gRPC client certificate, in its --cert-dir, and the
	// certificate it serves the aggregator with.
	msCerts := filepath.Join(dir, "keda-metrics-certs")
	clientCfg, err := c.ConfigForUser("keda-metrics-apiserver")
	if err != nil {
		t.Fatal(err)
	}
	apiCert, apiKey := scaleServingPEM(t, c, scaleMetricsService+"."+scaleKEDANamespace+".svc", "127.0.0.1", "localhost")
	scaleWriteFiles(t, msCerts, map[string][]byte{"ca.crt": c.CABundle(), "tls.crt": clientCfg.CertData, "tls.key": clientCfg.KeyData,
		"serving.crt": apiCert, "serving.key": apiKey})

	env := []string{
		"WATCH_NAMESPACE=", "POD_NAMESPACE=" + scaleKEDANamespace,
		"KEDA_CLUSTER_OBJECT_NAMESPACE=" + scaleKEDANamespace, "KUBECONFIG=" + c.KubeconfigPath(),
	}
	// KEDA's gRPC server and probes, and the metrics server's secure port,
	// take port numbers and cannot report, or turn off, a port the kernel
	// picks: each program is started on ports drawn free, and again on others
	// when one was taken before it listened. Nothing here reads the two
	// programs' own /metrics, which take port 0.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.CABundle())
	clientCert, err := tls.X509KeyPair(clientCfg.CertData, clientCfg.KeyData)
	if err != nil {
		t.Fatal(err)
	}
	// The operator's gRPC port is its own once a handshake as the metrics
	// server's (HTTP/2, the cluster's CA both ways) succeeds on it; its
	// probes may answer before that server has tried to listen.
	grpcTLS := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}, NextProtos: []string{"h2"}}
	var grpcAddr string
	err = cluster.RetryOnTakenPorts(ctx, "keda-operator", 2, func(ports []int) (bool, error) {
		grpcAddr = "127.0.0.1:" + strconv.Itoa(ports[0])
		opHealth := "127.0.0.1:" + strconv.Itoa(ports[1])
		prog, args := renderedWithEnv(t, env, operatorBin,
			"--leader-elect=false",
			"--enable-cert-rotation=false",
			"--cert-dir="+opCerts,
			"--metrics-service-bind-address="+grpcAddr,
			"--metrics-bind-address=127.0.0.1:0",
			"--health-probe-bind-address="+opHealth,
			"--zap-log-level=info",
		)
		op := faultRun(t, "keda-operator", prog, t.TempDir(), args...)
		if err := faultPollHTTP(ctx, op, "http://"+opHealth+"/readyz", nil); err != nil {
			return faultPortTaken(op), err
		}
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, faultReadyLimit, true, func(context.Context) (bool, error) {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", grpcAddr, grpcTLS)
			if err == nil {
				conn.Close()
				return true, nil
			}
			if !op.running() {
				return false, errors.New("KEDA's operator exited before its gRPC server served")
			}
			return false, nil
		})
		return faultPortTaken(op), err
	})
	if err != nil {
		t.Fatal(err)
	}

	// The metrics server is up once it answers over TLS with the serving
	// certificate of the cluster's CA, whatever the status: then the port is
	// its own.
	tlsClient := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer tlsClient.CloseIdleConnections()
	var port int
	var ms *faultProc
	err = cluster.RetryOnTakenPorts(ctx, "keda-metrics-apiserver", 1, func(ports []int) (bool, error) {
		port = ports[0]
		prog, args := renderedWithEnv(t, env, metricsBin,
			"--bind-address=127.0.0.1",
			"--secure-port="+strconv.Itoa(port),
			"--cert-dir="+msCerts,
			"--tls-cert-file="+filepath.Join(msCerts, "serving.crt"),
			"--tls-private-key-file="+filepath.Join(msCerts, "serving.key"),
			"--authentication-kubeconfig="+c.KubeconfigPath(),
			"--authorization-kubeconfig="+c.KubeconfigPath(),
			"--lister-kubeconfig="+c.KubeconfigPath(),
			"--metrics-service-address="+grpcAddr,
			// Its own /metrics, which nothing here reads, on a port the kernel picks.
			"--port=0",
			"--zap-log-level=info",
		)
		ms = faultRun(t, "keda-metrics-apiserver", prog, t.TempDir(), args...)
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, faultReadyLimit, true, func(context.Context) (bool, error) {
			resp, err := tlsClient.Get("https://127.0.0.1:" + strconv.Itoa(port) + "/readyz")
			if err == nil {
				resp.Body.Close()
				return true, nil
			}
			if !ms.running() {
				return false, errors.New("KEDA's metrics server exited before it served")
			}
			return false, nil
		})
		return faultPortTaken(ms), err
	})
	if err != nil {
		t.Fatal(err)
	}

	client := c.Client()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: scaleMetricsService, Namespace: scaleKEDANamespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if _, err := client.CoreV1().Services(scaleKEDANamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	apiServices := dyn.Resource(schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"})
	const name = "v1beta1.external.metrics.k8s.io"
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"service":              map[string]any{"namespace": scaleKEDANamespace, "name": scaleMetricsService, "port": int64(port)},
			"group":                "external.metrics.k8s.io",
			"version":              "v1beta1",
			"caBundle":             base64.StdEncoding.EncodeToString(c.CABundle()),
			"groupPriorityMinimum": int64(100),
			"versionPriority":      int64(100),
		},
	}}
	if _, err := apiServices.Create(ctx, apiService, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var conditions []any
	err = wait.PollUntilContextTimeout(ctx, pollInterval, scaleLimit, true, func(ctx context.Context) (bool, error) {
		got, err := apiServices.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conditions, _, _ = unstructured.NestedSlice(got.Object, "status", "conditions")
		if scaleAvailable(conditions) {
			return true, nil
		}
		if !ms.running() {
			return false, errors.New("KEDA's metrics server exited")
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("APIService %s not available after %s: %v: %v", name, scaleLimit, err, conditions)
	}
}

func scaleAvailable(conditions []any) bool {
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] == "Available" {
			return m["status"] == "True"
		}
	}
	return false
}

// scaleServingPEM returns a serving certificate of the cluster's CA for
// hosts, and its key, PEM encoded.
func scaleServingPEM(t *testing.T, c *cluster.Cluster, hosts ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	cert, err := c.IssueServingCert(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// scaleWriteFiles writes files (name to content) into dir, readable by
// their owner only.
func scaleWriteFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
