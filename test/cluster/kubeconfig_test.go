package cluster

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestWriteKubeconfigRoundTrips(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *rest.Config
		wantErr bool
	}{
		{
			name: "client certificate",
			cfg: &rest.Config{Host: "https://127.0.0.1:6443", TLSClientConfig: rest.TLSClientConfig{
				CAData: []byte("ca"), CertData: []byte("cert"), KeyData: []byte("key"),
			}},
		},
		{
			name: "token",
			cfg: &rest.Config{Host: "https://127.0.0.1:6443", BearerToken: "tok",
				TLSClientConfig: rest.TLSClientConfig{CAData: []byte("ca")}},
		},
		{name: "basic auth refused", cfg: &rest.Config{Host: "https://x", Username: "u", Password: "p"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kubeconfig")
			err := writeKubeconfig(path, tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want 0600: it holds a private key or token", info.Mode().Perm())
			}
			got, err := clientcmd.BuildConfigFromFlags("", path)
			if err != nil {
				t.Fatalf("kubeconfig does not load: %v", err)
			}
			if got.Host != tt.cfg.Host || got.BearerToken != tt.cfg.BearerToken ||
				!bytes.Equal(got.CAData, tt.cfg.CAData) || !bytes.Equal(got.CertData, tt.cfg.CertData) ||
				!bytes.Equal(got.KeyData, tt.cfg.KeyData) {
				t.Errorf("loaded %+v, want %+v", got, tt.cfg)
			}
		})
	}
}
