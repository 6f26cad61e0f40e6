package perf

import (
	"context"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// TestFakeAPIFeedsInformers checks that client-go's informers (which stream
// the initial list as a watch) and a plain list both get every object.
func TestFakeAPIFeedsInformers(t *testing.T) {
	f, err := BuildFleet(FleetOptions{Nodes: 20, Pods: 120, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	fake, err := NewFakeAPI(f)
	if err != nil {
		t.Fatal(err)
	}
	srv, addr, err := serveLoopback(fake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close(); _ = srv.Close() })
	client, err := kubernetes.NewForConfig(&rest.Config{Host: "http://" + addr, QPS: 100, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	factory := informers.NewSharedInformerFactory(client, 0)
	nodes := factory.Core().V1().Nodes().Informer()
	pods := factory.Core().V1().Pods().Informer()
	factory.Start(ctx.Done())
	defer func() { cancel(); factory.Shutdown() }()
	if !cache.WaitForCacheSync(ctx.Done(), nodes.HasSynced, pods.HasSynced) {
		t.Fatal("the informers did not sync from the fake API server within 30s")
	}
	if n, p := len(nodes.GetStore().ListKeys()), len(pods.GetStore().ListKeys()); n != 20 || p != 120 {
		t.Errorf("informers hold %d nodes and %d pods, want 20 and 120", n, p)
	}

	list, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 120 || list.Items[0].Spec.NodeName == "" {
		t.Errorf("list gave %d pods, want 120 bound ones", len(list.Items))
	}
	if _, err := client.CoreV1().Pods("ml").Get(ctx, list.Items[0].Name, metav1.GetOptions{}); err == nil {
		t.Error("a GET of one pod was answered; the fake serves lists and watches only")
	}
	resp, err := http.Post("http://"+addr+"/api/v1/pods", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST answered %s, want 405", resp.Status)
	}
	nb, pb := fake.Bytes()
	if nb == 0 || pb <= nb {
		t.Errorf("encoded sizes nodes %d pods %d", nb, pb)
	}
}
