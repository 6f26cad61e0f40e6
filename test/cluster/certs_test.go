package cluster

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"slices"
	"testing"
	"time"
)

func fixedClock() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

func parsePEMCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no CERTIFICATE block in %q", data)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parsing certificate: %v", err)
	}
	return cert
}

func TestIssuedCertificatesVerifyAgainstTheCA(t *testing.T) {
	ca, err := newCertAuthority("test-ca", fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)

	tests := []struct {
		name       string
		issue      func() (keyPair, error)
		usage      x509.ExtKeyUsage
		dnsName    string
		wantCN     string
		wantOrgs   []string
		wantIPs    []string
		wantDNSNms []string
	}{
		{
			name:     "client with groups",
			issue:    func() (keyPair, error) { return ca.issueClient("alice", []string{"dev", "system:masters"}) },
			usage:    x509.ExtKeyUsageClientAuth,
			wantCN:   "alice",
			wantOrgs: []string{"dev", "system:masters"},
		},
		{
			name:     "client without groups",
			issue:    func() (keyPair, error) { return ca.issueClient("system:kube-scheduler", nil) },
			usage:    x509.ExtKeyUsageClientAuth,
			wantCN:   "system:kube-scheduler",
			wantOrgs: nil,
		},
		{
			name:       "serving for IPs and names",
			issue:      func() (keyPair, error) { return ca.issueServing([]string{"127.0.0.1", "localhost", "::1"}) },
			usage:      x509.ExtKeyUsageServerAuth,
			dnsName:    "localhost",
			wantCN:     "127.0.0.1",
			wantIPs:    []string{"127.0.0.1", "::1"},
			wantDNSNms: []string{"localhost"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := tt.issue()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kp.tlsCertificate(); err != nil {
				t.Fatalf("key pair does not load: %v", err)
			}
			cert := parsePEMCert(t, kp.certPEM)
			_, err = cert.Verify(x509.VerifyOptions{
				Roots:       roots,
				DNSName:     tt.dnsName,
				CurrentTime: fixedClock(),
				KeyUsages:   []x509.ExtKeyUsage{tt.usage},
			})
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if cert.Subject.CommonName != tt.wantCN {
				t.Errorf("common name = %q, want %q", cert.Subject.CommonName, tt.wantCN)
			}
			if !slices.Equal(cert.Subject.Organization, tt.wantOrgs) {
				t.Errorf("organizations = %q, want %q", cert.Subject.Organization, tt.wantOrgs)
			}
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IPs = %q, want %q", ips, tt.wantIPs)
			}
			if !slices.Equal(cert.DNSNames, tt.wantDNSNms) {
				t.Errorf("DNS names = %q, want %q", cert.DNSNames, tt.wantDNSNms)
			}
			if cert.NotBefore.After(fixedClock()) || cert.NotAfter.Before(fixedClock().Add(24*time.Hour)) {
				t.Errorf("validity %s..%s does not cover the clock's day", cert.NotBefore, cert.NotAfter)
			}
		})
	}
}

func TestServingCertificateForOtherHostFailsVerification(t *testing.T) {
	ca, err := newCertAuthority("test-ca", fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.issueServing([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	cert := parsePEMCert(t, kp.certPEM)
	if err := cert.VerifyHostname("127.0.0.2"); err == nil {
		t.Error("certificate for 127.0.0.1 verified for 127.0.0.2")
	}
	if !cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("IP = %s, want 127.0.0.1", cert.IPAddresses[0])
	}
}

func TestServingCertificateNeedsAHost(t *testing.T) {
	ca, err := newCertAuthority("test-ca", fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.issueServing(nil); err == nil {
		t.Error("issueServing(nil) succeeded, want an error")
	}
}

func TestServiceAccountKeyHalvesMatch(t *testing.T) {
	privPEM, pubPEM, err := newServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	privBlock, _ := pem.Decode(privPEM)
	pubBlock, _ := pem.Decode(pubPEM)
	if privBlock == nil || pubBlock == nil {
		t.Fatalf("keys are not PEM: %q %q", privPEM, pubPEM)
	}
	priv, err := x509.ParseECPrivateKey(privBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(pubBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.PublicKey.Equal(pub) {
		t.Error("public key does not belong to the private key")
	}
}
