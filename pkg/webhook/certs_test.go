package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"testing"
	"time"
)

func TestServingCertificate(t *testing.T) {
	now := testEpoch
	ca, err := newCA("ca", now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	hosts := servingHosts{dnsNames: []string{"svc.ns.svc", "svc"}, ips: []net.IP{net.ParseIP("127.0.0.1")}}
	kp, err := newServingCert(ca, hosts, now, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !signedBy(kp.cert, ca.cert) {
		t.Error("serving certificate not signed by its CA")
	}
	if !hosts.coveredBy(kp.cert) {
		t.Error("serving certificate does not name its hosts")
	}
	if kp.cert.IsCA || kp.cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("serving certificate: IsCA %v, usages %v", kp.cert.IsCA, kp.cert.ExtKeyUsage)
	}
	if got := kp.cert.NotBefore; !got.Equal(now.Add(-certBackdate)) {
		t.Errorf("NotBefore = %v, want an hour back", got)
	}

	// A serving certificate never outlives its CA.
	long, err := newServingCert(ca, hosts, now, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !long.cert.NotAfter.Equal(ca.cert.NotAfter) {
		t.Errorf("NotAfter = %v, want the CA's %v", long.cert.NotAfter, ca.cert.NotAfter)
	}

	if _, err := newServingCert(ca, servingHosts{}, now, time.Hour); err == nil {
		t.Error("a certificate without names was issued")
	}
	other, _ := newCA("other", now, time.Hour)
	if signedBy(kp.cert, other.cert) {
		t.Error("signedBy accepts a foreign CA")
	}
	for _, h := range []servingHosts{
		{dnsNames: []string{"svc.ns.svc"}, ips: hosts.ips},
		{dnsNames: hosts.dnsNames},
		{dnsNames: []string{"svc.ns.svc", "other"}, ips: hosts.ips},
	} {
		if h.coveredBy(kp.cert) {
			t.Errorf("coveredBy(%v) = true for a certificate of %v", h, hosts)
		}
	}
}

func TestRenewAt(t *testing.T) {
	ca, err := newCA("ca", testEpoch, 90*24*time.Hour-certBackdate)
	if err != nil {
		t.Fatal(err)
	}
	// Life 90 days from NotBefore: renewal after 60.
	if got, want := renewAt(ca.cert), ca.cert.NotBefore.Add(60*24*time.Hour); !got.Equal(want) {
		t.Errorf("renewAt = %v, want %v", got, want)
	}
}

func TestParseKeyPair(t *testing.T) {
	ca, err := newCA("ca", testEpoch, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := parseKeyPair(ca.certPEM, ca.keyPEM); err != nil || !got.cert.Equal(ca.cert) {
		t.Fatalf("round trip: %v", err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := newCA("other", testEpoch, time.Hour)
	tests := []struct {
		name    string
		cert    []byte
		key     []byte
		wantErr bool
	}{
		{name: "no certificate", cert: nil, key: ca.keyPEM, wantErr: true},
		{name: "garbage certificate", cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), key: ca.keyPEM, wantErr: true},
		{name: "no key", cert: ca.certPEM, key: nil, wantErr: true},
		{name: "key of another certificate", cert: ca.certPEM, key: other.keyPEM, wantErr: true},
		{name: "EC key of another certificate", cert: ca.certPEM,
			key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), wantErr: true},
		{name: "RSA key of another certificate", cert: ca.certPEM,
			key: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), wantErr: true},
		{name: "not a key", cert: ca.certPEM, key: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("x")}), wantErr: true},
		{name: "bundle: the first certificate counts", cert: append(append([]byte{}, ca.certPEM...), other.certPEM...), key: ca.keyPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseKeyPair(tt.cert, tt.key)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrBadCertificate) {
				t.Errorf("err = %v, not ErrBadCertificate", err)
			}
		})
	}
}
