package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// etcdArgs returns the command line of a single-member etcd that listens on 127.0.0.1
// only. The cluster's data is thrown away after the test, so etcd skips fsync: that
// keeps writes fast on slow disks.
func etcdArgs(dataDir string, clientPort, peerPort int) []string {
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	const name = "gpuplane"
	return []string{
		"--name=" + name,
		"--data-dir=" + dataDir,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + name + "=" + peer,
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	}
}

// startEtcd starts etcd on ports (client, peer) and waits until it answers its health
// check.
func startEtcd(ctx context.Context, binDir, dir string, ports []int, timeout time.Duration) (*Process, string, error) {
	url := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	p, err := StartProcess("etcd", filepath.Join(binDir, "etcd"),
		etcdArgs(filepath.Join(dir, "etcd-data"), ports[0], ports[1]), filepath.Join(dir, "etcd.log"))
	if err != nil {
		return nil, "", err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	// The process is returned even when it never became ready, so the caller stops it.
	err = waitReady(ctx, p, timeout, func(ctx context.Context) (bool, string) {
		return etcdHealthy(ctx, client, url)
	})
	return p, url, err
}

func etcdHealthy(ctx context.Context, client *http.Client, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return false, fmt.Sprintf("GET /health: %d %s", resp.StatusCode, body)
	}
	return true, ""
}
